"""Who may sign in to the web service, and how: passwords, browser sessions and API tokens.

Every account belongs to a person in the directory; the roles a signed-in person acts with are
the directory's, so authorisation stays where it is for the CLI (the use cases). Passwords are
hashed with argon2id; tokens and session ids are random 256-bit secrets of which only a SHA-256
is stored (a fast hash is enough for a secret nobody can guess, and keeps every API request
cheap). A secret is shown once, when it is made.

Administration over the web is authorised here too (`authorize`): a person manages the
directory or other people's sign-in only when one of their roles (or a role they deputise for)
is granted `manage_directory` / `manage_users` by `may:` in the current plan. The `*_as`
methods are the web's way to the account use cases: they check first, then act. The CLI is
the server administrator's own tool and calls the plain methods.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING

from engine.domain.accounts import ApiToken, WebSession
from engine.domain.machine import evaluator_for
from engine.domain.outcome import Actor
from engine.errors import CommandError, DriftplanError, NotAuthenticated, NotAuthorized, NotFound
from engine.service.workspace import Workspace

if TYPE_CHECKING:
    from argon2 import PasswordHasher

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 12
SESSION_LIFETIME = timedelta(hours=12)
# What `may:` grants for administration, with what each lets a person do (for the refusal).
PERMISSIONS = {
    "manage_directory": (
        "manage the directory and subscribers",
        "sköta katalogen och prenumeranterna",
    ),
    "manage_users": ("manage passwords and API tokens", "sköta lösenord och API-nycklar"),
}
TOKEN_PREFIX = "dp_"  # noqa: S105 (not a secret: a prefix that makes a leaked token recognisable to secret scanners


# Built on first use, not at import: every CLI command imports this module, and only sign-in
# and `users set-password` hash anything.
@cache
def _hasher() -> PasswordHasher:
    """argon2id with the library's current recommended parameters."""
    from argon2 import PasswordHasher  # noqa: PLC0415

    return PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified when the person has no password, so that a wrong id costs as long as a wrong
    password (no telling from the timing which ids exist)."""
    return _hasher().hash(secrets.token_urlsafe(16))


def secret_hash(secret: str) -> str:
    """How a token or session secret is stored and looked up."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class SignedIn:
    """A new browser session: its secret (the cookie) and what it holds."""

    secret: str
    session: WebSession


@dataclass(frozen=True)
class NewToken:
    """An API token just made; `secret` is shown once and never stored."""

    token: ApiToken
    secret: str


class Accounts:
    """Passwords, sessions and tokens, each call in its own transaction."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    # ------------------------------------------------------------------ passwords
    def set_password(self, person_id: str, password: str) -> None:
        """Set (or replace) a person's password; the person must be in the directory."""
        if len(password) < MIN_PASSWORD_LENGTH:
            raise CommandError(
                f"The password is too short: use at least {MIN_PASSWORD_LENGTH} characters "
                "(a few unrelated words are easy to remember).",
                sv=f"Lösenordet är för kort: använd minst {MIN_PASSWORD_LENGTH} tecken "
                "(några orelaterade ord är lätta att minnas).",
            )
        hashed = _hasher().hash(password)
        with self.workspace.store.unit_of_work() as uow:
            self.workspace.actor(uow, person_id)  # NotFound with the fix
            uow.accounts.set_password(person_id, hashed, self.workspace.clock.now())
            uow.commit()

    def sign_in(self, person_id: str, password: str) -> SignedIn:
        """Check the password and open a session; NotAuthenticated names no detail."""
        refused = NotAuthenticated("Wrong user or password.", sv="Fel användare eller lösenord.")
        with self.workspace.store.unit_of_work(read_only=True) as uow:
            stored = uow.accounts.password_hash(person_id)
            known = person_id in self.workspace.directory(uow).people
        from argon2.exceptions import InvalidHashError, VerificationError  # noqa: PLC0415

        try:
            _hasher().verify(stored or _dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            log.warning("refused sign-in for %r: wrong password or no account", person_id)
            raise refused from None
        if stored is None or not known:
            log.warning("refused sign-in for %r: no account or not in the directory", person_id)
            raise refused
        now = self.workspace.clock.now()
        secret = secrets.token_urlsafe(32)
        session = WebSession(
            person_id=person_id,
            csrf=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
        with self.workspace.store.unit_of_work() as uow:
            if _hasher().check_needs_rehash(stored):
                uow.accounts.set_password(person_id, _hasher().hash(password), now)
            uow.accounts.delete_expired_sessions(now)
            uow.accounts.add_session(secret_hash(secret), session)
            uow.commit()
        return SignedIn(secret, session)

    def session(self, secret: str) -> WebSession | None:
        """The live session of a cookie value, or None (unknown or expired)."""
        with self.workspace.store.unit_of_work(read_only=True) as uow:
            found = uow.accounts.session(secret_hash(secret))
            # Someone removed from the directory is signed out, whatever their cookie says.
            present = found is not None and found.person_id in self.workspace.directory(uow).people
        if found is None or not present or found.expires_at <= self.workspace.clock.now():
            return None
        return found

    def sign_out(self, secret: str) -> None:
        with self.workspace.store.unit_of_work() as uow:
            uow.accounts.delete_session(secret_hash(secret))
            uow.commit()

    # ------------------------------------------------------------------ API tokens
    def create_token(self, person_id: str, name: str = "") -> NewToken:
        """A new API token for a directory person; its secret is returned once."""
        token_id = secrets.token_hex(4)
        secret = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        with self.workspace.store.unit_of_work() as uow:
            self.workspace.actor(uow, person_id)
            token = ApiToken(
                id=token_id,
                person_id=person_id,
                name=name.strip() or "api",
                created_at=self.workspace.clock.now(),
            )
            uow.accounts.add_token(token, secret_hash(secret))
            uow.commit()
        return NewToken(token, secret)

    def tokens(self, person_id: str) -> list[ApiToken]:
        with self.workspace.store.unit_of_work(read_only=True) as uow:
            self.workspace.actor(uow, person_id)
            return uow.accounts.tokens(person_id)

    def revoke_token(self, person_id: str, token_id: str) -> None:
        """Revoke one of a person's tokens; NotFound when it is not theirs or already revoked."""
        with self.workspace.store.unit_of_work() as uow:
            mine = {t.id for t in uow.accounts.tokens(person_id) if t.active}
            if token_id not in mine or not uow.accounts.revoke_token(
                token_id, self.workspace.clock.now()
            ):
                raise NotFound(
                    f"{person_id} has no active token '{token_id}'. List them with "
                    f"`driftplan users tokens {person_id}`.",
                    sv=f"{person_id} har ingen aktiv nyckel '{token_id}'. Lista dem med "
                    f"`driftplan users tokens {person_id}`.",
                )
            uow.commit()

    def token_person(self, secret: str) -> str:
        """The person an API token belongs to; NotAuthenticated when unknown or revoked."""
        with self.workspace.store.unit_of_work(read_only=True) as uow:
            token = uow.accounts.token_by_hash(secret_hash(secret))
            if (
                token is None
                or not token.active
                # A person removed from the directory can no longer act, token or not.
                or token.person_id not in self.workspace.directory(uow).people
            ):
                raise NotAuthenticated(
                    "The API token is unknown or revoked. Make a new one with "
                    "`driftplan users token PERSON`.",
                    sv="API-nyckeln är okänd eller återkallad. Skapa en ny med "
                    "`driftplan users token PERSON`.",
                )
            return token.person_id

    # ------------------------------------------------------------------ administration
    def _grants(self, person_id: str) -> tuple[Actor, dict[str, frozenset[str]], frozenset[str]]:
        """The person, the roles the current plan grants each permission, and the roles the
        person acts with (their own and those they deputise for)."""
        with self.workspace.store.unit_of_work(read_only=True) as uow:
            actor = self.workspace.actor(uow, person_id)
        try:
            definition = self.workspace.plans.current(None)
        except DriftplanError:
            # No valid plan: nobody is an administrator (`validate` says what is wrong).
            return actor, dict.fromkeys(PERMISSIONS, frozenset()), frozenset()
        roles = definition.workflow.roles
        granted = {p: frozenset(n for n, r in roles.items() if p in r.may) for p in PERMISSIONS}
        return actor, granted, evaluator_for(definition).effective_roles(actor)

    def authorize(self, person_id: str, permission: str) -> Actor:
        """The person, when the current plan grants one of their roles `permission` (through
        `may:`); NotAuthorized naming the roles that have it otherwise."""
        action, action_sv = PERMISSIONS[permission]
        actor, granted, held = self._grants(person_id)
        if not held & granted[permission]:
            log.warning("refused %s to %r: no role with may: [%s]", action, person_id, permission)
            raise NotAuthorized(
                actor.name or actor.id,
                action,
                granted[permission],
                f"The plan grants it to roles with `may: [{permission}]`.",
                action_sv=action_sv,
                detail_sv=f"Planen ger det till roller med `may: [{permission}]`.",
            )
        return actor

    def permissions(self, person_id: str) -> frozenset[str]:
        """The administration permissions the person holds (none when they are not in the
        directory), without logging: pages ask it to show or hide the way to /admin."""
        try:
            _, granted, held = self._grants(person_id)
        except NotFound:
            return frozenset()
        return frozenset(p for p, roles in granted.items() if held & roles)

    def may(self, person_id: str, permission: str) -> bool:
        """Whether `authorize` would let the person (no log)."""
        return permission in self.permissions(person_id)

    def set_password_as(self, actor_id: str, person_id: str, password: str) -> None:
        """`set_password` by an administrator (`manage_users`)."""
        self.authorize(actor_id, "manage_users")
        self.set_password(person_id, password)
        log.info("%s set the password of %s", actor_id, person_id)

    def create_token_as(self, actor_id: str, person_id: str, name: str = "") -> NewToken:
        """`create_token` by an administrator (`manage_users`)."""
        self.authorize(actor_id, "manage_users")
        made = self.create_token(person_id, name)
        log.info("%s made API token %s for %s", actor_id, made.token.id, person_id)
        return made

    def tokens_as(self, actor_id: str, person_id: str) -> list[ApiToken]:
        """`tokens` for an administrator (`manage_users`)."""
        self.authorize(actor_id, "manage_users")
        return self.tokens(person_id)

    def revoke_token_as(self, actor_id: str, person_id: str, token_id: str) -> None:
        """`revoke_token` by an administrator (`manage_users`)."""
        self.authorize(actor_id, "manage_users")
        self.revoke_token(person_id, token_id)
        log.info("%s revoked API token %s of %s", actor_id, token_id, person_id)
