"""The plan language as a pydantic v2 schema: the shape of every key a plan file may hold.

This module checks each value in isolation (types, formats, which keys exist). Whether the
pieces fit together — do states, roles and templates referenced actually exist, can every state
be reached — is `checks.py`'s job, because those errors need the whole plan to explain.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from engine.definition.schema_base import (
    NAME_HELP,
    NAME_RE,
    Duration,
    Name,
    Names,
    Sources,
    Strict,
    Text,
    empty_dict,
    empty_list,
    localized,
)
from engine.definition.schema_conditions import COMPARISONS, Condition
from engine.definition.severity import Severity

__all__ = [
    "COMPARISONS",
    "NAME_HELP",
    "NAME_RE",
    "Condition",
    "Duration",
    "Name",
    "Names",
    "Sources",
    "Strict",
    "Text",
    "localized",
]


class Document(Strict):
    name: Name
    version: int | str
    title: Text
    language: str = "sv"
    languages: list[str] = Field(default_factory=lambda: ["sv", "en"])
    timezone: str = "Europe/Stockholm"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown timezone {value!r}; use an IANA name such as Europe/Stockholm"
            ) from None
        return value


class Service(Strict):
    name: str
    description: Text
    inbound_mailbox: str | None = None
    url: str | None = None

    @field_validator("inbound_mailbox")
    @classmethod
    def _mailbox(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", value):
            raise ValueError(f"{value!r} is not an e-mail address")
        return value


class Role(Strict):
    title: Text
    description: Text | None = None
    deputy_of: Name | None = None
    scope: Literal["subregion"] | None = None
    # What a role may do besides the plan's triggers. Roles that may fire a trigger may do
    # these already; `may` grants them to roles that fire none (an administrator).
    may: list[Literal["retry_deliveries", "manage_directory", "manage_users"]] = Field(
        default_factory=empty_list
    )


class Subregion(Strict):
    title: Text


FieldType = Literal["text", "datetime", "duration", "choice", "multichoice", "bool", "int"]


class FieldDef(Strict):
    type: FieldType
    required: bool = False
    title: Text | None = None
    help: Text | None = None
    choices: list[str] | None = None
    choices_from: Literal["subregions"] | None = None
    unknown_allowed: bool = False  # datetime only: "unknown"/"okänd" is a valid value

    @model_validator(mode="after")
    def _choices_fit_type(self) -> FieldDef:
        has_choices = self.choices is not None or self.choices_from is not None
        if self.type in ("choice", "multichoice") and not has_choices:
            raise ValueError(f"a {self.type} field needs `choices` or `choices_from`")
        if self.type not in ("choice", "multichoice") and has_choices:
            raise ValueError(f"a {self.type} field takes no choices")
        if self.unknown_allowed and self.type != "datetime":
            raise ValueError("`unknown_allowed` applies to datetime fields only")
        return self


class Audience(Strict):
    title: Text
    description: Text | None = None
    roles: Names = Field(default_factory=empty_list)  # people in the directory with these roles
    lists: Names = Field(default_factory=empty_list)  # contact lists in the directory
    subscribers: bool = False  # newsletter subscribers of this audience


class ChannelDef(Strict):
    kind: Name
    title: Text | None = None
    audience: Name | None = None  # default audience when a notify names none
    settings: dict[str, str] = Field(default_factory=empty_dict)


class TemplateDef(Strict):
    subject: Text | None = None
    body: Text | None = None
    file: Text | None = None  # path per language, relative to the plan file
    requires: list[str] = Field(default_factory=empty_list)

    @model_validator(mode="after")
    def _has_source(self) -> TemplateDef:
        if self.file is None and self.body is None:
            raise ValueError("a template needs `body` (inline) or `file`")
        if self.file is not None and self.body is not None:
            raise ValueError("a template takes `body` or `file`, not both")
        return self


class MeetingSpec(Strict):
    title: Text
    starts_in: Duration = timedelta(minutes=30)  # when `starts_at` names no field or it is empty
    duration: Duration = timedelta(hours=1)
    # Fields of the incident that give the meeting per incident (checks/meetings.py checks their
    # types): its start (a datetime field) and its link or phone-conference details (a text
    # field). Empty in an incident: `starts_in` from now, and the channel's `meeting_location`.
    starts_at: Name | None = None
    location: Name | None = None


class Notify(Strict):
    template: Name
    channels: Names
    # One audience or several (`audience: [a, b]`): per channel everyone in any of them, each
    # address once. Empty: each channel's default audience.
    audience: Names = Field(default_factory=empty_list)
    roles: Names = Field(default_factory=empty_list)  # send to people with these roles instead
    to_approvers: bool = False  # gate reminders: the eligible approvers of the request
    to_requester: bool = False  # gate messages: also the person who made the request
    meeting: MeetingSpec | None = None
    clear: bool = False  # withdraw the current notice (banner) instead of publishing one
    carried: bool = False  # only those of `channels` that carried this incident's messages
    severity: Severity | None = None  # how prominent (banner); default: the state's severity


class Action(Strict):
    notify: Notify


class TimerDef(Strict):
    id: Name
    title: Text | None = None
    after: Duration | None = None
    every: Duration | None = None
    at: Name | None = None  # a datetime field of the incident
    reset_on: Names = Field(default_factory=empty_list)
    notify: Notify | None = None
    fire: Name | None = None  # a trigger fired by the system when the timer falls due

    @model_validator(mode="after")
    def _one_kind(self) -> TimerDef:
        kinds = [k for k in ("after", "every", "at") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("a timer needs exactly one of `after`, `every` or `at`")
        if self.notify is None and self.fire is None:
            raise ValueError("a timer needs `notify`, `fire` or both")
        return self


class StateDef(Strict):
    title: Text
    description: Text | None = None
    final: bool = False
    audiences: Names = Field(default_factory=empty_list)
    responsible: Names = Field(default_factory=empty_list)  # roles responsible in this stage
    on_enter: list[Action] = Field(default_factory=empty_list)
    on_exit: list[Action] = Field(default_factory=empty_list)
    timers: list[TimerDef] = Field(default_factory=empty_list)
    severity: Severity | None = None  # of the notices sent in this stage (see severity.py)


class GateScope(Strict):
    field: Name  # a choice/multichoice field over the sub-regions
    mode: Literal["each", "any"] = "each"


class Reminder(Strict):
    after: Duration
    notify: Notify


class Gate(Strict):
    any_of: Names = Field(default_factory=empty_list)
    all_of: Names = Field(default_factory=empty_list)
    scope: GateScope | None = None
    remind: list[Reminder] = Field(default_factory=empty_list)
    expires: Duration | None = None
    recordable_by: Names = Field(default_factory=empty_list)
    title: Text | None = None
    notify: Notify | None = None  # sent to the approvers when a request is created
    apply: Literal["all", "per_slot"] = "all"  # per_slot: each approved slot takes effect alone
    join: Name | None = None  # per_slot: the trigger later slots apply once the state moved
    on_expire: Action | None = None  # who is told when a request expires undecided
    # Ask only the principal approvers first; their deputies (roles `deputy_of` one of them in
    # `any_of`) are asked too once this much time has passed undecided. A deputy who acts
    # before that still decides: the option is about whom the gate asks, not who may answer.
    escalate_to_deputy_after: Duration | None = None


class TransitionDef(Strict):
    trigger: Name
    title: Text | None = None
    description: Text | None = None
    initial: bool = False  # creates an incident; takes no source
    source: Sources | None = None  # a name, a list, or "*" (every non-final state)
    dest: Name | None = None
    internal: bool = False
    allowed: Names = Field(default_factory=empty_list)
    requires: Names = Field(default_factory=empty_list)
    accepts: Names | None = None  # fields this trigger may set; default: every field
    append: Names = Field(default_factory=empty_list)  # list fields whose new items are added
    flags: Names = Field(default_factory=empty_list)  # flags the incident carries afterwards
    conditions: Condition | None = None
    gate: Gate | None = None
    actions: list[Action] = Field(default_factory=empty_list)
    # Datetime fields set to the moment the transition happens, unless the command gives them
    # (`restore` stamps `resolved_at`); a stamp satisfies `requires`.
    stamps: Names = Field(default_factory=empty_list)

    @field_validator("source")
    @classmethod
    def _star_alone(cls, value: list[str] | None) -> list[str] | None:
        if value and "*" in value and len(value) > 1:
            raise ValueError("'*' already means every non-final state; list no others with it")
        return value

    @model_validator(mode="after")
    def _shape(self) -> TransitionDef:
        if self.initial and self.source is not None:
            raise ValueError("an `initial` transition creates the incident and takes no `source`")
        if not self.initial and self.source is None:
            raise ValueError("a transition needs `source` (a state, a list or '*')")
        if self.internal and self.dest is not None:
            raise ValueError("an `internal` transition stays in its state and takes no `dest`")
        if not self.internal and self.dest is None:
            raise ValueError("a transition needs `dest` unless it is `internal: true`")
        if self.initial and self.gate is not None:
            raise ValueError("an `initial` transition cannot have a gate")
        return self


class Rule(Strict):
    id: Name
    title: Text | None = None
    when: Condition
    fire: Name
    once: bool = True


class AuditAnchor(Strict):
    """Where the head of the audit chain is sent off the machine, and how often at least (it
    also goes out when an incident ends)."""

    channel: Name
    every: Duration = timedelta(days=1)


class Audit(Strict):
    anchor: AuditAnchor | None = None


class InboundReports(Strict):
    """Who hears of a report made on the public form (`/rapportera`): a message on each of
    `channels`, to `audience` (empty: each channel's own audience)."""

    channels: Names
    audience: Names = Field(default_factory=empty_list)


class Workflow(Strict):
    """A whole plan."""

    document: Document
    service: Service
    roles: dict[Name, Role]
    subregions: dict[Name, Subregion] = Field(default_factory=empty_dict)
    fields: dict[Name, FieldDef] = Field(default_factory=empty_dict)
    audiences: dict[Name, Audience] = Field(default_factory=empty_dict)
    channels: dict[Name, ChannelDef] = Field(default_factory=empty_dict)
    templates: dict[Name, TemplateDef] = Field(default_factory=empty_dict)
    states: dict[Name, StateDef]
    transitions: list[TransitionDef]
    rules: list[Rule] = Field(default_factory=empty_list)
    audit: Audit | None = None
    inbound_reports: InboundReports | None = None

    @field_validator("states", "roles")
    @classmethod
    def _not_empty(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not value:
            raise ValueError("must name at least one entry")
        return value
