"""Deciding by link: what an approver sees when they open their e-mailed link, and the decision
they post from it.

The link is the credential (no sign-in), so everything it may do is checked here, in the
service layer: the signature, that the link exists, is theirs, unused and unexpired, and that
the request is still open in the state it was made in; then the ordinary decision use case
(`GateKeeper.decide`) authorises the person by their directory roles and uses the link up in
the same transaction. Every refused attempt is written to the incident's log (or, when the
token names no real link, the application log).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from engine.definition.schema import localized
from engine.domain.fields import format_time
from engine.domain.model import ApprovalStatus
from engine.domain.outcome import CommandResult
from engine.errors import LinkRefused, NotFound
from engine.service.approval_view import approval_context
from engine.service.gates import GateKeeper
from engine.service.link_signer import LinkClaim, LinkSigner, altered
from engine.service.queries import described_rows
from engine.service.recorder import note_event
from engine.service.workspace import Workspace

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Contact:
    """Someone to call instead: a name and a phone number from the directory."""

    name: str
    phone: str


@dataclass(frozen=True)
class DecisionQuestion:
    """Everything the decision page shows, in the plan's language."""

    approval_id: str
    incident_id: str
    person_id: str
    person_name: str
    title: str
    requested_by: str
    requested_at: str
    expires_at: str
    subregions: str
    approvers: str
    state_title: str
    rows: list[tuple[str, str]]
    exercise: bool
    contacts: list[Contact]
    language: str


class DecisionLinks:
    """Opens and decides by decision links."""

    def __init__(self, workspace: Workspace, gates: GateKeeper, signer: LinkSigner) -> None:
        self.workspace = workspace
        self.gates = gates
        self.signer = signer

    def open(self, token: str, *, signed_in: str | None = None) -> DecisionQuestion:
        """What the link asks of its person; LinkRefused (logged) when it cannot be used."""
        claim = self._claim(token, signed_in)
        return self._question(claim)

    def decide(
        self, token: str, *, approve: bool, comment: str = "", signed_in: str | None = None
    ) -> CommandResult:
        """Decide by the link, using it up; LinkRefused (logged) when it cannot be used."""
        claim = self._claim(token, signed_in)
        try:
            return self.gates.decide(
                approval_id=claim.approval_id,
                actor_id=claim.person_id,
                approve=approve,
                comment=comment,
                link_nonce=claim.nonce,
                origin={"via": "decision-link"},
            )
        except LinkRefused as err:  # used up by a concurrent post
            self._log_refusal(claim, err)
            raise

    def help_contacts(self, approval_id: str | None = None) -> list[Contact]:
        """Who to call instead: people who may record a decision taken by phone (the gate's
        `recordable_by`; every gate's of the current plan when the request is unknown)."""
        with self.workspace.store.unit_of_work(read_only=True) as uow:
            directory = self.workspace.directory(uow)
            definition = None
            trigger = None
            if approval_id:
                try:
                    approval = uow.approvals.get(approval_id)
                    incident = uow.incidents.get(approval.incident_id)
                    definition = self.workspace.definition_of(uow, incident)
                    trigger = approval.trigger
                except NotFound:
                    definition = None
        definition = definition or self.workspace.plans.current(None)
        roles: set[str] = set()
        for t in definition.workflow.transitions:
            if t.gate and (trigger is None or t.trigger == trigger):
                roles |= set(t.gate.recordable_by)
        return [
            Contact(p.name, p.phone)
            for p in directory.people.values()
            if p.phone and roles & set(p.roles)
        ]

    # ------------------------------------------------------------------ checks
    def _claim(self, token: str, signed_in: str | None) -> LinkClaim:
        try:
            claim = self.signer.read(token)
        except LinkRefused:
            log.warning("refused decision link: bad signature")
            raise
        try:
            self._check(claim, signed_in)
        except LinkRefused as err:
            self._log_refusal(claim, err)
            raise
        return claim

    def _check(self, claim: LinkClaim, signed_in: str | None) -> None:
        now = self.workspace.clock.now()
        with self.workspace.store.unit_of_work(read_only=True) as uow:
            link = uow.accounts.link(claim.nonce)
            if (
                link is None
                or link.approval_id != claim.approval_id
                or link.person_id != claim.person_id
            ):
                raise altered()
            if signed_in is not None and signed_in != link.person_id:
                raise LinkRefused(
                    "someone_else",
                    "This decision link was sent to someone else; use the link in your own "
                    "e-mail, or sign out first.",
                    sv="Den här beslutslänken skickades till någon annan. Använd länken i ditt "
                    "eget e-postmeddelande, eller logga ut först.",
                )
            if link.used_at is not None:
                raise LinkRefused(
                    "used",
                    "This decision link has already been used.",
                    sv="Den här beslutslänken har redan använts.",
                )
            if link.expires_at <= now:
                raise LinkRefused(
                    "expired",
                    "This decision link has expired.",
                    sv="Den här beslutslänken har gått ut.",
                )
            approval = uow.approvals.get(claim.approval_id)
            incident = uow.incidents.get(approval.incident_id)
            if (
                approval.status != ApprovalStatus.PENDING
                or approval.state_epoch != claim.state_epoch
                or incident.state_epoch != claim.state_epoch
            ):
                raise LinkRefused(
                    "closed",
                    f"The request is no longer open (it is {approval.status}).",
                    sv="Begäran är inte längre öppen: den har redan avgjorts, dragits tillbaka "
                    "eller gått ut.",
                )

    def _log_refusal(self, claim: LinkClaim, err: LinkRefused) -> None:
        """Write the refused attempt to the incident's log in its own transaction."""
        log.warning("refused decision link for %s: %s", claim.person_id, err.reason)
        with self.workspace.store.unit_of_work() as uow:
            try:
                approval = uow.approvals.get(claim.approval_id)
                incident = uow.incidents.get(approval.incident_id)
            except NotFound:
                return
            note_event(
                uow,
                incident,
                actor=claim.person_id,
                kind="refused",
                trigger=approval.trigger,
                at=self.workspace.clock.now(),
                data={
                    "approval_id": approval.id,
                    "error": "LinkRefused",
                    "reason": err.reason,
                    "message": str(err),
                    "origin": {"via": "decision-link"},
                },
            )
            uow.commit()

    # ------------------------------------------------------------------ the question
    def _question(self, claim: LinkClaim) -> DecisionQuestion:
        with self.workspace.store.unit_of_work(read_only=True) as uow:
            approval = uow.approvals.get(claim.approval_id)
            incident = uow.incidents.get(approval.incident_id)
            definition = self.workspace.definition_of(uow, incident)
            directory = self.workspace.directory(uow)
        names = {p.id: p.name for p in directory.people.values()}
        facts = approval_context(definition, approval, "", url="", names=names)
        workflow, language = definition.workflow, definition.language
        rows = described_rows(workflow, incident.data, language)
        person = directory.people.get(claim.person_id)
        return DecisionQuestion(
            approval_id=approval.id,
            incident_id=incident.id,
            person_id=claim.person_id,
            person_name=person.name if person else claim.person_id,
            title=str(facts["title"]),
            requested_by=str(facts["requested_by"]),
            requested_at=format_time(approval.requested_at.isoformat(), workflow, language),
            expires_at=str(facts["expires_at"]),
            subregions=str(facts["subregions"]),
            approvers=str(facts["approvers"]),
            state_title=localized(workflow.states[incident.state].title, language),
            rows=rows,
            exercise=incident.exercise,
            contacts=self.help_contacts(approval.id),
            language=language,
        )
