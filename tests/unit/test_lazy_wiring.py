"""What `engine.bootstrap.build` leaves for later (issue #13): a command on a running incident
neither lists the installed channel kinds (an entry-point scan) nor builds the dispatcher, the
timer runner or the anchors; they are built when first used, once, also by threads that ask
together, and a plan file is still checked against every installed kind."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from channels.registry import ChannelRegistry
from engine.bootstrap import App, build
from engine.service import delivery
from engine.settings import Settings
from tests.app_helpers import DECLARE, EXAMPLE_DIRECTORY, OPERATOR, WORKFLOWS, FakeClock


class CountedRegistry(ChannelRegistry):
    """The real registry, counting how often the installed kinds are listed."""

    def __init__(self) -> None:
        super().__init__()
        self.listed = 0

    def names(self) -> list[str]:
        self.listed += 1
        return super().names()


def wired(folder: Path, registry: ChannelRegistry | None = None) -> App:
    """A new process's App on `folder` (its caches empty)."""
    settings = Settings(data=folder / "data", workflows=WORKFLOWS)
    return build(settings, clock=FakeClock(), channels=registry)


def test_a_fire_on_a_running_incident_lists_no_channel_kinds(tmp_path: Path) -> None:
    first = wired(tmp_path)
    first.service.directory.import_file(EXAMPLE_DIRECTORY)
    incident = first.service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    first.close()

    registry = CountedRegistry()
    later = wired(tmp_path, registry)
    result = later.service.fire(
        incident_id=incident, trigger="post_update", actor_id=OPERATOR, values={"details": "x"}
    )
    assert result.result == "done"
    assert registry.listed == 0
    # A plan file is still checked against the installed kinds, listed once.
    later.plans.current()
    later.plans.current()
    assert registry.listed == 1
    later.close()


def test_the_dispatcher_is_built_on_first_use_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[object] = []
    real = delivery.Dispatcher

    class Counted(real):  # type: ignore[misc,valid-type]
        def __init__(self, **options: object) -> None:
            super().__init__(**options)
            built.append(self)

    monkeypatch.setattr(delivery, "Dispatcher", Counted)
    application = wired(tmp_path)
    assert built == []
    seen: list[object] = []
    barrier = threading.Barrier(4)

    def ask() -> None:
        barrier.wait()
        seen.append(application.dispatcher)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1
    assert all(found is built[0] for found in seen)
    assert application.dispatcher is built[0]
    assert application.dispatcher.environ == application.settings.environ
    application.close()


def test_closing_builds_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(**options: object) -> None:
        raise AssertionError("built a dispatcher to close it")

    monkeypatch.setattr(delivery, "Dispatcher", refuse)
    wired(tmp_path).close()


def test_timers_and_anchors_are_built_once(tmp_path: Path) -> None:
    application = wired(tmp_path)
    assert application.timers is application.timers
    assert application.anchors is application.anchors
    assert application.timers.gates is application.service.gates
    application.close()
