"""`Service`: the application's use cases behind one object, as the CLI and web layer see them.

Commands (`declare`, `fire`, `preview`), decisions (`decide`), the timeline's notes and reports
(`note`, `report`) and the incident queries are its methods; the directory, the outbox and
subscriptions are its collaborators (`service.directory.import_file(...)`,
`service.outbox.retry(...)`, `service.subscriptions.subscribe(...)`,
`service.accounts.sign_in(...)`, `service.links.decide(...)`). Every method opens its own
transaction(s).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from engine.domain.outcome import CommandResult
from engine.service.accounts import Accounts
from engine.service.approval_queries import ApprovalQueries
from engine.service.commands import Commands
from engine.service.decision_links import DecisionLinks
from engine.service.directory_admin import DirectoryAdmin
from engine.service.gates import GateKeeper
from engine.service.idempotency import Idempotency
from engine.service.link_signer import LinkSigner
from engine.service.notes import Report, Timeline
from engine.service.outbox import Outbox
from engine.service.queries import IncidentQueries
from engine.service.recorder import Recorder
from engine.service.subscriptions import Subscriptions
from engine.service.workspace import Workspace


class Service(IncidentQueries):
    """The use cases; the adapters come in through the workspace (see engine.bootstrap)."""

    def __init__(
        self, workspace: Workspace, recorder: Recorder, signer: LinkSigner | None = None
    ) -> None:
        super().__init__(workspace)
        self.recorder = recorder
        self.commands = Commands(workspace, recorder)
        self.gates = GateKeeper(workspace, recorder)
        self.accounts = Accounts(workspace)
        # Decision links need a key; without one (tests of other use cases) none are made.
        self.links = DecisionLinks(
            workspace, self.gates, signer or LinkSigner(secrets.token_bytes(32), "")
        )
        self.approvals = ApprovalQueries(workspace)
        self.idempotency = Idempotency(workspace)
        self.directory = DirectoryAdmin(workspace)
        self.outbox = Outbox(workspace)
        self.subscriptions = Subscriptions(workspace)
        self.timeline = Timeline(workspace)

    def declare(
        self,
        *,
        actor_id: str,
        values: Mapping[str, Any],
        workflow: str | None = None,
        exercise: bool = False,
        trigger: str | None = None,
    ) -> CommandResult:
        """Create an incident through the plan's initial transition."""
        return self.commands.declare(
            actor_id=actor_id, values=values, workflow=workflow, exercise=exercise, trigger=trigger
        )

    def fire(
        self,
        *,
        incident_id: str,
        trigger: str,
        actor_id: str,
        values: Mapping[str, Any] | None = None,
    ) -> CommandResult:
        """Fire a trigger on an incident; a gated trigger may come back pending."""
        return self.commands.fire(
            incident_id=incident_id, trigger=trigger, actor_id=actor_id, values=values
        )

    def preview(
        self,
        *,
        actor_id: str,
        values: Mapping[str, Any],
        incident_id: str | None = None,
        trigger: str | None = None,
        workflow: str | None = None,
    ) -> dict[str, Any]:
        """Every message a command would send, and its result; nothing is committed or sent."""
        return self.commands.preview(
            actor_id=actor_id,
            values=values,
            incident_id=incident_id,
            trigger=trigger,
            workflow=workflow,
        )

    def decide(
        self,
        *,
        approval_id: str,
        actor_id: str,
        approve: bool,
        comment: str = "",
        on_behalf_of: str | None = None,
        reference: str | None = None,
    ) -> CommandResult:
        """An approver decides a pending request (or an operator records a phone decision)."""
        return self.gates.decide(
            approval_id=approval_id,
            actor_id=actor_id,
            approve=approve,
            comment=comment,
            on_behalf_of=on_behalf_of,
            reference=reference,
        )

    def note(self, *, incident_id: str, actor_id: str, text: str) -> dict[str, Any]:
        """An operator's note into the incident's log (nothing is sent); the event as logged."""
        seq = self.timeline.note(incident_id=incident_id, actor_id=actor_id, text=text)
        return self._logged(incident_id, seq)

    def report(
        self,
        *,
        incident_id: str,
        actor_id: str,
        text: str,
        organisation: str,
        contact: str | None = None,
        subregion: str | None = None,
        via: str | None = None,
    ) -> dict[str, Any]:
        """An organisation's report received by mail or phone, recorded by `actor_id` (nothing
        is sent); the event as logged."""
        seq = self.timeline.report(
            incident_id=incident_id,
            actor_id=actor_id,
            text=text,
            report=Report(organisation, contact, subregion, via),
        )
        return self._logged(incident_id, seq)

    def log(self, incident_id: str) -> list[dict[str, Any]]:
        """The incident's log, oldest first, with what the timeline shows of each event (the
        actor's name, its words, a phone reference, the fields it changed)."""
        return self.timeline.annotate(super().log(incident_id))

    def _logged(self, incident_id: str, seq: int) -> dict[str, Any]:
        """One event exactly as the log shows it (an API answer equals what GET events gives)."""
        return next(e for e in self.log(incident_id) if e["seq"] == seq)
