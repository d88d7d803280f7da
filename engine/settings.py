"""Installation settings, from the environment (DRIFTPLAN_*) and command-line overrides.

Nothing is read at import time: `Settings.load()` reads the environment when a command starts,
so tests and the exercise runner can point one process at several data directories.
"""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where data lives, which database and plans to use, and how to talk to people."""

    model_config = SettingsConfigDict(env_prefix="DRIFTPLAN_", extra="ignore")

    data: Path = Path("driftplan-data")
    database_url: str | None = None
    workflows: Path = Path("workflows")
    lang: str = "sv"
    public_url: str = ""

    @classmethod
    def load(cls, **overrides: object) -> Settings:
        """Read the environment now, then apply the non-None overrides (e.g. --data)."""
        values = {k: v for k, v in overrides.items() if v is not None}
        return cls(**values)  # type: ignore[arg-type]

    def database(self) -> str:
        """The SQLAlchemy URL: DRIFTPLAN_DATABASE_URL, else SQLite in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data / 'driftplan.db').resolve()}"
