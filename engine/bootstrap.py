"""The one composition root: everything a process needs, wired from settings.

The CLI, the worker, the exercise runner, the benchmarks and the tests get their objects from
`build`; nothing else constructs the store, the dispatcher or the timer runner, and nothing else
decides which channel kinds exist (they are injected into the dispatcher here). The
environment reaches the rest of the engine only through `Settings`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from engine.ports import ChannelKinds, Clock, SystemClock
from engine.service.delivery import Dispatcher, DispatchPolicy
from engine.service.facade import Service
from engine.service.plans import PlanLibrary
from engine.service.recorder import Recorder
from engine.service.timers import TimerRunner
from engine.service.workspace import Workspace
from engine.settings import Settings
from engine.store import Database
from engine.store.audit import audit_key

if TYPE_CHECKING:
    from engine.scheduler.alarm import AlarmClock


def default_channels() -> ChannelKinds:
    """The channel kinds of this installation: the built-ins plus entry-point plugins."""
    from channels.registry import ChannelRegistry  # noqa: PLC0415  (imported only when wired)

    return ChannelRegistry()


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
        return AlarmClock(self.timers, lock=lock, sweep_seconds=sweep_seconds, to_real=to_real)

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
) -> App:
    """Wire the app; creates the data folder and migrates the database unless told not to.

    `channel_environ` replaces the environment the channels resolve `${NAME}` settings from
    (an exercise hides the real SMTP host, publish folder and secrets from its channels).
    """
    # The data folder holds personal data (names, phone numbers) and the audit key.
    settings.data.mkdir(parents=True, exist_ok=True, mode=0o700)
    environ = settings.environ
    key = audit_key(settings.data, environ)
    database = Database(settings.database(), audit_key=key)
    if migrate:
        database.migrate()
    sqlite_file = settings.data / "driftplan.db"
    if not settings.database_url and sqlite_file.exists():
        sqlite_file.chmod(0o600)
    kinds = channels or default_channels()
    plans = PlanLibrary(settings.workflows, known_kinds=kinds.names())
    clock = clock or SystemClock()
    workspace = Workspace(store=database, plans=plans, clock=clock, public_url=settings.public_url)
    recorder = Recorder(public_url=settings.public_url)
    service = Service(workspace, recorder)
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
    return App(settings, database, plans, service, clock, key, kinds, dispatcher, timers)
