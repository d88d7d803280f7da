"""The exercise command rehearses a plan on a fast virtual clock, marks everything ÖVNING,
tells nobody real, and reports how long informing and deciding took."""

from __future__ import annotations

import email
import email.policy
import os
import subprocess
import sys
from pathlib import Path

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
