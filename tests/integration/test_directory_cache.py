"""The service keeps the directory in memory, yet sees every change any process makes."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.bootstrap import build
from engine.errors import NotFound
from engine.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DECLARE = {"started_at": "now", "scope": "Ingen åtkomst", "expected_resolution": "okänd"}


def test_a_directory_imported_by_another_process_is_used_at_once(tmp_path: Path) -> None:
    """After another installation object (as another process would) imports a directory
    without a person, this service refuses that person on its very next command."""
    settings = Settings(data=tmp_path, workflows=ROOT / "workflows")
    worker, admin = build(settings), build(settings)
    admin.service.directory.import_file(ROOT / "examples" / "directory.yaml")
    incident = worker.service.declare(actor_id="anna.andersson", values=DECLARE).incident_id
    smaller = tmp_path / "directory.yaml"
    text = (ROOT / "examples" / "directory.yaml").read_text(encoding="utf-8")
    smaller.write_text(
        "\n".join(line for line in text.splitlines() if "id: erik.johansson" not in line),
        encoding="utf-8",
    )
    shutil.copytree(ROOT / "examples" / "lists", tmp_path / "lists")
    worker.service.fire(incident_id=incident, trigger="post_update", actor_id="erik.johansson")
    admin.service.directory.import_file(smaller)
    with pytest.raises(NotFound, match=r"erik\.johansson"):
        worker.service.fire(incident_id=incident, trigger="post_update", actor_id="erik.johansson")


def test_a_new_confirmed_subscriber_gets_the_next_newsletter(tmp_path: Path) -> None:
    """A subscription confirmed between two commands is among the next message's recipients."""
    settings = Settings(data=tmp_path, workflows=ROOT / "workflows")
    app = build(settings)
    app.service.directory.import_file(ROOT / "examples" / "directory.yaml")
    first = app.service.declare(actor_id="anna.andersson", values=DECLARE).incident_id
    now = datetime.now(UTC)
    stored = app.service.subscriptions.subscribe(
        audience="subscribers", email="ny@example.se", now=now
    )
    app.service.subscriptions.confirm(stored.token, now)
    second = app.service.declare(actor_id="anna.andersson", values=DECLARE).incident_id
    with app.database.unit_of_work(read_only=True) as uow:
        before = [m for m in uow.messages.list(first) if m.channel == "newsletter"]
        after = [m for m in uow.messages.list(second) if m.channel == "newsletter"]
    assert [r.address for r in before[0].recipients] == []
    assert [r.address for r in after[0].recipients] == ["ny@example.se"]
