"""Every exception driftplan raises on purpose, in one tree.

::

    DriftplanError                      base; `str(err)` is a complete, user-facing sentence
    ├── DefinitionError                 a plan file is malformed or inconsistent (has `problems`)
    ├── ConfigurationError              settings or environment are missing / wrong
    ├── DirectoryError                  the people/roles directory file is invalid
    ├── CommandError                    a command on an incident was refused
    │   ├── TransitionNotAllowed        the trigger does not apply in the current state
    │   ├── UnknownTrigger              the plan has no such trigger
    │   ├── NotAuthorized               the actor lacks a role the plan asks for
    │   ├── MissingField                required incident data is absent
    │   ├── InvalidField                incident data has the wrong type / unknown key
    │   ├── ConditionFailed             a transition's condition does not hold
    │   └── ApprovalError               an approval cannot be decided (expired, decided, ...)
    ├── MessageError                    a message cannot be rendered (grundmall content missing)
    ├── NotFound                        an incident, approval, person or message does not exist
    ├── NotAuthenticated                no, wrong or expired credentials (web sign-in, token)
    ├── LinkRefused                     a decision link is expired, used, altered or not yours
    ├── Conflict                        a concurrent command won the race; retry on fresh state
    └── DeliveryError                   a channel could not deliver (raised by channels)
        ├── TemporaryDeliveryError      retry later (4xx, timeout, refused connection)
        └── PermanentDeliveryError      never retry (5xx, invalid address): a dead letter

The CLI maps these to exit codes and the web layer to HTTP statuses, each in exactly one place.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class DriftplanError(Exception):
    """Base of every deliberate driftplan error.

    `str(err)` is English (logs, the API); `err.text("sv")` is what a Swedish-speaking operator
    reads when the raiser gave a Swedish wording (`sv=`), else the English one.
    """

    def __init__(self, *args: object, sv: str | None = None) -> None:
        super().__init__(*args)
        self.sv = sv

    @property
    def sv(self) -> str | None:
        """The Swedish wording: the raiser's, else one found by the English sentence's shape
        (`engine.texts.errors`), else None."""
        if self._sv:
            return self._sv
        # Imported here: the text catalogue is a leaf package, but this module is imported by
        # every layer, and a late import keeps it free of any import order.
        from engine.texts.errors import swedish  # noqa: PLC0415

        return swedish(str(self))

    @sv.setter
    def sv(self, value: str | None) -> None:
        self._sv = value

    def text(self, language: str) -> str:
        """The message in `language` ("sv" or "en"), falling back to English."""
        if language == "sv":
            return self.sv or str(self)
        return str(self)


@dataclass(frozen=True)
class Problem:
    """One finding of the plan checker: where it is, how bad it is, and what to do."""

    path: str
    line: int
    column: int
    message: str
    severity: str = "error"  # "error" or "warning"
    location: str = ""  # the dotted place in the plan, e.g. "states.outage.on_enter[0]"

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.severity}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        """The JSON shape of `driftplan validate --json`."""
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "severity": self.severity,
            "location": self.location,
            "message": self.message,
        }


class DefinitionError(DriftplanError):
    """A plan cannot be used; `problems` lists every error found (warnings excluded)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems) or "invalid plan")

    @classmethod
    def single(cls, path: str, line: int, column: int, message: str) -> DefinitionError:
        """Shortcut for an error found before the plan could be parsed at all."""
        return cls([Problem(path, line, column, message)])


class ConfigurationError(DriftplanError):
    """Settings or environment variables are missing or invalid."""


class DirectoryError(DriftplanError):
    """The directory of people, roles and contact lists is invalid."""


class CommandError(DriftplanError):
    """A command on an incident was refused; nothing was changed."""


def _choices(values: Iterable[str]) -> str:
    listed = sorted(values)
    return ", ".join(listed) if listed else "(none)"


class UnknownTrigger(CommandError):
    """The plan has no trigger of this name."""

    def __init__(self, trigger: str, known: Iterable[str]) -> None:
        self.trigger = trigger
        super().__init__(
            f"Unknown trigger '{trigger}'. Known triggers: {_choices(known)}.",
            sv=f"Okänd åtgärd '{trigger}'. Kända åtgärder: {_choices(known)}.",
        )


class TransitionNotAllowed(CommandError):
    """The trigger exists but does not apply in the incident's current state."""

    def __init__(self, trigger: str, state: str, available: Iterable[str]) -> None:
        self.trigger = trigger
        self.state = state
        possible = _choices(available)
        super().__init__(
            f"'{trigger}' is not possible in state '{state}'. Possible now: {possible}.",
            sv=f"'{trigger}' går inte i läget '{state}'. Möjligt nu: {possible}.",
        )


class NotAuthorized(CommandError):
    """The actor does not hold a role that the plan requires for this action."""

    def __init__(
        self,
        actor: str,
        action: str,
        allowed: Iterable[str],
        detail: str = "",
        *,
        action_sv: str = "",
        detail_sv: str = "",
    ) -> None:
        self.actor = actor
        self.action = action
        self.allowed = sorted(allowed)
        roles = _choices(self.allowed)
        extra = f" {detail}" if detail else ""
        extra_sv = f" {detail_sv or detail}" if (detail_sv or detail) else ""
        super().__init__(
            f"{actor} may not {action}.{extra} Allowed roles: {roles}.",
            sv=f"{actor} får inte {action_sv or action}.{extra_sv} Tillåtna roller: {roles}.",
        )


class MissingField(CommandError):
    """Required incident data is absent."""

    def __init__(self, fields: Iterable[str], action: str) -> None:
        self.fields = sorted(fields)
        names = ", ".join(self.fields)
        hint = " ".join(f"--set {f}=..." for f in self.fields)
        super().__init__(
            f"{action} needs {names}: set {hint}.",
            sv=f"{action} kräver {names}: ange {hint}.",
        )


class InvalidField(CommandError):
    """Incident data has an unknown key or a value of the wrong type."""

    def __init__(self, field: str, detail: str, *, detail_sv: str = "") -> None:
        self.field = field
        super().__init__(
            f"Field '{field}': {detail}", sv=f"Uppgiften '{field}': {detail_sv or detail}"
        )


class ConditionFailed(CommandError):
    """A transition's condition over the incident's data does not hold."""

    def __init__(self, trigger: str, explanation: str) -> None:
        self.trigger = trigger
        super().__init__(
            f"'{trigger}' is not possible: {explanation}.",
            sv=f"'{trigger}' går inte: villkoret är inte uppfyllt ({explanation}).",
        )


class ApprovalError(CommandError):
    """An approval request cannot be decided now (already decided, expired, not eligible)."""


class MessageError(DriftplanError):
    """A message cannot be rendered; nothing was sent or committed."""


class NotFound(DriftplanError):
    """The named object does not exist."""


class NotAuthenticated(DriftplanError):
    """No credentials, or credentials that do not hold (the web layer answers 401)."""


class LinkRefused(DriftplanError):
    """A decision link cannot be used; `reason` is one of REASONS (the page explains it)."""

    REASONS = ("altered", "expired", "used", "closed", "someone_else")

    def __init__(self, reason: str, message: str, *, sv: str) -> None:
        assert reason in self.REASONS
        self.reason = reason
        super().__init__(message, sv=sv)


class Conflict(DriftplanError):
    """Another command changed the incident first; nothing was changed by this one."""


class DeliveryError(DriftplanError):
    """A channel could not deliver a message."""


class TemporaryDeliveryError(DeliveryError):
    """Delivery failed in a way that may succeed later; the dispatcher retries."""


class PermanentDeliveryError(DeliveryError):
    """Delivery can never succeed as addressed; the message becomes a dead letter."""
