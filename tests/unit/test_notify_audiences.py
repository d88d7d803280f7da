"""A notify may name several audiences: one copy per address, a label saying whom each message
was for, and a checker that refuses audiences the plan does not define."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from engine.definition.definition import Definition
from engine.definition.loader import parse_definition
from engine.definition.schema import Notify
from engine.domain.model import Incident, Message, StoredRecipient
from engine.domain.outcome import NotifyIntent
from engine.errors import DefinitionError
from engine.service.addressing import Addressing, PersonView, describe_audience
from engine.service.effects import build_messages
from tests.plan_fixtures import VALID_PLAN, broken, line_of, parse

PLAN = Path(__file__).resolve().parents[2] / "workflows" / "samsa_outage.yaml"
NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
ALL_FOUR = "working_groups,involved_parties,suppliers,support_it"
CLOSE = """\
      - notify:
          template: lessons_learned
          channels: [staff_email]
          audience: [working_groups, involved_parties, suppliers, support_it]
"""
# The same lessons learned as one notify per list: the form the plan had before.
ONE_PER_LIST = "".join(
    f"      - notify: {{template: lessons_learned, channels: [staff_email], audience: {name}}}\n"
    for name in ALL_FOUR.split(",")
)

SUPPLIER = PersonView(
    "cerner.support", "Maria Svensson", "support@cerner.example.org", ("supplier_support",), None
)
OPERATOR = PersonView(
    "anna.andersson", "Anna Andersson", "anna@gits.example.se", ("operator",), None
)
LISTS = {
    "working_groups": [
        StoredRecipient("grupp@kommun1.example.se", "Arbetsgrupp"),
        StoredRecipient("IT@Kommun1.Example.se", "IT Kommun 1 (arbetsgrupp)"),
    ],
    "involved_parties": [StoredRecipient("support@cerner.example.org", "Cerner", "cerner.support")],
    "suppliers": [StoredRecipient("Support@Cerner.example.ORG", "Cerner Support")],
    "support_it": [
        StoredRecipient("it@kommun1.example.se", "IT Kommun 1"),
        StoredRecipient("it@kommun2.example.se", "IT Kommun 2"),
    ],
}
EVERYONE = {
    "grupp@kommun1.example.se",
    "it@kommun1.example.se",
    "it@kommun2.example.se",
    "support@cerner.example.org",
    "anna@gits.example.se",  # an operator: involved parties by role
}


def _files() -> dict[str, str]:
    return {
        f"templates/{lang}/{path.name}": path.read_text("utf-8")
        for lang in ("sv", "en")
        for path in (PLAN.parent / "templates" / lang).glob("*.txt")
    }


def samsa(*edits: tuple[str, str], language: str = "sv") -> Definition:
    text = PLAN.read_text("utf-8").replace("  language: sv\n", f"  language: {language}\n")
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    return parse_definition(text.encode("utf-8"), str(PLAN), files=_files(), check=True)


def _incident(state: str) -> Incident:
    return Incident(
        id="INC-1",
        workflow="samsa_outage",
        workflow_version="1",
        definition_sha256="x",
        state=state,
        state_epoch=1,
        row_version=1,
        data={
            "started_at": "2025-03-04T08:15:00+00:00",
            "scope": "Ingen åtkomst till SAMSA",
            "lessons_learned": "Reservrutinen ska övas varje kvartal.",
        },
        flags=[],
        fired_rules=[],
        created_at=NOW,
        updated_at=NOW,
        created_by="anna.andersson",
    )


def _addressing() -> Addressing:
    return Addressing([SUPPLIER, OPERATOR], LISTS, {}, lambda roles: roles)


def _close(plan: Definition, **extra: Any) -> list[Message]:
    close = next(t for t in plan.workflow.transitions if t.trigger == "close")
    intents = [
        NotifyIntent(a.notify, f"transitions.close.actions[{i}]")
        for i, a in enumerate(close.actions)
    ]
    return build_messages(
        plan,
        _incident("closed"),
        intents,
        addressing=_addressing(),
        now=NOW,
        cause="close",
        **extra,
    )


def _copies(messages: list[Message]) -> list[str]:
    return sorted(r.address.lower() for m in messages for r in m.recipients)


def test_lessons_learned_reach_all_four_audiences_once_each() -> None:
    """SAMSA's close sends one lessons-learned message on the staff e-mail to everyone on the
    four lists, each address once however it is spelt, labelled with the four audiences."""
    [message] = _close(samsa())
    assert message.audience == ALL_FOUR
    assert _copies([message]) == sorted(EVERYONE)
    assert "it@kommun2.example.se" in _copies([message])  # the support/IT list is told too


def test_one_notify_per_list_in_one_command_also_sends_one_copy() -> None:
    """Notifies of one command sending the same template on the same channel do not mail an
    address twice: a later notify keeps only those not yet told, and one with nobody new is
    left out."""
    messages = _close(samsa((CLOSE, ONE_PER_LIST)))
    assert _copies(messages) == sorted(EVERYONE)
    # working_groups, involved_parties and support_it each bring someone new; suppliers do not.
    assert [m.audience for m in messages] == ["working_groups", "involved_parties", "support_it"]
    assert _copies([messages[2]]) == ["it@kommun2.example.se"]


def test_different_templates_on_one_channel_are_not_merged() -> None:
    """The dedupe is per template: a second, different message to the same people still goes."""
    second = "{template: feedback_request, channels: [staff_email], audience: suppliers}"
    edited = f"{CLOSE}      - notify: {second}\n"
    plan = samsa((CLOSE, edited))
    lessons, feedback = _close(plan)
    assert _copies([feedback]) == ["support@cerner.example.org"]
    assert "support@cerner.example.org" in _copies([lessons])


def test_one_audience_name_still_reads_as_before() -> None:
    """`audience: operators` (one name) is the one-audience list it always meant."""
    notify = Notify.model_validate(
        {"template": "approval_expired", "channels": ["staff_email"], "audience": "operators"}
    )
    assert notify.audience == ["operators"]


def test_messages_to_people_are_labelled_with_whom_they_were_for() -> None:
    """Approvers, roles and the requester are recorded as such, not as the channel's audience."""
    plan = samsa()
    gate = next(t for t in plan.workflow.transitions if t.trigger == "enter_total_reserve").gate
    assert gate is not None and gate.notify is not None and gate.on_expire is not None
    addressing = _addressing()
    approval = {"trigger": "enter_total_reserve", "requested_by_id": "cerner.support"}

    def label(notify: Notify, context: dict[str, Any] | None) -> str:
        [message] = build_messages(
            plan,
            _incident("outage"),
            [NotifyIntent(notify, "test")],
            addressing=addressing,
            now=NOW,
            cause="test",
            approval=context,
        )
        return message.audience

    assert label(gate.notify, approval) == "approvers"  # on crisis_email, default "council"
    assert label(gate.on_expire.notify, approval) == "operators,requester"
    automatic = {**approval, "requested_by_id": "system"}  # a rule has no mailbox
    assert label(gate.on_expire.notify, automatic) == "operators"
    roles = Notify(template="lessons_learned", channels=["staff_email"], roles=["operator"])
    assert label(roles, None) == "role:operator"


@pytest.mark.parametrize(
    ("label", "language", "words"),
    [
        (ALL_FOUR, "sv", "Arbetsgrupper, Inblandade parter, Leverantörer och IT-avdelningar"),
        ("operators,requester", "sv", "GITS Operativ förvaltning och Den som begärde beslutet"),
        ("approvers", "en", "Approvers"),
        ("role:operator", "en", "The role "),
    ],
)
def test_labels_read_in_peoples_words(label: str, language: str, words: str) -> None:
    """A stored label is shown with the plan's titles and Swedish or English words."""
    assert describe_audience(label, samsa().workflow, language).startswith(words)


def _problems(text: str) -> list[Any]:
    with pytest.raises(DefinitionError) as raised:
        parse(text)
    return raised.value.problems


@pytest.mark.parametrize(
    ("new", "message", "at"),
    [
        (
            "audience: [users, councl], channels",
            "unknown audience 'councl' in states.reserve.on_enter[0].notify.audience. "
            "Known audiences: council, users",
            "audience: [users, councl]",
        ),
        (
            "audience: [council, users, council], channels",
            "audience council named twice in states.reserve.on_enter[0].notify.audience",
            "audience: [council, users, council]",
        ),
    ],
)
def test_the_checker_refuses_a_bad_audience_list(new: str, message: str, at: str) -> None:
    """Every audience of a list must exist, once; the error points at the list's line."""
    text = broken("audience: council, channels", new, VALID_PLAN)
    [problem] = [p for p in _problems(text) if message in p.message]
    assert problem.line == line_of(text, at)


def test_an_audience_may_not_take_a_reserved_label() -> None:
    """An audience called "approvers" would read like the approvers' label: refused, located."""
    text = broken("  council: {title: Rådet", "  approvers: {title: Rådet", VALID_PLAN)
    text = text.replace("audience: council,", "audience: approvers,")
    [problem] = [p for p in _problems(text) if "reserved" in p.message]
    assert "audience name 'approvers' is reserved" in problem.message
    assert problem.line == line_of(text, "  approvers: {title: Rådet")


def test_a_valid_list_of_audiences_passes() -> None:
    """Naming both of the fixture plan's audiences is a valid plan."""
    parse(broken("audience: council, channels", "audience: [council, users], channels", VALID_PLAN))
