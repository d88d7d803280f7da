"""A doorbell beside an SQLite database: a commit that left work pokes the listening workers.

SQLite has no LISTEN/NOTIFY. A worker learns of other processes' commits by asking `PRAGMA
data_version`, but asking often enough to notice a declaration within a blink costs an idle
worker CPU on every tick (about 0.1 % of a core at 10 ticks a second here). So each process
that listens binds a datagram socket in a folder beside the database file
(`driftplan.db-wake/<pid>.<n>`), and a process whose commit queued messages or armed timers sends
each socket there one empty datagram. The listener blocks on its socket and wakes only when
poked; `data_version` stays, asked rarely, as the safety net for commits from programs that do
not ring (an older driftplan, the sqlite3 shell).

Why a folder of sockets rather than one: any number of workers may share one database file,
and each gets its own. A socket left behind by a killed worker refuses datagrams; the first
process that finds it so removes it, and a worker starting with the same process id replaces
it. The folder is private to the installation's user (mode 0700), like the data folder.
Everything here is best effort: a poke that cannot be sent is a wake-up left to the poll, never
an error for the command that committed.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

__all__ = ["Doorbell"]

log = logging.getLogger(__name__)

# Unix socket paths are limited (108 bytes on Linux, 104 on macOS, the terminating NUL
# included); a database path too deep for a socket beside it falls back to polling.
MAX_SOCKET_PATH = 100
POKE = b"!"
_listeners = itertools.count(1)  # several listeners in one process each get their own socket


class Doorbell:
    """The sockets of the processes listening on one SQLite file."""

    def __init__(self, database_file: str) -> None:
        self.folder = Path(f"{Path(database_file).resolve()}-wake")
        self._sender: socket.socket | None = None
        self._lock = threading.Lock()
        self._own: Path | None = None

    def ring(self) -> None:
        """Poke every listener but this process's own (rung in-process already)."""
        try:
            entries = list(os.scandir(self.folder))
        except OSError:
            return  # no folder: nobody listens (or it cannot be read: the poll remains)
        for entry in entries:
            path = Path(entry.path)
            if path == self._own:
                continue
            try:
                self._send(str(path))
            except (ConnectionRefusedError, FileNotFoundError):
                # Nobody is bound to it: a listener that was killed. Removing it is safe, as
                # a live listener's socket never refuses.
                with contextlib.suppress(OSError):
                    path.unlink()
            except OSError:
                # Its queue is full (it has been poked and will look anyway), or anything
                # else that only costs a wake-up the poll still gives.
                continue

    def _send(self, path: str) -> None:
        with self._lock:
            if self._sender is None:
                self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                self._sender.setblocking(False)
            self._sender.sendto(POKE, path)

    @contextlib.contextmanager
    def listening(self) -> Iterator[socket.socket | None]:
        """This process's socket, bound while inside; None when there cannot be one (the
        caller then polls). Closed and removed on the way out."""
        path = self.folder / f"{os.getpid()}.{next(_listeners)}"
        if len(os.fsencode(path)) > MAX_SOCKET_PATH:
            log.warning(
                "%s: the database's path is too long for a wake-up socket beside it; other "
                "processes' commits are noticed by polling every 100 ms instead",
                self.folder,
            )
            yield None
            return
        try:
            self.folder.mkdir(mode=0o700, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                path.unlink()  # left by a killed process that had this id
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        except OSError as error:
            log.warning("no wake-up socket in %s (%s); polling instead", self.folder, error)
            yield None
            return
        try:
            listener.bind(str(path))
        except OSError as error:
            listener.close()
            log.warning("no wake-up socket in %s (%s); polling instead", self.folder, error)
            yield None
            return
        self._own = path
        try:
            yield listener
        finally:
            self._own = None
            listener.close()
            with contextlib.suppress(OSError):
                path.unlink()

    def wake_own(self) -> None:
        """Poke this process's own listener, to end its wait at once (when stopping)."""
        own = self._own
        if own is not None:
            with contextlib.suppress(OSError):
                self._send(str(own))

    def close(self) -> None:
        with self._lock:
            if self._sender is not None:
                self._sender.close()
                self._sender = None
