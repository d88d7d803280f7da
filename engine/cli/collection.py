"""Garbage collection in a command-line process: none while it starts, none when it exits.

Starting a command imports a few hundred modules (SQLAlchemy's alone allocate hundreds of
thousands of objects), and every allocation threshold crossed on the way runs a collection that
walks all of them again and finds nothing to free: long-lived modules, classes and tables. And
when a process exits, the interpreter runs one last full collection over everything, only to
hand the memory back to the system, which happens anyway. Together that was about a fifth of
an `incident fire` (issue #13, bench/bench_cli.py).

So `main` turns collection off (`starting`); once the command's application is built
(`started`, from `engine.cli.common.app_from` and the commands that build their own) what
exists is frozen (`gc.freeze`: never walked again) and collection is back on for the command's
own work, so a long command's memory stays bounded (the commands that build none, such as
`validate`, `diagram` and `doctor`, are short and run without it). A one-shot command also
freezes everything at exit, so the final collection has nothing to walk; a service (`worker`,
`serve`) runs until stopped and keeps the interpreter's ordinary collection, start-up objects
included. Only `main` starts this: tests that run the commands in-process keep their collector
untouched.
"""

from __future__ import annotations

import atexit
import gc

_state = {"starting": False, "service": False}


def starting(*, service: bool) -> None:
    """A command-line process begins: no collection until `started`. A one-shot command
    (not a `service`) also skips the collection at exit: buffered files are flushed and
    closed by then (at exit, `logging` and the standard streams flush explicitly)."""
    gc.disable()
    _state.update(starting=True, service=service)
    if not service:
        atexit.register(gc.freeze)


def started() -> None:
    """The command is imported and wired: collection is back on, for its own work only."""
    if not _state["starting"]:
        return
    _state["starting"] = False
    if not _state["service"]:
        gc.freeze()
    gc.enable()
