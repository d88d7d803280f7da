"""The exercise command rehearses a plan on a fast virtual clock, marks everything ÖVNING,
tells nobody real, and reports how long informing and deciding took."""

from __future__ import annotations

import email
import email.policy
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from engine.exercise.runner import ExerciseRunner
from engine.exercise.scores import informing, real_seconds
from engine.exercise.script import load_script

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(sys.executable).parent / "driftplan"

SCRIPT = """\
title: Kort övning
plan: samsa_outage
directory: {directory}
speed: 3000
steps:
  - at: 0m
    as: anna.andersson
    do: declare
    set:
      started_at: now
      scope: Ingen åtkomst i Fyrbodal
      expected_resolution: okänd
      affected_subregions: [fyrbodal]
    expect: outage
  - at: 5m
    as: anna.andersson
    do: fire
    trigger: enter_total_reserve
    note: Ordföranden är tyst
  - at: 26m
    as: olof.strand
    do: approve
    approval: enter_total_reserve
    expect: total_reserve
  - at: 40m
    as: anna.andersson
    do: restore
    set: {{resolved_at: now}}
    expect: restored
"""


def test_a_short_drill_runs_marks_exercise_and_summarises(tmp_path: Path) -> None:
    """A three-stage drill completes, the silent chair's reminder fires, every message is an
    ÖVNING going to the file outbox, and the summary names the decision and its duration and the
    audiences by their titles."""
    script = tmp_path / "drill.yaml"
    script.write_text(
        SCRIPT.format(directory=ROOT / "examples" / "directory.yaml"), encoding="utf-8"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTPLAN_")}
    env["DRIFTPLAN_SMTP_HOST"] = "127.0.0.1"  # must be ignored: an exercise tells nobody real
    env["DRIFTPLAN_MAIL_FROM"] = "drift@example.se"
    env["COLUMNS"] = "200"  # rich wraps table cells at the terminal width
    data = tmp_path / "data"
    done = subprocess.run(
        [str(DRIVER), "exercise", "--script", str(script), "--data", str(data), "--keep"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "olof.strand" in out
    assert "Användare av SAMSA" in out  # audiences by the plan's title in the summary
    assert "remind:0" in out  # the chair's 15-minute reminder fired while nobody decided
    emails = list((data / "outbox").rglob("*.eml"))
    assert emails, "e-mails went to the file outbox"
    for eml in emails:
        mail = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
        assert str(mail["Subject"]).startswith("ÖVNING"), mail["Subject"]
        body = mail.get_body(preferencelist=("plain",))
        assert body is not None and "ÖVNING" in body.get_content()
    banner = (data / "public" / "banner.json").read_text(encoding="utf-8")
    assert '"active": false' in banner  # restore withdrew the notice


def test_time_to_inform_is_plan_time_and_approval_mail_goes_to_approvers(tmp_path: Path) -> None:
    """The scores count a delivery at its queued virtual instant plus the real seconds it took
    (not that delay times the speed), and the chair's decision request counts for the approvers
    of enter_total_reserve, not for the council its channel names."""
    script_file = tmp_path / "drill.yaml"
    script_file.write_text(
        SCRIPT.format(directory=ROOT / "examples" / "directory.yaml"), encoding="utf-8"
    )
    runner = ExerciseRunner(
        load_script(script_file),
        data_dir=tmp_path / "data",
        workflows=ROOT / "workflows",
        environ={},
    )
    try:
        result = runner.run()
        workflow = runner.app.plans.current("samsa_outage").workflow
    finally:
        runner.close()
    assert result.speeds[0][1] == 3000
    scores = {
        (s.audience, s.approvers_of): s
        for s in informing(
            events=result.events,
            messages=result.messages,
            approvals=result.approvals,
            workflow=workflow,
            declared_at=result.declared_at,
            speeds=result.speeds,
        )
    }
    support = scores[("support_it", "")]
    assert support.after is not None and support.after < timedelta(seconds=10)
    request = scores[("", "enter_total_reserve")]
    asked = next(a for a in result.approvals if a.trigger == "enter_total_reserve")
    assert request.at is not None and request.channel == "crisis_email"
    assert timedelta(0) <= request.at - asked.requested_at < timedelta(seconds=10)
    council = scores[("council", "")]  # told only by the notice after the decision
    decided = next(
        datetime.fromisoformat(e["at"]) for e in result.events if e["kind"] == "decision"
    )
    assert council.at is not None
    assert timedelta(0) <= council.at - decided < timedelta(seconds=10)


def test_real_seconds_follow_the_speed_log() -> None:
    """Virtual spans convert back to real seconds at the speed in force over each part."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    log = [(start, 60.0), (start + timedelta(minutes=10), 600.0)]
    assert real_seconds(start, start + timedelta(minutes=1), log) == 1.0
    assert real_seconds(start + timedelta(minutes=9), start + timedelta(minutes=20), log) == 2.0
