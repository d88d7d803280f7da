"""The facts in messages, through the real application: who decided a total reserve, and what
the login-page notice says in each stage."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from engine.bootstrap import App
from engine.domain.model import Message
from tests.app_helpers import (
    DECLARE,
    OPERATOR,
    make_app,
    make_dispatcher,
)

VICE_CHAIR = "Vice ordförande, Ledningsråd Samordnad hälsa, vård och omsorg"


@pytest.fixture
def application(tmp_path: Path) -> Iterator[App]:
    application = make_app(tmp_path)
    yield application
    application.database.dispose()


def _messages(application: App, incident_id: str) -> list[Message]:
    with application.database.unit_of_work(read_only=True) as uow:
        return uow.messages.list(incident_id)


def _caused(messages: list[Message], channel: str, cause: str) -> Message:
    """The one message on `channel` that the command `cause` (e.g. "update:post_update") wrote:
    the clock stands still here, so ids do not tell the order of commands."""
    [message] = [m for m in messages if m.channel == channel and m.cause.startswith(cause)]
    return message


def test_total_reserve_decided_by_the_vice_chair_names_the_vice_chair(application: App) -> None:
    """The operator asks, the vice chair approves: every notice names the vice chair's role
    (not the chair's), and the banner says all organisations, without a sub-region."""
    service = application.service
    incident_id = service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    asked = service.fire(incident_id=incident_id, trigger="enter_total_reserve", actor_id=OPERATOR)
    assert asked.approval_id is not None
    decided = service.decide(
        approval_id=asked.approval_id, actor_id="olof.strand", approve=True, comment="Beslutat"
    )
    assert decided.state == "total_reserve"

    messages = _messages(application, incident_id)
    notices = [
        m
        for m in messages
        if m.subject == "SAMSA: reservrutin i alla verksamheter" and m.channel != "login_page"
    ]
    assert {m.channel for m in notices} >= {"support_email", "crisis_email", "website_news"}
    for notice in notices:
        first = notice.body_text.split("\n")[0]
        assert first.startswith(f"{VICE_CHAIR} har beslutat om övergång till reservrutin"), first
        assert not first.startswith("Ordförande")
    banner = _caused(messages, "login_page", "transition:enter_total_reserve")
    assert banner.body_text.startswith("Reservrutin i alla verksamheter. Driftstörning sedan")
    assert "(Fyrbodal)" not in banner.body_text


def test_a_status_update_in_partial_reserve_keeps_the_sub_regions_on_the_banner(
    application: App,
) -> None:
    service = application.service
    incident_id = service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    asked = service.fire(
        incident_id=incident_id,
        trigger="enter_partial_reserve",
        actor_id=OPERATOR,
        values={"reserve_subregions": "fyrbodal"},
    )
    assert asked.approval_id is not None
    service.decide(approval_id=asked.approval_id, actor_id="johan.berg", approve=True)
    service.fire(
        incident_id=incident_id,
        trigger="post_update",
        actor_id=OPERATOR,
        values={"details": "Felsökning pågår."},
    )
    banner = _caused(_messages(application, incident_id), "login_page", "update:post_update")
    assert banner.subject == "SAMSA: reservrutin i Fyrbodal – lägesuppdatering"
    assert "Reservrutin gäller i Fyrbodal." in banner.body_text


def test_the_banner_severity_follows_the_stage(tmp_path: Path) -> None:
    """With the SAMSA plan's severities per state, the published notice's severity changes
    with the stage: a disturbance, then a reserve routine, which an update keeps."""
    application = make_app(tmp_path)
    service = application.service
    banner = tmp_path / "data" / "public" / "banner.json"

    def published() -> str:
        make_dispatcher(application, {}).deliver_due()
        return str(json.loads(banner.read_text("utf-8"))["severity"])

    incident_id = service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    assert published() == "warning"
    application.clock.advance(timedelta(minutes=5))
    asked = service.fire(
        incident_id=incident_id,
        trigger="enter_partial_reserve",
        actor_id=OPERATOR,
        values={"reserve_subregions": "fyrbodal"},
    )
    service.decide(approval_id=asked.approval_id, actor_id="johan.berg", approve=True)
    assert published() == "critical"
    application.clock.advance(timedelta(minutes=5))
    service.fire(
        incident_id=incident_id, trigger="post_update", actor_id=OPERATOR, values={"details": "x"}
    )
    assert published() == "critical"
    application.database.dispose()
