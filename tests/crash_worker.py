"""`python -m tests.crash_worker`: `driftplan worker` with a short delivery lease (crash suite).

The same `engine.worker.Worker` loop the console script runs, on the installation the
DRIFTPLAN_* environment names, but with the lease (and so the takeover time) CRASH_LEASE
seconds instead of 20, so that a test can kill and restart it many times in a minute.
SIGTERM / SIGINT stop it cleanly; SIGKILL is what the tests send.
"""

from __future__ import annotations

import os
import signal
import threading
from datetime import timedelta

from engine.bootstrap import build
from engine.service.delivery import DispatchPolicy
from engine.settings import Settings
from engine.worker import Worker


def main() -> None:
    lease = float(os.environ.get("CRASH_LEASE", "2"))
    policy = DispatchPolicy(
        lease=timedelta(seconds=lease),
        heartbeat=timedelta(seconds=lease / 4),
        base_delay=timedelta(seconds=1),
        max_delay=timedelta(seconds=2),
        max_attempts=1000,  # every kill ends an attempt; the suite kills up to 50 times
    )
    application = build(Settings.load(), dispatch_policy=policy)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    Worker(application).run(stop, interval=0.1, sweep=0.5)


if __name__ == "__main__":
    main()
