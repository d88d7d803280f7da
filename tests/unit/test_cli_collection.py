"""`engine.cli.collection`: a command-line process collects no garbage while it starts; once
wired, it freezes what exists and collects again (services without the freeze); a one-shot
command also freezes everything at exit. In-process use (tests, tools) is left untouched.

Each case runs in its own interpreter: the collector is process-wide.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(code: str) -> list[str]:
    """The lines `code` prints, run in a fresh interpreter from the repository."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return done.stdout.split()


@pytest.mark.parametrize(("service", "frozen"), [(False, True), (True, False)])
def test_off_while_starting_then_on(service: bool, frozen: bool) -> None:
    seen = run(
        "import gc\n"
        "from engine.cli.collection import started, starting\n"
        f"starting(service={service})\n"
        "print(gc.isenabled())\n"
        "started()\n"
        "print(gc.isenabled(), gc.get_freeze_count() > 0)\n"
        "started()  # a second call changes nothing\n"
        "print(gc.isenabled())\n"
    )
    assert seen == ["False", "True", str(frozen), "True"]


def test_a_one_shot_command_freezes_at_exit() -> None:
    """The freeze at exit is registered after the code's own exit handler, so it runs before
    it (atexit runs the last registered first)."""
    seen = run(
        "import atexit, gc\n"
        "atexit.register(lambda: print(gc.get_freeze_count() > 0))\n"
        "from engine.cli.collection import starting\n"
        "starting(service=False)\n"
    )
    assert seen == ["True"]


def test_a_service_keeps_its_collection_at_exit() -> None:
    seen = run(
        "import atexit, gc\n"
        "atexit.register(lambda: print(gc.get_freeze_count()))\n"
        "from engine.cli.collection import started, starting\n"
        "starting(service=True)\n"
        "started()\n"
    )
    assert seen == ["0"]


def test_in_process_use_leaves_the_collector_alone() -> None:
    """Without `starting` (a test driving the commands in-process), `started` does nothing."""
    seen = run(
        "import gc\n"
        "from engine.cli.collection import started\n"
        "gc.disable()\n"
        "started()\n"
        "print(gc.isenabled(), gc.get_freeze_count())\n"
    )
    assert seen == ["False", "0"]


def test_a_command_runs_with_the_collector_on(tmp_path: Path) -> None:
    """Through the real entry point, the collector is back on when the command body runs."""
    seen = run(
        "import gc, os, sys\n"
        f"os.environ['DRIFTPLAN_DATA'] = {str(tmp_path / 'data')!r}\n"
        "import engine.cli.common as common\n"
        "built = common.app_from\n"
        "def app_from(*args, **kwargs):\n"
        "    application = built(*args, **kwargs)\n"
        "    print('on' if gc.isenabled() else 'off')\n"
        "    return application\n"
        "common.app_from = app_from\n"
        "import engine.cli.plans as plans\n"
        "plans.app_from = app_from\n"
        "from engine.cli.app import main\n"
        "sys.argv = ['driftplan', 'init']\n"
        "main()\n"
    )
    assert seen[0] == "on"
