"""The API's request bodies (pydantic): unknown fields are refused, so a typo is a 422 that
names the field instead of a silently ignored value. Also the OpenAPI description of the
paging header that list responses carry."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# A paged list's next page (RFC 8288), as OpenAPI describes a response header.
LINK_HEADER: dict[str, Any] = {
    "description": "The next page, when there is one: `</api/v1/incidents?...&cursor=...>; "
    'rel="next"`. Absent on the last page.',
    "schema": {"type": "string"},
}


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DeclareBody(Body):
    """Declare an incident through the plan's initial transition."""

    workflow: str | None = Field(None, description="The plan's name; the default plan if unset.")
    data: dict[str, Any] = Field(default_factory=dict, description="The plan's fields.")


class FireBody(Body):
    """Fire a trigger on an incident."""

    trigger: str = Field(min_length=1, max_length=200)
    data: dict[str, Any] = Field(default_factory=dict)


class PreviewBody(Body):
    """What a trigger would send, without sending or changing anything."""

    trigger: str = Field(min_length=1, max_length=200)
    data: dict[str, Any] = Field(default_factory=dict)


class DecisionBody(Body):
    """A decision on an approval request (or a phone decision recorded on someone's behalf)."""

    decision: Literal["approve", "reject"]
    comment: str = Field("", max_length=4000)
    on_behalf_of: str | None = Field(None, max_length=200)
    reference: str | None = Field(None, max_length=1000)


class NoteBody(Body):
    """An operator's note for the incident's log; nothing is sent and the state stays."""

    text: str = Field(
        min_length=1, max_length=10_000, description="What was noted; stored verbatim."
    )


class ReportBody(Body):
    """An organisation's report received by mail or phone, for the incident's log; nothing is
    sent and the state stays."""

    organisation: str = Field(min_length=1, max_length=300, description="Who reported.")
    text: str = Field(
        min_length=1, max_length=10_000, description="What was reported; stored verbatim."
    )
    contact: str | None = Field(
        None, max_length=300, description="The contact: name, phone, e-mail."
    )
    subregion: str | None = Field(
        None, max_length=200, description="One of the plan's sub-regions (its id)."
    )
    via: Literal["phone", "email"] | None = Field(None, description="How the report came in.")


class ChangedField(BaseModel):
    """A field an event set: its value before (null when it had none) and after."""

    field: str
    old: Any = None
    new: Any = None


class TimelineEvent(BaseModel):
    """One event of an incident's log, as `GET /incidents/{id}/events` lists it."""

    # Keys the log may gain later pass through: the log's JSON only ever grows.
    model_config = ConfigDict(extra="allow")

    seq: int
    at: str = Field(description="UTC, ISO 8601.")
    actor: str = Field(description="The person id (or `system`, `dispatcher`).")
    kind: str = Field(description="declare, transition, update, decision, note, report, ...")
    trigger: str | None
    from_state: str | None
    to_state: str | None
    data: dict[str, Any] = Field(
        description="The event's data as hashed; a note has `text`, a report also "
        "`organisation` and optionally `contact`, `subregion` and `via`."
    )
    hash: str
    actor_name: str | None = Field(description="The actor's name in the directory.")
    on_behalf_of: str | None = Field(description="A phone decision's decider.")
    text: str | None = Field(description="People's words: a note's text, a comment.")
    reference: str | None = Field(description="A phone decision's reference.")
    changed: list[ChangedField] = Field(description="The fields this event set.")
