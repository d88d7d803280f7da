"""The exercise's output: its live timeline and its summary tables (`driftplan exercise`).

Apart from `engine.cli.exercise` (the command and its options) so that the command line's
start-up, which imports every command module to know its options, does not import these
(issue #13): they are imported when an exercise runs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from engine.cli.collection import started
from engine.cli.common import err_console, escape, label, new_table, out_console, t

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from engine.definition.schema import Workflow
    from engine.domain.model import Message
    from engine.exercise.runner import Observation, RunResult


def prepare() -> None:
    """Before an exercise runs (its modules imported): the garbage collector back on, since it
    runs for minutes (`engine.cli.collection`), and the background's warnings kept off the
    timeline: file-outbox fallbacks are the point of an exercise, and a sweep skipped because
    the previous one still runs is harmless."""
    started()
    logging.getLogger("channels").setLevel(logging.ERROR)
    logging.getLogger("apscheduler").setLevel(logging.ERROR)


def word(key: str, language: str) -> str:
    """One of the exercise's words (`exercise_*` in `engine.texts`)."""
    return t(f"exercise_{key}", language)


def offsetword(delta: timedelta) -> str:
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
        return f"[dim]{offsetword(at - self.start):>13} {local:%d/%m %H:%M:%S}[/]"

    def __call__(self, seen: Observation) -> None:
        text = self.describe(seen)
        if text:
            out_console.print(f"{self.stamp(seen.at)}  {text}")

    def describe(self, seen: Observation) -> str:
        if seen.kind == "step" and seen.step is not None:
            step = seen.step
            what = {
                "silence": f"[italic]{word('silent', self.language)}[/]",
                "wait": "⋯",
            }.get(step.action, f"{step.action} {step.trigger}".strip())
            note = f" — {escape(step.note)}" if step.note else ""
            values = ", ".join(f"{k}={v}" for k, v in step.values.items())
            values = f" [dim]({escape(values)})[/]" if values else ""
            return f"[bold cyan]▶ {escape(step.actor or '·')}[/] {what}{values}{note}"
        if seen.kind == "speed":
            return f"[magenta]⏩ {word('speed', self.language)} ×{seen.detail}[/]"
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
    return offsetword(delta).lstrip("+")


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
    inform = new_table(title=word("inform", language))
    for col in ("audience", "after", "channel", "first"):
        inform.add_column(word(col, language))
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
            inform.add_row(who, word("nobody", language), "", word("never", language))
        else:
            inform.add_row(
                who, _took(row.after), row.channel, f"{row.at.astimezone(zone):%Y-%m-%d %H:%M:%S}"
            )
    out_console.print(inform)

    reminders = new_table(title=word("reminders", language))
    for col in ("timer", "after", "late"):
        reminders.add_column(word(col, language))
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

    decisions = new_table(title=word("decisions", language))
    for col in ("request", "by", "decision", "took", "status"):
        decisions.add_column(word(col, language))
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
        f"{word('wall', language)}: {result.wall_seconds:.1f} s · {word('virtual', language)}: "
        f"{_took(result.ended_at - start)} · {word('speed', language)} "
        f"{' → '.join(f'×{s:g}' for s in speeds)} · "
        f"{marked}/{len(result.messages)} {word('marked', language)}"
    )
    if result.problems:
        err_console.print(f"[bold red]{word('problems', language)}:[/]")
        for problem in result.problems:
            err_console.print(f"  ✗ {escape(problem)}")
    else:
        out_console.print(f"[green]{word('ok', language)}[/]")
