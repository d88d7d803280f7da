"""Right facts in every message: who decided, what each stage says, how serious it is, and
lists, durations and times worded in Swedish and English."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from channels.banner import SEVERITIES, banner_document, banner_fragment
from engine.definition.definition import Definition
from engine.definition.loader import parse_definition
from engine.definition.sandbox import compile_template, render_bounded
from engine.definition.schema import Notify, StateDef
from engine.definition.severity import SEVERITIES as PLAN_SEVERITIES
from engine.definition.wording import FieldList, and_list, clock_time, spell_duration
from engine.domain.model import Approval, ApprovalDecision, ApprovalStatus, Incident, Person
from engine.domain.outcome import NotifyIntent
from engine.service.approval_view import decision_context
from engine.service.effects import build_messages, meeting_start, severity_of
from engine.service.messages import build_context, render_message
from tests.channel_helpers import make_message

PLAN = Path(__file__).resolve().parents[2] / "workflows" / "samsa_outage.yaml"
NOW = datetime(2022, 6, 28, 13, 0, tzinfo=UTC)
DATA: dict[str, Any] = {
    "started_at": "2022-06-28T12:30:00+00:00",
    "scope": "Ingen åtkomst till SAMSA",
    "affected_subregions": ["fyrbodal", "skaraborg"],
    "expected_resolution": "unknown",
    "reserve_subregions": ["fyrbodal", "skaraborg"],
}
PEOPLE = {
    "margareta.lund": Person("margareta.lund", "Margareta Lund", roles=["council_chair"]),
    "olof.strand": Person("olof.strand", "Olof Strand", roles=["council_vice_chair"]),
    "anna.andersson": Person("anna.andersson", "Anna Andersson", roles=["operator"]),
}
CHAIR = "Ordförande, Ledningsråd Samordnad hälsa, vård och omsorg"
VICE_CHAIR = "Vice ordförande, Ledningsråd Samordnad hälsa, vård och omsorg"


def _files() -> dict[str, str]:
    return {
        f"templates/{lang}/{path.name}": path.read_text("utf-8")
        for lang in ("sv", "en")
        for path in (PLAN.parent / "templates" / lang).glob("*.txt")
    }


def samsa(*edits: tuple[str, str], language: str = "sv") -> Definition:
    """The SAMSA plan with text edits applied to the YAML (and its language switched)."""
    text = PLAN.read_text("utf-8").replace("  language: sv\n", f"  language: {language}\n")
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    return parse_definition(text.encode("utf-8"), str(PLAN), files=_files(), check=True)


@pytest.fixture(scope="module")
def plan() -> Definition:
    return samsa()


def render(definition: Definition, template: str, state: str, **context: Any) -> str:
    built = build_context(
        definition,
        incident_id="INC-1",
        state=state,
        data={**DATA, **context.pop("data", {})},
        language=definition.language,
        now=NOW,
        **context,
    )
    rendered = render_message(definition, template, language=definition.language, context=built)
    return f"{rendered.subject}\n{rendered.body_text}"


def approval(decided_by: str, *, comment: str = "", recorded_by: str | None = None) -> Approval:
    entry = ApprovalDecision(
        at="2022-06-28T12:05:00+00:00",
        decision=ApprovalStatus.APPROVED,
        decided_by=decided_by,
        comment=comment,
        recorded_by=recorded_by,
        reference="samtal 14.05" if recorded_by else None,
        slots=(0,),
    )
    return Approval(
        id="A-1",
        incident_id="INC-1",
        trigger="enter_total_reserve",
        requested_by="anna.andersson",
        requested_at=NOW - timedelta(minutes=30),
        payload={},
        slots=[],
        status=ApprovalStatus.APPROVED,
        expires_at=None,
        state_epoch=1,
        decisions=[entry],
    )


# ---------------------------------------------------------------- who decided


def test_total_reserve_by_the_vice_chair_names_the_vice_chair(plan: Definition) -> None:
    """The notice names the role the vice chair decided in, never the chair's."""
    decision = decision_context(
        plan,
        PEOPLE,
        trigger="enter_total_reserve",
        decider_id="olof.strand",
        at=NOW,
        approval=approval("olof.strand"),
    )
    assert decision is not None
    assert (decision["role"], decision["by"]) == (VICE_CHAIR, "Olof Strand")
    assert decision["at"] == "28 juni 2022 kl. 14.05"
    text = render(plan, "total_reserve_notice", "total_reserve", decision=decision)
    assert f"{VICE_CHAIR} har beslutat om övergång till reservrutin" in text
    assert f"\n{CHAIR}" not in text and not text.split("\n")[1].startswith("Ordförande")


def test_total_reserve_by_the_chair_names_the_chair(plan: Definition) -> None:
    decision = decision_context(
        plan, PEOPLE, trigger="enter_total_reserve", decider_id="margareta.lund", at=NOW
    )
    assert decision is not None and decision["role"] == CHAIR
    assert decision["at"] == "28 juni 2022 kl. 15.00"  # no request: decided when fired
    text = render(plan, "total_reserve_notice", "total_reserve", decision=decision)
    assert f"{CHAIR} har beslutat" in text and "Vice ordförande" not in text


def test_a_deputy_decides_in_their_own_role() -> None:
    """A gate open to the chair only: the vice chair fills it as deputy, and is named so."""
    plan = samsa(("any_of: [council_chair, council_vice_chair]", "any_of: [council_chair]"))
    decision = decision_context(
        plan, PEOPLE, trigger="enter_total_reserve", decider_id="olof.strand", at=NOW
    )
    assert decision is not None and decision["role"] == VICE_CHAIR


def test_a_phone_decision_names_the_decider_and_who_recorded_it(plan: Definition) -> None:
    decision = decision_context(
        plan,
        PEOPLE,
        trigger="enter_total_reserve",
        decider_id="olof.strand",
        at=NOW,
        approval=approval("olof.strand", comment="Beslutat", recorded_by="anna.andersson"),
    )
    assert decision is not None
    assert decision["by"] == "Olof Strand" and decision["recorded_by"] == "Anna Andersson"
    assert (decision["comment"], decision["reference"]) == ("Beslutat", "samtal 14.05")


def test_no_decision_for_an_ungated_trigger_and_no_false_claim(plan: Definition) -> None:
    """Without a decision record, the notice claims no particular decider."""
    assert (
        decision_context(plan, PEOPLE, trigger="post_update", decider_id="anna.andersson", at=NOW)
        is None
    )
    text = render(plan, "total_reserve_notice", "total_reserve")
    assert "Ledningsrådet har beslutat om övergång till reservrutin" in text
    assert "Ordförande" not in text


def test_english_notice_names_the_vice_chair() -> None:
    plan = samsa(language="en")
    decision = decision_context(
        plan, PEOPLE, trigger="enter_total_reserve", decider_id="olof.strand", at=NOW
    )
    assert decision is not None
    text = render(plan, "total_reserve_notice", "total_reserve", decision=decision)
    assert "Vice chair, steering council for coordinated health and care has decided" in text
    assert "28 June 2022 at 15:00" in text


# ---------------------------------------------------------------- stages do not mix


def test_banner_text_per_stage(plan: Definition) -> None:
    """Total reserve says all organisations and no sub-region; partial names its sub-regions."""
    total = render(
        plan, "reserve_banner", "total_reserve", data={"reserve_subregions": ["fyrbodal"]}
    )
    assert "Reservrutin i alla verksamheter." in total and "(Fyrbodal)" not in total
    assert "Fyrbodal" not in total.split("\n")[0]
    partial = render(plan, "reserve_banner", "partial_reserve")
    assert partial.startswith("SAMSA: reservrutin i Fyrbodal och Skaraborg\n")
    assert "Reservrutin i Fyrbodal och Skaraborg." in partial


def test_a_status_update_keeps_the_stage_facts(plan: Definition) -> None:
    partial = render(plan, "status_update", "partial_reserve")
    assert "Reservrutin gäller i Fyrbodal och Skaraborg." in partial
    assert partial.startswith("SAMSA: reservrutin i Fyrbodal och Skaraborg – lägesuppdatering")
    total = render(plan, "status_update", "total_reserve")
    assert (
        "Reservrutin gäller i alla verksamheter." in total
        and "Fyrbodal och Skaraborg." not in total
    )
    outage = render(plan, "status_update", "outage")
    assert "Reservrutin" not in outage and outage.startswith("Lägesuppdatering: driftstörning")


def test_crisis_mail_after_the_decision_does_not_ask_for_it(plan: Definition) -> None:
    decision = decision_context(
        plan, PEOPLE, trigger="enter_total_reserve", decider_id="olof.strand", at=NOW
    )
    after = render(plan, "crisis_alert", "total_reserve", decision=decision)
    assert "fattar ordförande eller vice ordförande" not in after
    assert f"gäller efter beslut av {VICE_CHAIR} (Olof Strand" in after
    before = render(plan, "crisis_alert", "outage")
    assert "Vid behov fattar ordförande eller vice ordförande beslut" in before


# ---------------------------------------------------------------- severity


def test_severity_follows_the_state_and_a_notify_may_override(plan: Definition) -> None:
    """A notify takes its state's severity (the SAMSA plan sets one per stage) unless it sets
    its own; a plan without any leaves it to the channel's default."""
    notify = Notify(template="status_update", channels=["login_page"])
    assert severity_of(plan, notify, "outage") == "warning"
    assert severity_of(plan, notify, "partial_reserve") == "critical"
    assert severity_of(plan, notify, "restored") == "resolved"
    own = Notify(template="status_update", channels=["login_page"], severity="info")
    assert severity_of(plan, own, "partial_reserve") == "info"
    unset = samsa(*[(f"    severity: {s}", "    # no severity") for s in SEVERITY_LINES])
    assert severity_of(unset, notify, "outage") == ""  # the channel's default


SEVERITY_LINES = [
    "warning          # disturbance",
    "critical         # reserve routine",
    "resolved         # all clear",
    "info             # information",
]


def test_severity_names_are_checked_and_shared_with_the_banner() -> None:
    assert SEVERITIES == PLAN_SEVERITIES == ("info", "warning", "critical", "resolved")
    with pytest.raises(ValidationError):
        Notify.model_validate({"template": "x", "channels": ["y"], "severity": "urgent"})
    with pytest.raises(ValidationError):
        StateDef.model_validate({"title": "x", "severity": "red"})
    assert StateDef.model_validate({"title": "x", "severity": "resolved"}).severity == "resolved"


@pytest.mark.parametrize(
    ("severity", "role"),
    [("info", "status"), ("warning", "alert"), ("critical", "alert"), ("resolved", "status")],
)
def test_banner_shows_each_severity(severity: str, role: str) -> None:
    document = banner_document(make_message(extra={"severity": severity}))
    assert document["severity"] == severity
    assert f'driftplan-banner-{severity}" role="{role}"' in banner_fragment(document)


# ---------------------------------------------------------------- wording


@pytest.mark.parametrize(
    ("items", "sv", "en"),
    [
        ([], "", ""),
        (["Fyrbodal"], "Fyrbodal", "Fyrbodal"),
        (
            ["Fyrbodal", "Göteborgsområdet"],
            "Fyrbodal och Göteborgsområdet",
            "Fyrbodal and Göteborgsområdet",
        ),
        (["A", "B", "C"], "A, B och C", "A, B and C"),
    ],
)
def test_and_list(items: list[str], sv: str, en: str) -> None:
    assert and_list(items, "sv") == sv and and_list(items, "en") == en
    assert str(FieldList(items, "sv")) == sv


@pytest.mark.parametrize(
    ("span", "sv", "en"),
    [
        (timedelta(minutes=1), "1 minut", "1 minute"),
        (timedelta(minutes=30), "30 minuter", "30 minutes"),
        (timedelta(hours=1), "1 timme", "1 hour"),
        (timedelta(hours=2), "2 timmar", "2 hours"),
        (timedelta(minutes=90), "1 timme och 30 minuter", "1 hour and 30 minutes"),
        (timedelta(days=1), "1 dag", "1 day"),
        (timedelta(days=7), "7 dagar", "7 days"),
        (
            timedelta(days=1, hours=2, minutes=5),
            "1 dag, 2 timmar och 5 minuter",
            "1 day, 2 hours and 5 minutes",
        ),
        ("90s", "1 minut och 30 sekunder", "1 minute and 30 seconds"),
        ("PT1H30M", "1 timme och 30 minuter", "1 hour and 30 minutes"),
    ],
)
def test_spell_duration(span: Any, sv: str, en: str) -> None:
    assert spell_duration(span, "sv") == sv and spell_duration(span, "en") == en


def test_clock_time_in_the_plan_timezone_without_seconds() -> None:
    moment = datetime(2022, 6, 28, 12, 47, 26, tzinfo=UTC)
    assert clock_time(moment, "sv", "Europe/Stockholm") == "28 juni 2022 kl. 14.47"
    assert clock_time(moment.isoformat(), "en", "Europe/Stockholm") == "28 June 2022 at 14:47"
    assert clock_time(moment, "sv", "Europe/Stockholm", "clock") == "14.47"
    assert clock_time(moment, "en", "Europe/Stockholm", "date") == "28 June 2022"
    assert clock_time("okänd", "sv", "Europe/Stockholm") == "okänd"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("sv", "Fyrbodal, Skaraborg eller Göteborgsområdet | 1 timme och 30 minuter | 14.47"),
        ("en", "Fyrbodal, Skaraborg or Göteborgsområdet | 1 hour and 30 minutes | 14:47"),
    ],
)
def test_filters_in_the_sandbox(language: str, expected: str) -> None:
    template = compile_template(
        '{{ regions | and_list("or") }} | {{ every | duration }} | {{ at | time("clock") }}'
    )
    values = {
        "language": language,
        "document": {"timezone": "Europe/Stockholm"},
        "regions": FieldList(["Fyrbodal", "Skaraborg", "Göteborgsområdet"], language),
        "every": timedelta(minutes=90),
        "at": "2022-06-28T12:47:26+00:00",
    }
    assert render_bounded(template, values) == expected


# ---------------------------------------------------------------- timers and meetings


def _incident(state: str) -> Incident:
    return Incident(
        id="INC-1",
        workflow="samsa_outage",
        workflow_version="1",
        definition_sha256="x",
        state=state,
        state_epoch=1,
        row_version=1,
        data=dict(DATA),
        flags=[],
        fired_rules=[],
        created_at=NOW,
        updated_at=NOW,
        created_by="anna.andersson",
    )


class _NoOne:
    """Addressing that reaches nobody: these tests read the rendered text only."""

    def for_audience(self, *_: Any) -> list[Any]:
        return []

    def with_roles(self, *_: Any) -> list[Any]:
        return []

    def for_slots(self, *_: Any) -> list[Any]:
        return []


@pytest.mark.parametrize(
    ("every", "sv"), [("60m", "1 timme"), ("90m", "1 timme och 30 minuter"), ("30m", "30 minuter")]
)
def test_update_due_says_the_plans_interval(every: str, sv: str) -> None:
    plan = samsa(("        every: 60m\n", f"        every: {every}\n"))
    timer = plan.workflow.states["outage"].timers[0]
    assert timer.notify is not None
    [message, *_] = build_messages(
        plan,
        _incident("outage"),
        [NotifyIntent(timer.notify, f"timer:{timer.id}")],
        addressing=_NoOne(),  # type: ignore[arg-type]
        now=NOW,
        cause="timer",
    )
    assert f"Det har gått {sv} sedan senaste lägesuppdateringen" in message.body_text


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2022, 6, 28, 12, 47, 26, tzinfo=UTC), datetime(2022, 6, 28, 13, 0, tzinfo=UTC)),
        (datetime(2022, 6, 28, 13, 0, tzinfo=UTC), datetime(2022, 6, 28, 13, 0, tzinfo=UTC)),
        (datetime(2022, 6, 28, 13, 0, 1, tzinfo=UTC), datetime(2022, 6, 28, 13, 15, tzinfo=UTC)),
        (datetime(2022, 6, 28, 23, 50, tzinfo=UTC), datetime(2022, 6, 29, 0, 0, tzinfo=UTC)),
    ],
)
def test_meeting_starts_on_a_quarter_hour(moment: datetime, expected: datetime) -> None:
    assert meeting_start(moment) == expected


def test_evaluation_meeting_invitation_starts_on_a_quarter_hour(plan: Definition) -> None:
    timer = next(t for t in plan.workflow.states["follow_up"].timers if t.id == "evaluation_invite")
    assert timer.notify is not None
    now = datetime(2022, 6, 28, 10, 47, 26, tzinfo=UTC)
    [message] = build_messages(
        plan,
        _incident("follow_up"),
        [NotifyIntent(timer.notify, f"timer:{timer.id}")],
        addressing=_NoOne(),  # type: ignore[arg-type]
        now=now,
        cause="timer",
    )
    assert message.meeting is not None
    assert message.meeting["starts_at"] == "2022-06-30T11:00:00+00:00"  # 2 days on, rounded up
