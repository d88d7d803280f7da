"""What the engine stores, logs and shows of an approval's slots and decisions and a message's
recipients and results, pinned as text: the columns as SQLite holds them, the event data as it
is hashed (canonical JSON) and the `--json` shapes. These objects are typed records inside the
engine (engine.domain.model); outside it they must stay exactly these JSON objects, or old rows,
event hashes and scripts reading the CLI's JSON would break."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from engine.bootstrap import App
from engine.domain.model import Message, RecipientStatus
from engine.ports import DeliveryReport, OutgoingMessage, RecipientResult
from engine.service.outbox import message_view
from engine.store import audit_key, canonical_json, verify
from engine.store import tables as t
from tests.app_helpers import DECLARE, OPERATOR, FakeClock, make_app, write_directory

AT = "2025-03-04T08:30:00+00:00"


def column(application: App, col: sa.Column[Any], where: sa.ColumnElement[bool]) -> str:
    """A JSON column as the database holds it."""
    with application.database.unit_of_work(read_only=True) as uow:
        return str(uow.execute(sa.select(sa.cast(col, sa.Text)).where(where)).scalar_one())


def event_data(application: App, incident_id: str, kind: str) -> list[str]:
    """The data of the incident's events of `kind`, as their hash covers it."""
    log = application.service.log(incident_id)
    return [canonical_json(e["data"]) for e in log if e["kind"] == kind]


class RefusingChannel:
    """An e-mail channel whose server refuses support1@ for good and takes everyone else."""

    kind = "email"
    needs_recipients = True

    def deliver(self, message: OutgoingMessage) -> DeliveryReport:
        return DeliveryReport(
            results=[
                RecipientResult(r.address, RecipientStatus.PERMANENT, "550 No such user")
                if r.address.startswith("support1")
                else RecipientResult(r.address, RecipientStatus.SENT, "250 OK")
                for r in message.recipients
            ],
            target="smtp://test",
        )

    def close(self) -> None:
        pass


def messages_by_channel(application: App, incident_id: str, cause: str) -> dict[str, Message]:
    return {
        m.channel: m for m in application.service.messages(incident_id) if m.cause.startswith(cause)
    }


def test_slots_decisions_recipients_and_results_keep_their_json(tmp_path: Path) -> None:
    clock = FakeClock()
    directory = write_directory(tmp_path, ["support0@x.se", "support1@x.se"])
    application = make_app(tmp_path, clock=clock, directory=directory)
    service = application.service
    pending = service.subscriptions.subscribe(audience="subscribers", email="pub@x.se", name="Pub")
    subscriber = service.subscriptions.confirm(pending.token)
    incident = service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    fired = service.fire(
        incident_id=incident,
        trigger="enter_partial_reserve",
        actor_id="johan.berg",  # the Fyrbodal decider: his own slot is filled by firing
        values={"reserve_subregions": ["fyrbodal", "skaraborg", "goteborg"]},
    )
    approval = fired.approval_id
    assert approval is not None

    def slot(region: str) -> str:
        return f'"roles": ["subregional_decider"], "subregions": ["{region}"]'

    johan = f'"decision": "approved", "decided_by": "johan.berg", "at": "{AT}"'
    [request] = service.show(incident)["pending_approvals"]
    assert request["approvers"] == [
        {
            "roles": ["subregional_decider"],
            "subregions": ["fyrbodal"],
            "decision": "approved",
            "decided_by": "johan.berg",
            "at": AT,
        },
        {"roles": ["subregional_decider"], "subregions": ["skaraborg"]},
        {"roles": ["subregional_decider"], "subregions": ["goteborg"]},
    ]
    assert event_data(application, incident, "approval_requested") == [
        f'{{"approval_id":"{approval}","changes":{{"reserve_subregions":["fyrbodal","skaraborg",'
        '"goteborg"]},"slots":[{"at":"' + AT + '","decided_by":"johan.berg","decision":'
        '"approved","roles":["subregional_decider"],"subregions":["fyrbodal"]},{"roles":'
        '["subregional_decider"],"subregions":["skaraborg"]},{"roles":["subregional_decider"],'
        '"subregions":["goteborg"]}]}'
    ]

    service.decide(approval_id=approval, actor_id="eva.holm", approve=True, comment="Ja – ok")
    service.decide(
        approval_id=approval,
        actor_id=OPERATOR,
        approve=True,
        on_behalf_of="lena.sjoberg",
        reference="Samtal 09.05",
    )

    eva = f'"decision": "approved", "decided_by": "eva.holm", "at": "{AT}", "comment": "Ja – ok"'
    lena = (
        f'"decision": "approved", "decided_by": "lena.sjoberg", "at": "{AT}", "comment": "", '
        '"recorded_by": "anna.andersson", "reference": "Samtal 09.05"'
    )
    where = t.approvals.c.id == approval
    assert column(application, t.approvals.c.slots, where) == (
        f"[{{{slot('fyrbodal')}, {johan}}}, {{{slot('skaraborg')}, {eva}}}, "
        f"{{{slot('goteborg')}, {lena}}}]"
    )
    assert column(application, t.approvals.c.decisions, where) == (
        f'[{{{eva}, "slots": [1]}}, {{{lena}, "slots": [2]}}]'
    )
    assert event_data(application, incident, "decision") == [
        f'{{"approval_id":"{approval}","at":"{AT}","comment":"Ja – ok","decided_by":"eva.holm",'
        '"decision":"approved"}',
        f'{{"approval_id":"{approval}","at":"{AT}","comment":"","decided_by":"lena.sjoberg",'
        '"decision":"approved","recorded_by":"anna.andersson","reference":"Samtal 09.05"}',
    ]

    asked = messages_by_channel(application, incident, f"approval_requested:{approval}")
    assert column(
        application, t.messages.c.recipients, t.messages.c.id == asked["staff_email"].id
    ) == (
        '[{"address": "eva.holm@skaraborg.example.se", "name": "Eva Holm", '
        '"person_id": "eva.holm"}, {"address": "lena.sjoberg@goteborg.example.se", '
        '"name": "Lena Sjöberg", "person_id": "lena.sjoberg"}]'
    )
    declared = messages_by_channel(application, incident, "declare")
    assert column(
        application, t.messages.c.recipients, t.messages.c.id == declared["newsletter"].id
    ) == (
        f'[{{"address": "pub@x.se", "name": "Pub", "subscriber_id": "{subscriber.id}", '
        f'"unsubscribe_token": "{subscriber.unsubscribe_token}"}}]'
    )
    mail = declared["support_email"]
    assert column(application, t.messages.c.recipients, t.messages.c.id == mail.id) == (
        '[{"address": "support0@x.se", "name": "Support 0", "person_id": null}, '
        '{"address": "support1@x.se", "name": "Support 1", "person_id": null}]'
    )

    dispatcher = application.dispatcher
    channel = RefusingChannel()

    def refusing(sha: str, snapshot: Mapping[str, Any] | None, name: str) -> Any:
        return channel, {"channel": name}

    dispatcher.channel_for = refusing  # type: ignore[method-assign]
    dispatcher.deliver_due()

    results = [
        {
            "address": "support0@x.se",
            "status": "sent",
            "detail": "250 OK",
            "at": AT,
            "attempt": 1,
        },
        {
            "address": "support1@x.se",
            "status": "permanent",
            "detail": "550 No such user",
            "at": AT,
            "attempt": 1,
        },
    ]
    dead = {m.id: m for m in service.outbox.dead_letters()}[mail.id]
    view = message_view(dead)
    assert list(view) == [
        "id",
        "channel",
        "kind",
        "audience",
        "subject",
        "status",
        "attempts",
        "recipients",
        "results",
        "last_error",
        "created_at",
    ]
    assert (view["status"], view["recipients"], view["results"]) == ("dead", 2, results)
    assert column(application, t.messages.c.results, t.messages.c.id == mail.id) == (
        f'[{{"address": "support0@x.se", "status": "sent", "detail": "250 OK", "at": "{AT}", '
        f'"attempt": 1}}, {{"address": "support1@x.se", "status": "permanent", "detail": '
        f'"550 No such user", "at": "{AT}", "attempt": 1}}]'
    )
    deliveries = [d for d in event_data(application, incident, "delivery") if mail.id in d]
    assert deliveries == [
        '{"attempt":1,"channel":"support_email","error":"1 recipient(s) refused permanently",'
        f'"live":true,"message_id":"{mail.id}","results":[{{"address":"support0@x.se","at":'
        f'"{AT}","attempt":1,"detail":"250 OK","status":"sent"}},{{"address":"support1@x.se",'
        f'"at":"{AT}","attempt":1,"detail":"550 No such user","status":"permanent"}}],'
        '"status":"dead","target":"smtp://test"}'
    ]

    service.outbox.retry(mail.id, OPERATOR)  # only the sent result is kept
    assert column(application, t.messages.c.results, t.messages.c.id == mail.id) == (
        f'[{{"address": "support0@x.se", "status": "sent", "detail": "250 OK", "at": "{AT}", '
        f'"attempt": 1}}]'
    )
    key = audit_key(application.settings.data, application.settings.environ)
    assert verify(application.database, key, incident).intact
