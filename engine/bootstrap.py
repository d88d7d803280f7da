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
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from engine.errors import ConfigurationError
from engine.plan_context import default_channels, path_roots
from engine.ports import ChannelKinds, Clock, SystemClock
from engine.ports.wakeup import Wakeups
from engine.service.facade import Service
from engine.service.link_signer import LinkSigner
from engine.service.plans import PlanLibrary
from engine.service.recorder import Recorder
from engine.service.workspace import Workspace
from engine.settings import Settings

__all__ = ["App", "build", "default_channels", "doctor", "link_key", "path_roots"]

if TYPE_CHECKING:
    from engine.scheduler.alarm import AlarmClock
    from engine.service.anchors import Anchors
    from engine.service.confirmation_mail import ConfirmationMail
    from engine.service.delivery import Dispatcher, DispatchPolicy
    from engine.service.doctor import DoctorProblem
    from engine.service.timers import TimerRunner
    from engine.store import Database

# The store (SQLAlchemy, the drivers, the migrations) is imported by the functions that open a
# database, not with this module, so that commands without a database start without it
# (issue #13, tests/unit/test_cli_startup.py). So are the parts of the service that only some
# processes use: the dispatcher, the timer runner and the anchors (the worker, `outbox
# deliver`, the web's files), the confirmation mail and the doctor; an App builds each on first
# use (`App.dispatcher`, ...), and a command such as `incident fire` imports none of them.
# `default_channels` and `path_roots` are engine.plan_context's, re-exported here for the code
# that wires an App.

T = TypeVar("T")


@dataclass
class App:
    """Everything a command, the worker or the web layer needs, wired.

    `dispatcher`, `timers` and `anchors` are built when first used, once (threads of the web
    service or the worker that ask together get the same one)."""

    settings: Settings
    database: Database
    plans: PlanLibrary
    service: Service
    clock: Clock
    audit_key: bytes
    channels: ChannelKinds
    workspace: Workspace
    recorder: Recorder
    # What the dispatcher is built with (see `build`).
    channel_environ: Mapping[str, str]
    dispatch_policy: DispatchPolicy | None = None
    _parts: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    _parts_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def _part(self, name: str, make: Callable[[], T]) -> T:
        found = self._parts.get(name)
        if found is None:
            with self._parts_lock:
                found = self._parts.get(name)
                if found is None:
                    found = self._parts[name] = make()
        part: T = found
        return part

    @property
    def dispatcher(self) -> Dispatcher:
        """Delivers the outbox through this installation's channels."""
        return self._part("dispatcher", self._dispatcher)

    def _dispatcher(self) -> Dispatcher:
        from engine.service.delivery import Dispatcher  # noqa: PLC0415 (see the imports)

        return Dispatcher(
            database=self.database,
            plans=self.plans,
            clock=self.clock,
            channels=self.channels,
            data_dir=str(self.settings.data),
            environ=self.channel_environ,
            public_url=self.settings.public_url,
            policy=self.dispatch_policy,
        )

    @property
    def timers(self) -> TimerRunner:
        """Fires due timers."""
        return self._part("timers", self._timers)

    def _timers(self) -> TimerRunner:
        from engine.service.timers import TimerRunner  # noqa: PLC0415 (see the imports)

        return TimerRunner(self.workspace, self.recorder, self.service.gates)

    @property
    def anchors(self) -> Anchors:
        """Sends the audit chain's head off the machine."""
        return self._part("anchors", self._anchors)

    def _anchors(self) -> Anchors:
        from engine.service.anchors import Anchors  # noqa: PLC0415 (see the imports)

        return Anchors(
            self.workspace,
            head=self.database.chain_head,
            installation=installation(self.settings),
        )

    def confirmation_mail(self) -> ConfirmationMail:
        """The double opt-in mail, sent with the same channels and settings as deliveries."""
        from engine.service.confirmation_mail import ConfirmationMail  # noqa: PLC0415

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
        """Close the dispatcher's channel connections (if it was built) and the database pool."""
        dispatcher = self._parts.get("dispatcher")
        if dispatcher is not None:
            dispatcher.close()
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
        known_kinds=KindNames(kinds),
        declarations=kinds.declarations(),
        roots=path_roots(settings),
        parsed=settings.data / "parsed-plans",
    )
    clock = clock or SystemClock()
    workspace = Workspace(
        store=database, plans=plans, clock=clock, public_url=settings.public_url, origin=origin
    )
    signer = LinkSigner(link_key(key), settings.public_url)
    recorder = Recorder(public_url=settings.public_url, links=signer)
    service = Service(workspace, recorder, signer)
    return App(
        settings,
        database,
        plans,
        service,
        clock,
        key,
        kinds,
        workspace,
        recorder,
        channel_environ=environ if channel_environ is None else channel_environ,
        dispatch_policy=dispatch_policy,
    )


class KindNames(Iterable[str]):
    """The names of `kinds`, listed when iterated: the plan library asks only when it checks
    a plan file, so a command on a running incident (its pinned plan) skips the entry-point
    scan that lists the plugins (issue #13)."""

    def __init__(self, kinds: ChannelKinds) -> None:
        self._kinds = kinds

    def __iter__(self) -> Iterator[str]:
        return iter(self._kinds.names())


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
    from engine.service.doctor import Installation, examine  # noqa: PLC0415 (see the imports)
    from engine.store import Database  # noqa: PLC0415
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
                known_kinds=KindNames(kinds),
                declarations=kinds.declarations(),
                roots=path_roots(settings),
            ),
            schema=schema,
            schema_error=error,
        )
    )
