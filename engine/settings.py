"""Installation settings, from the environment (DRIFTPLAN_*) and command-line overrides.

This is the only module that reads the process environment. Nothing is read at import time:
`Settings.load()` (or constructing `Settings`) reads it when a command starts, so tests and the
exercise runner can point one process at several data directories. The snapshot it takes
(`environ`) is what channels resolve `${NAME}` settings from and where the audit key may come
from, so every other module gets the environment handed to it, never reads it.

The reader is this module's own, not pydantic-settings (whose import alone cost every command
about 100 ms, issue #13). It keeps that library's rules for these fields: each field `name` is
read from `DRIFTPLAN_<NAME>` (the name matched case-insensitively), values given to the
constructor win over the environment (an explicit None included), unknown variables and
arguments are ignored, and the values are validated by pydantic, so an invalid one raises the
same `pydantic.ValidationError` naming the field as before.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr

PREFIX = "DRIFTPLAN_"


class Settings(BaseModel):
    """Where data lives, which database and plans to use, and how to talk to people."""

    model_config = ConfigDict(extra="ignore", validate_default=True)

    data: Path = Path("driftplan-data")
    database_url: str | None = None
    workflows: Path = Path("workflows")
    lang: str = "sv"
    public_url: str = ""
    # Where channels may publish besides the data folder (DRIFTPLAN_PUBLISH_ROOT); when unset,
    # the operator's DRIFTPLAN_PUBLISH_DIR is that root. Plans cannot widen it.
    publish_root: Path | None = None
    # The audit key: DRIFTPLAN_AUDIT_KEY (read from `environ`, a secret kept out of the model)
    # or this file (DRIFTPLAN_AUDIT_KEY_FILE), outside the data folder in production.
    audit_key_file: Path | None = None
    # The worker's safety-net polls (DRIFTPLAN_POLL_SECONDS, DRIFTPLAN_SWEEP_SECONDS): commits
    # wake it at once, these catch what a wake-up missed. None: the command's own default.
    poll_seconds: float | None = None
    sweep_seconds: float | None = None

    _environ: dict[str, str] = PrivateAttr(default_factory=dict)

    def __init__(self, **values: Any) -> None:
        # Taken once, with the settings, so a command sees one consistent environment throughout.
        environ = dict(os.environ)
        super().__init__(**(from_environment(environ) | values))
        self._environ = environ
        if self.publish_root is None and environ.get("DRIFTPLAN_PUBLISH_DIR"):
            self.publish_root = Path(environ["DRIFTPLAN_PUBLISH_DIR"])

    @classmethod
    def load(cls, **overrides: object) -> Settings:
        """Read the environment now, then apply the non-None overrides (e.g. --data)."""
        return cls(**{k: v for k, v in overrides.items() if v is not None})

    @property
    def environ(self) -> dict[str, str]:
        """The process environment as it was when these settings were read (a copy)."""
        return dict(self._environ)

    def with_environ(self, environ: dict[str, str]) -> Settings:
        """A copy whose channels see `environ` instead (an exercise hides real recipients)."""
        copy = self.model_copy()
        copy._environ = dict(environ)
        return copy

    def database(self) -> str:
        """The SQLAlchemy URL: DRIFTPLAN_DATABASE_URL, else SQLite in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data / 'driftplan.db').resolve()}"


def variable(field: str) -> str:
    """The environment variable a settings field is read from, e.g. DRIFTPLAN_POLL_SECONDS."""
    return PREFIX + field.upper()


def from_environment(environ: dict[str, str]) -> dict[str, str]:
    """The raw values of the settings fields found in `environ`, by field name (unvalidated).

    Names are matched without regard to case, as pydantic-settings did; should two spellings
    of one name both be set, the later one in `environ` wins, as it did there.
    """
    lowered = {name.lower(): value for name, value in environ.items()}
    found = {}
    for field in Settings.model_fields:
        value = lowered.get(variable(field).lower())
        if value is not None:
            found[field] = value
    return found
