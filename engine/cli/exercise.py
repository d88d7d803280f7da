"""`driftplan exercise`: rehearse a plan from a script, with a live timeline and a summary.

The run itself is engine.exercise.runner; this module turns its observations into lines on the
terminal (virtual time stamps, offset from the start) and its result into the summary tables
an exercise leader wants: how long until each audience was informed, which reminders fired,
and how long each decision took.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from rich.table import Table

from engine.cli.common import DataOpt, LangOpt, err_console, out_console, run

if TYPE_CHECKING:
    from engine.settings import Settings
from engine.texts import label, t

if TYPE_CHECKING:
    # Imported when an exercise runs, not by every CLI call: they pull in APScheduler.
    from engine.definition.schema import Workflow
    from engine.domain.model import Message
    from engine.exercise.runner import Observation, RunResult

# Script paths (e.g. `directory: examples/directory.yaml`) may be relative to the repository.
REPO_ROOT = Path(__file__).resolve().parents[2]

app = typer.Typer()


def _text(key: str, language: str) -> str:
    """One of the exercise's words (`exercise_*` in `engine.texts`)."""
    return t(f"exercise_{key}", language)


def offset_text(delta: timedelta) -> str:
    """`+01:15:00`, or `+14d 07:00:00` beyond a day: how far into the exercise."""
    seconds = int(delta.total_seconds())
    days, rest = divmod(max(seconds, 0), 86400)
    clock = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    return f"+{days}d {clock}" if days else f"+{clock}"


class Timeline:
    """Prints each observation as one line: virtual offset, local virtual time, what happened."""

    def __init__(self, start: datetime, zone: ZoneInfo, language: str) -> None:
        self.start = start
        self.zone = zone
        self.language = language

    def stamp(self, at: datetime) -> str:
        local = at.astimezone(self.zone)
        return f"[dim]{offset_text(at - self.start):>13} {local:%d/%m %H:%M:%S}[/]"

    def __call__(self, seen: Observation) -> None:
        text = self.describe(seen)
        if text:
            out_console.print(f"{self.stamp(seen.at)}  {text}")

    def describe(self, seen: Observation) -> str:
        if seen.kind == "step" and seen.step is not None:
            step = seen.step
            what = {"silence": f"[italic]{_text('silent', self.language)}[/]", "wait": "⋯"}.get(
                step.action, f"{step.action} {step.trigger}".strip()
            )
            note = f" — {escape(step.note)}" if step.note else ""
            values = ", ".join(f"{k}={v}" for k, v in step.values.items())
            values = f" [dim]({escape(values)})[/]" if values else ""
            return f"[bold cyan]▶ {escape(step.actor or '·')}[/] {what}{values}{note}"
        if seen.kind == "speed":
            return f"[magenta]⏩ {_text('speed', self.language)} ×{seen.detail}[/]"
        if seen.kind == "problem":
            return f"[bold red]✗ {escape(seen.detail)}[/]"
        return self._event(seen.event or {}, seen.message)

    def _event(self, event: dict[str, Any], message: Message | None) -> str:
        kind, data, trigger = event.get("kind"), event.get("data", {}), event.get("trigger")
        if kind in ("declare", "transition", "update", "rule"):
            move = (
                f"{event['from_state'] or '∅'} → {event['to_state']}"
                if event["from_state"] != event["to_state"]
                else event["to_state"]
            )
            return f"[green]● {escape(event['actor'])}: {trigger}[/] [dim]{move}[/]"
        if kind == "approval_requested":
            return f"[yellow]? {trigger}: {data.get('approval_id')} väntar/pending[/]"
        if kind == "decision":
            return f"[yellow]✔ {escape(data.get('decided_by', ''))}: {data.get('decision')}[/]"
        if kind in ("timer", "reminder"):
            late = data.get("late_seconds", 0)
            late_text = f" [dim](late {late:g} s)[/]" if late else ""
            return f"[blue]⏰ {kind} {data.get('timer')}[/]{late_text}"
        if kind == "delivery" and message is not None:
            count = len(message.recipients)
            status = data.get("status")
            colour = "green" if status == "sent" else "red"
            return (
                f"[{colour}]✉ {message.channel} → {message.audience}[/] "
                f"[dim]{status}, {count} rcpt, {escape(str(data.get('target', '')))}[/]"
            )
        if kind in ("approval_expired", "refused", "timer_skipped"):
            return f"[red]! {kind} {trigger or ''} {escape(str(data))}[/]"
        return f"[dim]{kind} {trigger or ''}[/]"


def _marked(text: str) -> bool:
    """Whether a text carries the exercise marking (`service.messages` adds it per language)."""
    return "ÖVNING" in text or "EXERCISE" in text


def _took(delta: timedelta) -> str:
    return offset_text(delta).lstrip("+")


def print_summary(
    result: RunResult,
    language: str,
    speeds: list[float],
    zone: ZoneInfo,
    audiences: Mapping[str, str] | None = None,
    *,
    workflow: Workflow,
) -> None:
    """The exercise leader's summary: informing, reminders, decisions, ÖVNING marking.

    `audiences` maps the plan's audience ids to their titles, for the informing table."""
    from engine.exercise.scores import informing

    titles = audiences or {}
    start = result.declared_at
    inform = Table(title=_text("inform", language))
    for col in ("audience", "after", "channel", "first"):
        inform.add_column(_text(col, language))
    rows = informing(
        events=result.events,
        messages=result.messages,
        approvals=result.approvals,
        workflow=workflow,
        declared_at=result.declared_at,
        speeds=result.speeds,
        language=language,
    )
    for row in rows:
        who = row.title or titles.get(row.audience, row.audience)
        if row.at is None or row.after is None:
            inform.add_row(who, _text("nobody", language), "", _text("never", language))
        else:
            inform.add_row(
                who, _took(row.after), row.channel, f"{row.at.astimezone(zone):%Y-%m-%d %H:%M:%S}"
            )
    out_console.print(inform)

    reminders = Table(title=_text("reminders", language))
    for col in ("timer", "after", "late"):
        reminders.add_column(_text(col, language))
    for event in result.events:
        if event["kind"] in ("timer", "reminder"):
            key = event["data"]["timer"]
            name = (
                f"{event['trigger']} {key.split(':', 2)[2]}"
                if event["kind"] == "reminder"
                else key.split(":", 1)[1]
            )
            at = datetime.fromisoformat(event["at"])
            reminders.add_row(name, _took(at - start), f"{event['data']['late_seconds']:g}")
    out_console.print(reminders)

    decisions = Table(title=_text("decisions", language))
    for col in ("request", "by", "decision", "took", "status"):
        decisions.add_column(_text(col, language))
    approvals = {a.id: a for a in result.approvals}
    for event in result.events:
        if event["kind"] != "decision":
            continue
        approval = approvals[event["data"]["approval_id"]]
        took = datetime.fromisoformat(event["at"]) - approval.requested_at
        decision = event["data"]["decision"]
        decisions.add_row(
            approval.trigger,
            event["data"]["decided_by"],
            label("exercise_", decision, language),
            _took(took),
            label("exercise_", approval.status, language),
        )
    for approval in result.approvals:
        if not any(
            e["kind"] == "decision" and e["data"]["approval_id"] == approval.id
            for e in result.events
        ):
            status = label("exercise_", approval.status, language)
            decisions.add_row(approval.trigger, "—", "—", "—", status)
    out_console.print(decisions)

    marked = sum(1 for m in result.messages if _marked(m.subject) and _marked(m.body_text))
    out_console.print(
        f"{_text('wall', language)}: {result.wall_seconds:.1f} s · {_text('virtual', language)}: "
        f"{_took(result.ended_at - start)} · {_text('speed', language)} "
        f"{' → '.join(f'×{s:g}' for s in speeds)} · "
        f"{marked}/{len(result.messages)} {_text('marked', language)}"
    )
    if result.problems:
        err_console.print(f"[bold red]{_text('problems', language)}:[/]")
        for problem in result.problems:
            err_console.print(f"  ✗ {escape(problem)}")
    else:
        out_console.print(f"[green]{_text('ok', language)}[/]")


def _plan_location(plan: str | None, settings: Settings) -> tuple[Path, str | None]:
    """(workflows folder, plan name) from a plan file, a plan name, or the installed plans."""
    if plan and Path(plan).is_file():
        from engine.definition.loader import load_definition

        return Path(plan).resolve().parent, load_definition(plan).name
    return settings.workflows.resolve(), plan


@app.command("exercise")
def exercise(
    script: Annotated[
        Path,
        typer.Option(
            "--script",
            help="Exercise script (YAML), e.g. examples/exercise-total-outage.yaml.",
        ),
    ],
    plan: Annotated[
        str | None, typer.Argument(help="Plan file or name (default: the installed plan)")
    ] = None,
    speed: Annotated[
        float | None, typer.Option(help="Virtual seconds per real second (scales the script).")
    ] = None,
    data: DataOpt = None,
    keep: Annotated[bool, typer.Option("--keep", help="Keep the exercise's data folder.")] = False,
    allow_real: Annotated[
        bool,
        typer.Option(
            "--allow-real-recipients",
            help="Use the configured channels instead of the file outbox.",
        ),
    ] = False,
    lang: LangOpt = None,
) -> None:
    """Rehearse a plan: run a script on virtual time; every message is marked ÖVNING."""
    from engine.definition.schema import localized
    from engine.settings import Settings

    if speed is not None and speed <= 0:
        raise typer.BadParameter("must be positive", param_hint="--speed")

    def body() -> int:
        from engine.exercise.runner import ExerciseRunner
        from engine.exercise.script import load_script

        settings = Settings.load(lang=lang)
        # File-outbox fallbacks are the point of an exercise, and a sweep skipped because the
        # previous one still runs is harmless: neither belongs between the timeline's lines.
        logging.getLogger("channels").setLevel(logging.ERROR)
        logging.getLogger("apscheduler").setLevel(logging.ERROR)
        language = settings.lang
        parsed = load_script(script, repo_root=REPO_ROOT)
        workflows, plan_name = _plan_location(plan or parsed.plan, settings)
        if plan_name and plan_name != parsed.plan:
            parsed = type(parsed)(**{**parsed.__dict__, "plan": plan_name})
        folder = data or Path(tempfile.mkdtemp(prefix="driftplan-exercise-"))
        remove = data is None and not keep
        try:
            timeline: Timeline | None = None

            def observe(seen: Observation) -> None:
                nonlocal timeline
                if timeline is None:
                    zone = ZoneInfo(
                        runner.app.plans.current(parsed.plan).workflow.document.timezone
                    )
                    timeline = Timeline(runner.start, zone, language)
                timeline(seen)

            runner = ExerciseRunner(
                parsed,
                data_dir=folder,
                workflows=workflows,
                speed=speed,
                allow_real_recipients=allow_real,
                observer=observe,
            )
            out_console.rule(f"[bold]{_text('title', language)}: {escape(parsed.title)}[/]")
            out_console.print(f"[dim]{_text('data', language)}: {folder}[/]")
            try:
                result = runner.run()
            finally:
                runner.close()
            out_console.rule(characters="─")
            workflow = runner.app.plans.current(parsed.plan).workflow
            zone = ZoneInfo(workflow.document.timezone)
            audiences = {
                name: localized(audience.title, language) or name
                for name, audience in workflow.audiences.items()
            }
            print_summary(result, language, runner.speeds, zone, audiences, workflow=workflow)
            return 1 if result.problems else 0
        finally:
            if remove:
                shutil.rmtree(folder, ignore_errors=True)
            else:
                out_console.print(f"{_text('kept', language)} {folder}")

    raise typer.Exit(run(body))
