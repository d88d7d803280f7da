"""The plan language's conditions: `all` / `any` / `not` over tests on one field or flag.

They live apart from `schema.py` because they are their own small language, read by the
checker (`checks/`) and evaluated by `engine.domain.conditions`."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, model_validator

from engine.definition.schema_base import Name, Strict

COMPARISONS = (
    "equals",
    "not_equals",
    "in",
    "contains",
    "min_items",
    "max_items",
    "before",
    "after",
    "is_set",
)


class Condition(Strict):
    """A structured condition: `all` / `any` / `not`, or one test on a field or flag."""

    all: list[Condition] | None = None
    any: list[Condition] | None = None
    not_: Condition | None = Field(default=None, alias="not")
    field: Name | None = None
    flag: Name | None = None
    equals: Any = None
    not_equals: Any = None
    in_: list[Any] | None = Field(default=None, alias="in")
    contains: Any = None
    min_items: int | None = None
    max_items: int | None = None
    before: Name | None = None  # another datetime field, or "now"
    after: Name | None = None
    is_set: bool | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_form(self) -> Condition:
        combinators = [k for k in ("all", "any", "not_") if getattr(self, k) is not None]
        tests = [k for k in self.model_fields_set if k.rstrip("_") in COMPARISONS]
        if len(combinators) > 1:
            raise ValueError("use one of all / any / not per condition; nest them to combine")
        if combinators and (self.field or self.flag or tests):
            raise ValueError("a condition is either all / any / not, or a test on one field")
        if not combinators:
            if self.flag is not None:
                if self.field is not None or tests:
                    raise ValueError("a `flag` condition takes no field or comparison")
                return self
            if self.field is None:
                raise ValueError("a condition needs all / any / not, `field` or `flag`")
            if len(tests) != 1:
                raise ValueError(
                    f"a field condition needs exactly one comparison of {', '.join(COMPARISONS)}"
                )
        return self

    @property
    def comparison(self) -> tuple[str, Any]:
        """The (operator, operand) of a field test."""
        for key in self.model_fields_set:
            name = key.rstrip("_")
            if name in COMPARISONS:
                return name, getattr(self, key)
        raise ValueError("not a field test")
