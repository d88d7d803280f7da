"""The API's request bodies (pydantic): unknown fields are refused, so a typo is a 422 that
names the field instead of a silently ignored value."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


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
