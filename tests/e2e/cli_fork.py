"""Run the installed `driftplan` console script in forked processes instead of fresh interpreters.

A CLI call spends a second or more starting Python and importing the engine before it does
anything; an end-to-end test makes dozens. So a *zygote* (this file, run as a script once per
test session) starts an interpreter exactly as the console script does, imports what the
script imports (`engine.cli.app`), and then forks one child per command. Each child is a real
OS process of its own: it gets the command's arguments, environment, working directory and
standard streams, runs the console-script file itself (`runpy`, as `__main__`), and exits
through the interpreter's normal exit, so its exit code, output and side effects are the
script's. What it skips is only the interpreter start and the imports (the zygote also imports
the PostgreSQL driver, which the script would import on its first connection).

The client side (`ForkedProcess`) looks like `subprocess.Popen` (pid, poll, wait,
communicate, kill) so tests can use either. `Zygote.launch` runs a real `subprocess.Popen`
instead when the environment differs from the zygote's in anything that acts at interpreter
start (only DRIFTPLAN_* variables are read by the engine at run time).

Protocol, one Unix-socket connection per command: the client sends a JSON header (argv, env,
cwd) with three file descriptors (stdin, stdout, stderr); the zygote answers with the child's
pid, and later with its exit status (negative: killed by that signal, as Popen reports it).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import io
import json
import locale
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

READY = b"ready\n"
START_TIMEOUT = 120.0  # imports on a busy two-core machine


def runtime_variable(name: str) -> bool:
    """Whether this environment variable acts only at run time (not at interpreter start or
    import): driftplan's own settings, and pytest's note of the test that is running."""
    return name.startswith("DRIFTPLAN_") or name == "PYTEST_CURRENT_TEST"


# ------------------------------------------------------------------------------------- client
class ForkedProcess:
    """A console-script process forked by the zygote; the part of Popen's interface tests use."""

    def __init__(
        self,
        zygote_socket: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        cwd: Path,
        input_text: str | None,
        scratch: Path,
    ) -> None:
        self.args = list(argv)
        self.returncode: int | None = None
        stdout, out_path = tempfile.mkstemp(prefix="out-", dir=scratch)
        stderr, err_path = tempfile.mkstemp(prefix="err-", dir=scratch)
        self._out_path, self._err_path = Path(out_path), Path(err_path)
        self._conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._conn.connect(zygote_socket)
        self._buffer = b""
        if input_text is None:
            stdin = os.open(os.devnull, os.O_RDONLY)
        else:
            stdin, in_path = tempfile.mkstemp(prefix="in-", dir=scratch)
            os.write(stdin, input_text.encode(_text_encoding()))
            os.lseek(stdin, 0, os.SEEK_SET)
            Path(in_path).unlink()
        header = json.dumps({"argv": self.args, "env": dict(env), "cwd": str(cwd)}).encode()
        try:
            socket.send_fds(self._conn, [header], [stdin, stdout, stderr])
        finally:
            for fd in (stdin, stdout, stderr):
                os.close(fd)
        self.pid = int(self._line(timeout=60.0))

    def _line(self, timeout: float | None) -> str:
        """The next line from the zygote; TimeoutExpired after `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self._buffer:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
                self._conn.settimeout(left)
            else:
                self._conn.settimeout(None)
            try:
                chunk = self._conn.recv(4096)
            except TimeoutError:
                raise subprocess.TimeoutExpired(self.args, timeout or 0.0) from None
            if not chunk:
                raise RuntimeError(f"the CLI zygote went away while running {self.args}")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode()

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                self.returncode = int(self._line(timeout=0.0001))
            except subprocess.TimeoutExpired:
                return None
            self._conn.close()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.returncode = int(self._line(timeout=timeout))
            self._conn.close()
        return self.returncode

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        """Wait for the exit; stdout and stderr decoded as `subprocess` does with text=True."""
        self.wait(timeout)
        out, err = self._out_path.read_bytes(), self._err_path.read_bytes()
        for path in (self._out_path, self._err_path):
            path.unlink(missing_ok=True)
        return _decode(out), _decode(err)

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def _text_encoding() -> str:
    # What subprocess uses for text=True without an explicit encoding.
    return "utf-8" if sys.flags.utf8_mode else locale.getencoding()


def _decode(data: bytes) -> str:
    # Like subprocess's text mode: a TextIOWrapper, so newlines are translated the same way.
    return io.TextIOWrapper(io.BytesIO(data), encoding=_text_encoding()).read()


class Zygote:
    """The zygote process for one test session; `launch` forks a console-script process."""

    def __init__(self, script: Path, base_env: Mapping[str, str], scratch: Path) -> None:
        self.script = script
        self.base_env = dict(base_env)
        self.scratch = scratch
        # A short path of its own: a Unix socket's path may not exceed about 100 bytes.
        self._socket_dir = Path(tempfile.mkdtemp(prefix="driftplan-zygote-"))
        self.socket_path = str(self._socket_dir / "sock")
        self.process = subprocess.Popen(
            [sys.executable, __file__, str(script), self.socket_path],
            env=self.base_env,
            cwd=scratch,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        if not selector.select(START_TIMEOUT) or self.process.stdout.readline() != READY:
            self.close()
            raise RuntimeError("the CLI zygote did not start")
        selector.close()

    def forkable(self, env: Mapping[str, str]) -> bool:
        """Whether `env` differs from the zygote's only in variables read at run time."""
        names = set(env) | set(self.base_env)
        return all(
            env.get(name) == self.base_env.get(name) for name in names if not runtime_variable(name)
        )

    def launch(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        cwd: Path,
        input_text: str | None = None,
    ) -> ForkedProcess | subprocess.Popen[str]:
        """Start `argv` (the console script and its arguments) as a new process."""
        assert argv[0] == str(self.script), argv
        if self.forkable(env):
            return ForkedProcess(self.socket_path, argv, env, cwd, input_text, self.scratch)
        return subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL if input_text is None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()  # the zygote exits at end of input
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        shutil.rmtree(self._socket_dir, ignore_errors=True)


# ------------------------------------------------------------------------------------- zygote
def _serve(script: str, socket_path: str) -> None:
    """The zygote's loop: fork a child per request, report its pid and then its exit status."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(64)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(sys.stdin, selectors.EVENT_READ, "parent")
    sys.stdout.buffer.write(READY)
    sys.stdout.flush()
    running: dict[int, tuple[int, socket.socket]] = {}  # pidfd -> (pid, connection)
    while True:
        for key, _ in selector.select():
            if key.data == "parent":
                if not os.read(sys.stdin.fileno(), 4096):
                    return  # the test session ended (or died)
            elif key.data == "accept":
                conn, _ = listener.accept()
                child = _start(conn, script, listener, selector, running)
                if child is None:
                    continue
                pidfd = os.pidfd_open(child)
                running[pidfd] = (child, conn)
                selector.register(pidfd, selectors.EVENT_READ, "child")
            else:
                pidfd = key.fd
                pid, conn = running.pop(pidfd)
                selector.unregister(pidfd)
                os.close(pidfd)
                _, status = os.waitpid(pid, 0)
                with contextlib.suppress(OSError):  # the test may have stopped listening
                    conn.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
                conn.close()


def _start(
    conn: socket.socket,
    script: str,
    listener: socket.socket,
    selector: selectors.BaseSelector,
    running: dict[int, tuple[int, socket.socket]],
) -> int | None:
    """Fork a child for the request on `conn`; the parent gets its pid, the child never returns."""
    message, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
    request: dict[str, Any] = json.loads(message)
    pid = os.fork()
    if pid == 0:
        # The child: none of the zygote's sockets, the command's streams, cwd, env and argv.
        selector.close()
        listener.close()
        conn.close()
        for pidfd, (_, other) in running.items():
            os.close(pidfd)
            other.close()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = list(request["argv"])
        import runpy  # noqa: PLC0415

        # The console script itself; its sys.exit (or an uncaught error) ends this process
        # through the interpreter's normal exit, as when the script is started on its own.
        runpy.run_path(script, run_name="__main__")
        sys.exit(0)
    for fd in fds:
        os.close(fd)
    conn.sendall(f"{pid}\n".encode())
    return pid


def _main() -> None:
    script, socket_path = sys.argv[1], sys.argv[2]
    # Start as the console script does: its folder first on sys.path, then what it imports.
    sys.path[0] = str(Path(script).parent)
    sys.argv = [script]
    import engine.cli.app  # noqa: F401, PLC0415

    # The PostgreSQL driver, which the script imports when it first connects (a quarter of a
    # second of every PostgreSQL command); importing it earlier changes nothing it does.
    importlib.import_module("sqlalchemy.dialects.postgresql.psycopg")

    # What is loaded now lives as long as any child: keep the collector off it, so that a child
    # neither copies those pages by touching them nor walks them again when it exits.
    gc.freeze()
    _serve(script, socket_path)


if __name__ == "__main__":
    _main()
