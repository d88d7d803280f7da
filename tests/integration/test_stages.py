"""The SAMSA plan's stages as the seed means them, through the real application on SQLite:
per-sub-region decisions, told expiry, withdrawal, the council alert after total reserve, and
notes and reports in the timeline."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import timedelta
from pathlib import Path

import pytest

from engine.bootstrap import App
from engine.domain.model import ApprovalStatus, Message
from engine.errors import MissingField, NotAuthorized
from tests.app_helpers import DECLARE, OPERATOR, FakeClock, make_app, make_dispatcher

NOTICE_CHANNELS = ["support_email", "website_news", "newsletter", "it_nytt"]


@pytest.fixture
def app(tmp_path: Path) -> App:
    """The application on a fresh SQLite data folder with the example directory."""
    return make_app(tmp_path, clock=FakeClock())


def declare(app: App) -> str:
    return app.service.declare(actor_id=OPERATOR, values=DECLARE).incident_id


def messages(app: App, incident_id: str, cause: str) -> list[Message]:
    return [m for m in app.service.messages(incident_id) if m.cause.startswith(cause)]


def kinds(app: App, incident_id: str) -> list[str]:
    return [e["kind"] for e in app.service.log(incident_id)]


def ask_partial(app: App, incident_id: str) -> str:
    pending = app.service.fire(
        incident_id=incident_id,
        trigger="enter_partial_reserve",
        actor_id=OPERATOR,
        values={"reserve_subregions": "fyrbodal,skaraborg"},
    )
    assert pending.approval_id is not None
    return pending.approval_id


def test_fyrbodal_decides_first_and_skaraborg_joins_later(app: App) -> None:
    """Fyrbodal's approval puts Fyrbodal alone on the partial reserve with its notices;
    Skaraborg's later approval adds Skaraborg and announces it, all under one request."""
    incident_id = declare(app)
    approval_id = ask_partial(app, incident_id)

    first = app.service.decide(approval_id=approval_id, actor_id="johan.berg", approve=True)

    assert (first.result, first.state) == ("approved", "partial_reserve")
    assert app.service.show(incident_id)["reserve_subregions"] == ["fyrbodal"]
    entered = messages(app, incident_id, "transition:enter_partial_reserve")
    assert [m.channel for m in entered] == ["login_page", *NOTICE_CHANNELS]
    assert all("Fyrbodal" in m.body_text and "Skaraborg" not in m.body_text for m in entered)
    [pending] = app.service.show(incident_id)["pending_approvals"]
    assert pending["id"] == approval_id  # Skaraborg's part still waits, in the new state
    assert any(k.startswith(f"approval:{approval_id}:") for k in open_timer_keys(app))

    second = app.service.decide(approval_id=approval_id, actor_id="eva.holm", approve=True)

    assert (second.result, second.state) == ("approved", "partial_reserve")
    assert app.service.show(incident_id)["reserve_subregions"] == ["fyrbodal", "skaraborg"]
    joined = messages(app, incident_id, "update:add_reserve_subregion")
    assert [m.channel for m in joined] == ["login_page", *NOTICE_CHANNELS]
    assert all("Skaraborg" in m.body_text for m in joined if m.channel != "login_page")
    assert app.service.show(incident_id)["pending_approvals"] == []
    assert not any(k.startswith(f"approval:{approval_id}:") for k in open_timer_keys(app))
    log = app.service.log(incident_id)
    assert [e["kind"] for e in log] == [
        "declare",
        "approval_requested",
        "decision",
        "transition",
        "decision",
        "update",
    ]
    parts = [e["data"] for e in log if e["kind"] in ("transition", "update")]
    assert [(d["approval_id"], d["part"]) for d in parts] == [
        (approval_id, {"reserve_subregions": ["fyrbodal"]}),
        (approval_id, {"reserve_subregions": ["skaraborg"]}),
    ]


def test_skaraborg_rejecting_leaves_fyrbodals_decision_standing(app: App) -> None:
    """A rejection by Skaraborg closes only Skaraborg's part: Fyrbodal stays on the reserve."""
    incident_id = declare(app)
    approval_id = ask_partial(app, incident_id)
    app.service.decide(approval_id=approval_id, actor_id="johan.berg", approve=True)

    rejected = app.service.decide(approval_id=approval_id, actor_id="eva.holm", approve=False)

    assert (rejected.result, rejected.state) == ("rejected", "partial_reserve")
    shown = app.service.show(incident_id)
    assert (shown["reserve_subregions"], shown["pending_approvals"]) == (["fyrbodal"], [])
    assert not messages(app, incident_id, "update:add_reserve_subregion")


def test_skaraborg_rejecting_first_keeps_fyrbodals_part_open(app: App) -> None:
    """A rejection before any approval changes nothing and leaves Fyrbodal's part to decide."""
    incident_id = declare(app)
    approval_id = ask_partial(app, incident_id)

    rejected = app.service.decide(approval_id=approval_id, actor_id="eva.holm", approve=False)

    assert (rejected.result, rejected.state) == ("rejected", "outage")
    [pending] = app.service.show(incident_id)["pending_approvals"]
    assert pending["id"] == approval_id
    approved = app.service.decide(approval_id=approval_id, actor_id="johan.berg", approve=True)
    assert (approved.result, approved.state) == ("approved", "partial_reserve")
    assert app.service.show(incident_id)["reserve_subregions"] == ["fyrbodal"]


def test_a_decider_asking_for_two_puts_their_own_subregion_on_reserve_at_once(app: App) -> None:
    """Fyrbodal's decider asking for Fyrbodal and Skaraborg enters Fyrbodal now; Skaraborg's
    decider is asked, in the new state, and joins when they approve."""
    incident_id = declare(app)
    pending = app.service.fire(
        incident_id=incident_id,
        trigger="enter_partial_reserve",
        actor_id="johan.berg",
        values={"reserve_subregions": "fyrbodal,skaraborg"},
    )
    assert (pending.result, pending.state) == ("pending_approval", "partial_reserve")
    assert app.service.show(incident_id)["reserve_subregions"] == ["fyrbodal"]
    [request] = messages(app, incident_id, f"approval_requested:{pending.approval_id}")
    assert [r.person_id for r in request.recipients] == ["eva.holm"]
    assert pending.approval_id is not None
    app.service.decide(approval_id=pending.approval_id, actor_id="eva.holm", approve=True)
    assert app.service.show(incident_id)["reserve_subregions"] == ["fyrbodal", "skaraborg"]


def test_an_expired_request_is_told_to_requester_and_operators_with_phone_numbers(
    tmp_path: Path,
) -> None:
    """When the chair's decision request expires, the operators and the requester (a supplier
    here) get one notice naming the approvers with their phone numbers."""
    clock = FakeClock()
    app = make_app(tmp_path, clock=clock)
    incident_id = declare(app)
    pending = app.service.fire(
        incident_id=incident_id, trigger="enter_total_reserve", actor_id=OPERATOR
    )
    assert pending.approval_id is not None
    app.service.fire(  # the supplier asks too: a second request, whose requester is no operator
        incident_id=incident_id, trigger="post_update", actor_id="cerner.support"
    )

    clock.advance(timedelta(hours=4, seconds=1))
    app.timers.fire_due()

    [notice] = messages(app, incident_id, f"approval_expired:{pending.approval_id}")
    assert notice.channel == "staff_email"
    people = sorted(r.person_id or "" for r in notice.recipients)
    assert people == ["anna.andersson", "erik.johansson"]
    assert "+46 70 000 00 31" in notice.body_text and "+46 70 000 00 32" in notice.body_text
    assert "Anna Andersson" in notice.body_text  # who asked
    assert "approval_expired" in kinds(app, incident_id)
    assert app.service.show(incident_id)["state"] == "outage"


def test_an_expiry_notice_reaches_a_requester_outside_the_operators(tmp_path: Path) -> None:
    """A sub-regional decider's request for another sub-region expires: the decider who asked
    is told as well as the operators."""
    clock = FakeClock()
    app = make_app(tmp_path, clock=clock)
    incident_id = declare(app)
    pending = app.service.fire(
        incident_id=incident_id,
        trigger="enter_partial_reserve",
        actor_id="eva.holm",
        values={"reserve_subregions": "fyrbodal"},
    )

    clock.advance(timedelta(hours=2, seconds=1))
    app.timers.fire_due()

    [notice] = messages(app, incident_id, f"approval_expired:{pending.approval_id}")
    people = sorted(r.person_id or "" for r in notice.recipients)
    assert people == ["anna.andersson", "erik.johansson", "eva.holm"]
    assert "+46 70 000 00 21" in notice.body_text  # Johan Berg, who could have decided
    assert app.service.show(incident_id)["pending_approvals"] == []
    assert status(app, pending.approval_id or "") == ApprovalStatus.EXPIRED


def open_timer_keys(app: App) -> list[str]:
    return [t.key for t in app.timers.open_timers()]


def status(app: App, approval_id: str) -> ApprovalStatus:
    with app.service.workspace.store.unit_of_work(read_only=True) as uow:
        return uow.approvals.get(approval_id).status


def test_the_approval_status_ends_approved_when_any_part_was(app: App) -> None:
    """A per-slot request whose every slot is decided, one approved and one rejected, ends
    approved (it took effect in part), with both decisions in its history."""
    incident_id = declare(app)
    approval_id = ask_partial(app, incident_id)
    app.service.decide(approval_id=approval_id, actor_id="eva.holm", approve=False)
    app.service.decide(approval_id=approval_id, actor_id="johan.berg", approve=True)
    decisions = [
        e["data"]["decision"] for e in app.service.log(incident_id) if e["kind"] == "decision"
    ]
    assert decisions == [ApprovalStatus.REJECTED, ApprovalStatus.APPROVED]
    assert status(app, approval_id) == ApprovalStatus.APPROVED


def test_total_reserve_alerts_the_council_and_convenes_the_crisis_meeting(app: App) -> None:
    """The chair's total-reserve decision is followed, in the same transaction, by the council
    alert and the crisis meeting invitation (the rule `council_alert`), once."""
    incident_id = declare(app)
    pending = app.service.fire(
        incident_id=incident_id, trigger="enter_total_reserve", actor_id=OPERATOR
    )
    assert pending.approval_id is not None

    app.service.decide(approval_id=pending.approval_id, actor_id="olof.strand", approve=True)

    alert = messages(app, incident_id, "rule:notify_crisis")
    assert [m.channel for m in alert] == ["crisis_email", "meeting_invite"]
    people = sorted(r.person_id or "" for r in alert[0].recipients)
    assert people == ["margareta.lund", "olof.strand"]
    assert kinds(app, incident_id)[-1] == "rule"
    app.service.fire(incident_id=incident_id, trigger="post_update", actor_id=OPERATOR)
    assert len(messages(app, incident_id, "rule:notify_crisis")) == 2  # not again


def test_the_crisis_meeting_names_the_configured_location(app: App) -> None:
    """With a meeting location configured, the delivered invitation gives it and never says
    the place will be told later."""
    incident_id = declare(app)
    app.service.fire(incident_id=incident_id, trigger="notify_crisis", actor_id=OPERATOR)
    environ = {"DRIFTPLAN_MEETING_LOCATION": "Telefonkonferens 08-123 456, kod 789"}

    make_dispatcher(app, environ).deliver_due()

    invites = list((app.settings.data / "outbox" / "meeting_invite").glob("*.eml"))
    assert invites
    for path in invites:
        mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        parts = [
            part.get_payload(decode=True).decode("utf-8")
            for part in mail.walk()
            if not part.is_multipart()
        ]
        text = "\n".join(parts)
        assert "meddelas senare" not in text
        assert "Telefonkonferens 08-123 456" in text


def test_withdrawing_a_mistaken_declaration_corrects_where_it_went_and_closes(app: App) -> None:
    """A withdrawal sends the correction on the channels that carried the mistaken notice (not
    on the crisis e-mail, which carried nothing), takes the login-page notice down and closes
    the incident as withdrawn."""
    incident_id = declare(app)
    dispatcher = make_dispatcher(app, {})
    dispatcher.deliver_due()
    banner = app.settings.data / "public" / "banner.json"
    assert json.loads(banner.read_text("utf-8"))["active"] is True

    done = app.service.fire(
        incident_id=incident_id,
        trigger="withdraw",
        actor_id=OPERATOR,
        values={"withdrawal_reason": "Testlarm som gick ut av misstag"},
    )

    assert (done.result, done.state) == ("done", "withdrawn")
    corrections = messages(app, incident_id, "transition:withdraw")
    assert sorted(m.channel for m in corrections) == sorted(["login_page", *NOTICE_CHANNELS])
    assert {m.channel for m in corrections if m.clear} == {"login_page", "website_news"}
    assert all("Testlarm som gick ut av misstag" in m.body_text for m in corrections)
    assert app.service.incidents() == []  # closed
    assert not app.timers.open_timers()
    dispatcher.deliver_due()
    assert json.loads(banner.read_text("utf-8"))["active"] is False


def test_a_withdrawal_needs_a_reason_and_an_operator(app: App) -> None:
    """Without a reason, or by a supplier, the withdrawal is refused and nothing changes."""
    incident_id = declare(app)
    with pytest.raises(MissingField):
        app.service.fire(incident_id=incident_id, trigger="withdraw", actor_id=OPERATOR)
    with pytest.raises(NotAuthorized):
        app.service.fire(
            incident_id=incident_id,
            trigger="withdraw",
            actor_id="cerner.support",
            values={"withdrawal_reason": "fel"},
        )
    assert app.service.show(incident_id)["state"] == "outage"
