"""The one composition root: everything a process needs, wired from settings.

The CLI, the worker, the exercise runner, the benchmarks and the tests get their objects from
`build`; nothing else constructs the store, the dispatcher or the timer runner, and nothing else
decides which channel kinds exist (they are injected into the dispatcher here). The
environment reaches the rest of the engine only through `Settings`.
"""

from __future__ import annotations

import hashlib
import hmac
import platform
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import ConfigurationError
from engine.plan_context import default_channels, path_roots
from engine.ports import ChannelKinds, Clock, SystemClock
from engine.ports.wakeup import Wakeups
from engine.service.anchors import Anchors
from engine.service.confirmation_mail import ConfirmationMail
from engine.service.delivery import Dispatcher, DispatchPolicy
from engine.service.doctor import DoctorProblem, Installation, examine
from engine.service.facade import Service
from engine.service.link_signer import LinkSigner
from engine.service.plans import PlanLibrary
from engine.service.recorder import Recorder
from engine.service.timers import TimerRunner
from engine.service.workspace import Workspace
from engine.settings import Settings

__all__ = ["App", "build", "default_channels", "doctor", "link_key", "path_roots"]

if TYPE_CHECKING:
    from engine.scheduler.alarm import AlarmClock
    from engine.store import Database

# The store (SQLAlchemy, the drivers, the migrations) is imported by the functions that open a
# database, not with this module, so that commands without a database start without it
# (issue #13, tests/unit/test_cli_startup.py). `default_channels` and `path_roots` are
# engine.plan_context's, re-exported here for the code that wires an App.


@dataclass
class App:
    """Everything a command, the worker or the web layer needs, wired."""

    settings: Settings
    database: Database
    plans: PlanLibrary
    service: Service
    clock: Clock
    audit_key: bytes
    channels: ChannelKinds
    dispatcher: Dispatcher
    timers: TimerRunner
    anchors: Anchors

    def confirmation_mail(self) -> ConfirmationMail:
        """The double opt-in mail, sent with the same channels and settings as deliveries."""
        return ConfirmationMail(
            channels=self.channels,
            environ=self.dispatcher.environ,
            data_dir=self.dispatcher.data_dir,
            public_url=self.settings.public_url,
        )

    def alarm_clock(
        self,
        *,
        sweep_seconds: float = 2.0,
        to_real: Callable[[datetime], datetime] | None = None,
    ) -> AlarmClock:
        """The APScheduler alarm clock behind this installation's leader lock.

        Built on demand: only the worker and the exercise runner need APScheduler, and
        importing it would cost every other command its start-up time.
        """
        from engine.scheduler.alarm import AlarmClock, LeaderLock  # noqa: PLC0415

        lock = LeaderLock(self.database, self.settings.data)
        return AlarmClock(
            self.timers,
            lock=lock,
            sweep_seconds=sweep_seconds,
            to_real=to_real,
            feed=self.database.timer_feed,
        )

    @property
    def wakeups(self) -> Wakeups:
        """Rings when a commit (here, or in another process while listening) left work."""
        return self.database.wakeups

    def close(self) -> None:
        """Close the dispatcher's channel connections and the database pool."""
        self.dispatcher.close()
        self.database.dispose()


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    migrate: bool = True,
    channels: ChannelKinds | None = None,
    dispatch_policy: DispatchPolicy | None = None,
    channel_environ: Mapping[str, str] | None = None,
    origin: Mapping[str, str] | None = None,
) -> App:
    """Wire the app; creates the data folder and migrates the database unless told not to.

    `channel_environ` replaces the environment the channels resolve `${NAME}` settings from
    (an exercise hides the real SMTP host, publish folder and secrets from its channels).
    `origin` is recorded beside the acting person in their events (the CLI passes the
    operating-system user and host, because `--as` is only a claim).
    """
    # The data folder holds personal data (names, phone numbers) and the audit key: private,
    # also when it existed before (mkdir's mode applies only to a folder it creates).
    settings.data.mkdir(parents=True, exist_ok=True, mode=0o700)
    _private(settings.data, 0o700)
    from engine.store import Database  # noqa: PLC0415 (see the imports)
    from engine.store.audit import audit_key  # noqa: PLC0415

    environ = settings.environ
    key = audit_key(settings.data, environ, settings.audit_key_file)
    database = Database(settings.database(), audit_key=key)
    if migrate:
        database.migrate()
    if not settings.database_url:
        for sqlite_file in _sqlite_files(settings.data):
            sqlite_file.chmod(0o600)
    kinds = channels or default_channels(settings.publish_root)
    plans = PlanLibrary(
        settings.workflows,
        known_kinds=kinds.names(),
        declarations=kinds.declarations(),
        roots=path_roots(settings),
    )
    clock = clock or SystemClock()
    workspace = Workspace(
        store=database, plans=plans, clock=clock, public_url=settings.public_url, origin=origin
    )
    signer = LinkSigner(link_key(key), settings.public_url)
    recorder = Recorder(public_url=settings.public_url, links=signer)
    service = Service(workspace, recorder, signer)
    dispatcher = Dispatcher(
        database=database,
        plans=plans,
        clock=clock,
        channels=kinds,
        data_dir=str(settings.data),
        environ=environ if channel_environ is None else channel_environ,
        public_url=settings.public_url,
        policy=dispatch_policy,
    )
    timers = TimerRunner(workspace, recorder, service.gates)
    anchors = Anchors(workspace, head=database.chain_head, installation=installation(settings))
    return App(settings, database, plans, service, clock, key, kinds, dispatcher, timers, anchors)


def link_key(audit_key: bytes) -> bytes:
    """The key that signs decision links and sessions' CSRF, derived from the installation key.

    One secret to keep (and keep away from the data) instead of two; the derivation gives each
    purpose its own key, so a signed link is never a valid audit signature or the reverse.
    """
    return hmac.new(audit_key, b"driftplan/web-links/v1", hashlib.sha256).digest()


def installation(settings: Settings) -> str:
    """How an anchor names this installation: its public URL, else host and data folder."""
    return settings.public_url or f"{platform.node()}:{settings.data.resolve()}"


def _private(folder: Path, mode: int) -> None:
    try:
        folder.chmod(mode)
    except OSError as error:
        raise ConfigurationError(
            f"The data folder {folder} cannot be made private (mode {mode:o}): {error}. "
            "Use a folder owned by the user driftplan runs as.",
            sv=f"Datamappen {folder} kan inte göras privat (läge {mode:o}): {error}. Använd "
            "en mapp som ägs av användaren som kör driftplan.",
        ) from error


def _sqlite_files(data: Path) -> list[Path]:
    """The default SQLite database and its WAL files, those that exist."""
    names = ("driftplan.db", "driftplan.db-wal", "driftplan.db-shm")
    return [data / name for name in names if (data / name).exists()]


def doctor(settings: Settings, *, channels: ChannelKinds | None = None) -> list[DoctorProblem]:
    """What is unsafe about this installation (`engine.service.doctor`), changing nothing: no
    folder, key or database file is created and nothing is migrated."""
    from engine.store import Database  # noqa: PLC0415 (see the imports)
    from engine.store.audit import key_source  # noqa: PLC0415
    from engine.store.database import HEAD_REVISION  # noqa: PLC0415

    sqlite_files = [] if settings.database_url else _sqlite_files(settings.data)
    schema: tuple[str | None, str] | None = (None, HEAD_REVISION)
    error = ""
    if settings.database_url or sqlite_files:  # connecting would create a missing SQLite file
        database = Database(settings.database())
        try:
            status = database.schema_status()
            schema = (status.current, status.head)
        except Exception as exc:  # an unreachable database is a finding, not a crash
            schema, error = None, f"{type(exc).__name__}: {exc}"
        finally:
            database.dispose()
    source = key_source(settings.data, settings.environ, settings.audit_key_file)
    kinds = channels or default_channels(settings.publish_root)
    return examine(
        Installation(
            data_dir=settings.data,
            key_kind=source.kind,
            key_path=source.path,
            database_files=tuple(sqlite_files),
            public_url=settings.public_url,
            plans=PlanLibrary(
                settings.workflows,
                known_kinds=kinds.names(),
                declarations=kinds.declarations(),
                roots=path_roots(settings),
            ),
            schema=schema,
            schema_error=error,
        )
    )
