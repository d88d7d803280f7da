"""Newsletter subscriptions with double opt-in: subscribe, confirm, unsubscribe, list.

Owns the rules of who may receive a plan's newsletter. An address subscribes to an audience
that the plan marks `subscribers: true` and starts out *pending*; only when someone proves they
read that mailbox by opening the confirmation link does the subscription become *confirmed*, and
only confirmed subscribers are addressed (`service.addressing`). Each newsletter copy carries the
subscriber's own one-click unsubscribe link, so leaving needs no login.

Two random tokens, each good for one thing: the confirmation token (sent once, in the
confirmation link) only confirms, and the unsubscribe token (in every newsletter copy) only
unsubscribes. So a forwarded newsletter cannot re-confirm its reader, and a confirmation link
cannot end a subscription. Both are unique columns: a link is found through an index.

The links are `{public_url}/subscribe/confirm/{token}` and
`{public_url}/unsubscribe/{unsubscribe_token}`.
No confirmation e-mail is sent yet: the CLI prints the confirmation link, and a web endpoint
(engine/web) will serve both links; that endpoint must show a page and decide only on POST,
because mail scanners open links (DESIGN.md §5).

Contact lists from the directory are *not* subscribers: their addresses (often a shared list
address such as it-support@...) never get unsubscribe links, since one member of a list must not
be able to take the whole list off an outage plan.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable
from datetime import datetime

from engine.domain.addresses import EMAIL_RE
from engine.domain.model import Subscriber, SubscriberStatus
from engine.domain.tokens import new_link_token
from engine.errors import CommandError, DefinitionError, NotFound
from engine.ports import UnitOfWork
from engine.service.plans import PlanLibrary
from engine.service.workspace import Workspace

__all__ = [
    "DEFAULT_PUBLIC_URL",
    "Subscriptions",
    "confirm_url",
    "new_token",
    "subscriber_audiences",
    "unsubscribe_url",
]

# The same fallback the dispatcher uses for unsubscribe links when DRIFTPLAN_PUBLIC_URL is unset.
DEFAULT_PUBLIC_URL = "http://localhost:8080"
STATUSES = tuple(SubscriberStatus)
UNKNOWN_LINK = (
    "This subscription link is not valid (unknown token). It may be mistyped, or replaced by a "
    "newer link: subscribe again to get a new one."
)


def new_token() -> str:
    """A fresh unguessable token (32 URL-safe characters): it is the only key to the link."""
    return new_link_token()


def _base(public_url: str) -> str:
    return (public_url or DEFAULT_PUBLIC_URL).rstrip("/")


def confirm_url(public_url: str, token: str) -> str:
    """The double opt-in link that confirms the subscription with `token`."""
    return f"{_base(public_url)}/subscribe/confirm/{token}"


def unsubscribe_url(public_url: str, token: str) -> str:
    """The one-click unsubscribe link of `token` (the path the dispatcher puts in newsletters)."""
    return f"{_base(public_url)}/unsubscribe/{token}"


def subscriber_audiences(plans: PlanLibrary) -> list[str]:
    """Audiences marked `subscribers: true` in any installed plan, sorted.

    Subscribers are stored per audience name, not per plan version, so the union over the plans
    is what addressing (`engine.service.addressing`) can reach. An invalid plan file is skipped:
    `driftplan validate` reports it, and it must not stop people from subscribing to a valid one.
    """
    from engine.definition.loader import load_definition  # noqa: PLC0415  (heavy; used here only)

    names: set[str] = set()
    for path in plans.files():
        try:
            workflow = load_definition(path).workflow
        except DefinitionError:
            continue
        names |= {name for name, spec in workflow.audiences.items() if spec.subscribers}
    return sorted(names)


def _check_audience(audience: str, valid: Iterable[str]) -> None:
    valid = sorted(valid)
    if audience not in valid:
        listed = ", ".join(valid) or "(none: no plan has an audience with `subscribers: true`)"
        raise CommandError(
            f"Audience '{audience}' takes no newsletter subscribers. "
            f"Audiences with subscribers: {listed}."
        )


def _clean_email(email: str) -> str:
    # Lower-cased like the repository stores it, so the checks below see the stored value.
    address = email.strip().lower()
    if not (len(address) <= 254 and EMAIL_RE.match(address)):
        raise CommandError(
            f"{email!r} is not an e-mail address that driftplan can send to "
            "(one @, a dotted domain, ASCII letters, digits and .!#$%&'*+/=?^_`{|}~- only)."
        )
    return address


def _by_token(uow: UnitOfWork, token: str, *, unsubscribe: bool) -> Subscriber:
    """The subscriber a link's token names, through the token's unique index."""
    token = token.strip()
    if not token:
        raise NotFound(UNKNOWN_LINK)
    repo = uow.subscribers
    try:
        found = (
            repo.by_unsubscribe_token(token) if unsubscribe else repo.by_confirmation_token(token)
        )
    except NotFound:
        raise NotFound(UNKNOWN_LINK) from None
    stored = found.unsubscribe_token if unsubscribe else found.token
    # The database compared already; this keeps the rule visible that one kind of token never
    # stands in for the other, whatever a future store's lookup does.
    if not secrets.compare_digest(stored.encode(), token.encode()):
        raise NotFound(UNKNOWN_LINK)
    return found


class Subscriptions:
    """The subscription use cases, each in one transaction."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def audiences(self) -> list[str]:
        """The audiences that take subscribers in the installed plans."""
        return subscriber_audiences(self.workspace.plans)

    def subscribe(
        self,
        *,
        audience: str,
        email: str,
        name: str = "",
        now: datetime | None = None,
    ) -> Subscriber:
        """Start (or restart) a subscription; returns the stored subscriber.

        The audience must take subscribers: give `plans` (the installed plans are asked) or the
        valid `audiences` directly. A new, pending or unsubscribed address becomes pending with a
        new token (re-subscribing is how a lost confirmation link is replaced; the old link stops
        working). A confirmed address is left as it is: subscribing twice must not silently log
        someone out of the newsletter they already confirmed.
        """
        _check_audience(audience, self.audiences())
        address = _clean_email(email)
        fresh = Subscriber(
            id=uuid.uuid4().hex,
            audience=audience,
            email=address,
            name=name.strip(),
            status=SubscriberStatus.PENDING,
            token=new_token(),
            created_at=now or self.workspace.clock.now(),
            unsubscribe_token=new_token(),
        )
        with self.workspace.store.unit_of_work() as uow:
            existing = uow.subscribers.list(audience)
            current = next((s for s in existing if s.email == address), None)
            if current is not None and current.status == SubscriberStatus.CONFIRMED:
                confirmed: Subscriber = current
                return confirmed
            if current is not None and current.status == SubscriberStatus.PENDING:
                # The repository keeps a pending record (and its token) on a repeated `add`;
                # ending it first makes `add` restart it with the fresh token, in this same
                # transaction.
                uow.subscribers.unsubscribe(current.unsubscribe_token)
            stored = uow.subscribers.add(fresh)
            uow.commit()
        return stored

    def confirm(self, token: str, now: datetime | None = None) -> Subscriber:
        """Confirm the pending subscription with its confirmation `token`; confirming again
        changes nothing. An unsubscribe token confirms nothing (NotFound).

        An ended subscription is not revived by its old confirmation link (whoever ended it
        meant it): they subscribe again instead.
        """
        with self.workspace.store.unit_of_work() as uow:
            current = _by_token(uow, token, unsubscribe=False)
            if current.status == SubscriberStatus.UNSUBSCRIBED:
                raise CommandError(
                    f"The subscription of {current.email} to {current.audience} has ended; "
                    "this link no longer confirms it. Subscribe again to get a new confirmation "
                    "link."
                )
            stored = uow.subscribers.confirm(current.token, now or self.workspace.clock.now())
            uow.commit()
        return stored

    def unsubscribe(self, token: str) -> Subscriber:
        """End the subscription with its unsubscribe `token`; doing it again changes nothing
        (links get re-clicked). A confirmation token unsubscribes nobody (NotFound)."""
        with self.workspace.store.unit_of_work() as uow:
            current = _by_token(uow, token, unsubscribe=True)
            if current.status == SubscriberStatus.UNSUBSCRIBED:
                return current
            stored = uow.subscribers.unsubscribe(current.unsubscribe_token)
            uow.commit()
        return stored

    def list(self, *, audience: str | None = None, status: str | None = None) -> list[Subscriber]:
        """Subscribers, optionally of one audience and/or one status, by audience and e-mail."""
        wanted = None
        if status is not None:
            if status not in STATUSES:
                listed = ", ".join(STATUSES)
                raise CommandError(f"Unknown status '{status}'. Statuses: {listed}.")
            wanted = SubscriberStatus(status)
        with self.workspace.store.unit_of_work(read_only=True) as uow:
            return uow.subscribers.list(audience, wanted)
