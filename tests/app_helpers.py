"""Helpers for tests that run the whole application: a fake clock, an app on a temp folder.

`make_app` wires the real application (engine.bootstrap.build) on a SQLite file in a temporary
folder with the repository's plans and a directory; `FakeClock` is the hand-written clock those
tests advance past backoffs and timers (engine/scheduler/clocks.py may grow a shared one).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from engine.bootstrap import App, build
from engine.service.delivery import Dispatcher, DispatchPolicy
from engine.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / "workflows"
EXAMPLE_DIRECTORY = ROOT / "examples" / "directory.yaml"
START = datetime(2025, 3, 4, 8, 30, tzinfo=UTC)
OPERATOR = "anna.andersson"
SCOPE = "Ingen åtkomst till SAMSA i Fyrbodal"
DECLARE = {
    "started_at": "2025-03-04T09:15",
    "scope": SCOPE,
    "expected_resolution": "okänd",
    "affected_subregions": "fyrbodal",
}


@dataclass
class FakeClock:
    """A clock that stands still until a test moves it."""

    current: datetime = START

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta

    def set(self, moment: datetime) -> None:
        self.current = moment


def write_directory(folder: Path, support_it: Iterable[str]) -> Path:
    """The example directory with its support_it list replaced by `support_it` addresses."""
    raw = yaml.safe_load(EXAMPLE_DIRECTORY.read_text("utf-8"))
    raw["lists"]["support_it"] = [
        {"address": address, "name": f"Support {i}", "organisation": f"Org {i}"}
        for i, address in enumerate(support_it)
    ]
    # The other lists are CSV files that must lie beside the directory file.
    shutil.copytree(EXAMPLE_DIRECTORY.parent / "lists", folder / "lists", dirs_exist_ok=True)
    path = folder / "directory.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    return path


def make_app(
    folder: Path,
    *,
    clock: FakeClock | None = None,
    directory: Path = EXAMPLE_DIRECTORY,
    public_url: str = "",
) -> App:
    """The real application on `folder`/data with the repository's plans and `directory`."""
    settings = Settings(data=folder / "data", workflows=WORKFLOWS, public_url=public_url)
    application = build(settings, clock=clock or FakeClock())
    application.service.directory.import_file(directory)
    return application


def make_dispatcher(
    application: App,
    environ: Mapping[str, str],
    *,
    policy: DispatchPolicy | None = None,
) -> Dispatcher:
    """A dispatcher for `application`'s installation whose channels see only `environ`.

    Wired by the composition root like any other process's (each call is a new dispatcher
    with its own lease owner, as a second worker would be).
    """
    other = build(
        application.settings,
        clock=application.clock,
        migrate=False,
        channel_environ=environ,
        dispatch_policy=policy,
    )
    return other.dispatcher
