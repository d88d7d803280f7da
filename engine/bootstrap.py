"""The one composition root: build the application from settings, with overridable parts."""

from __future__ import annotations

import os
from dataclasses import dataclass

from engine.ports import Clock, SystemClock
from engine.service.commands import Service
from engine.service.plans import PlanLibrary
from engine.settings import Settings
from engine.store import Database
from engine.store.audit import audit_key


def _known_kinds() -> list[str] | None:
    try:
        from channels.registry import known_kind_names  # noqa: PLC0415  (optional at start-up)
    except ImportError:
        return None
    return list(known_kind_names())


@dataclass
class App:
    """Everything a command or the web layer needs, wired."""

    settings: Settings
    database: Database
    plans: PlanLibrary
    service: Service
    clock: Clock
    audit_key: bytes


def build(settings: Settings, *, clock: Clock | None = None, migrate: bool = True) -> App:
    """Wire the app; creates the data folder and migrates the database unless told not to."""
    # The data folder holds personal data (names, phone numbers) and the audit key.
    settings.data.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = audit_key(settings.data, dict(os.environ))
    database = Database(settings.database(), audit_key=key)
    if migrate:
        database.migrate()
    sqlite_file = settings.data / "driftplan.db"
    if not settings.database_url and sqlite_file.exists():
        sqlite_file.chmod(0o600)
    plans = PlanLibrary(settings.workflows, known_kinds=_known_kinds())
    clock = clock or SystemClock()
    service = Service(database=database, plans=plans, clock=clock, public_url=settings.public_url)
    return App(settings, database, plans, service, clock, key)
