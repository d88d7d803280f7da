"""A channel that can never work fails for good and says so: the real dispatcher on SQLite and
the real `driftplan channels` console script, with the SAMSA plan's IT-Nytt webhook pointed at a
`file://` URL through its environment variable (the plan itself stays valid)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from engine.domain.model import MessageStatus
from tests.app_helpers import DECLARE, OPERATOR, WORKFLOWS, make_app, make_dispatcher

FILE_HOOK = {"DRIFTPLAN_ITNYTT_URL": "file:///etc/passwd", "DRIFTPLAN_ITNYTT_SECRET": "s3cret"}


def test_a_file_url_webhook_message_is_a_dead_letter_at_the_first_attempt(tmp_path: Path) -> None:
    """The dispatcher does not retry it: one attempt, dead, with the reason and the fix."""
    application = make_app(tmp_path)
    incident = application.service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    dispatcher = make_dispatcher(application, FILE_HOOK)
    try:
        dispatcher.deliver_due()
    finally:
        dispatcher.close()
    with application.database.unit_of_work(read_only=True) as uow:
        hook = next(m for m in uow.messages.list(incident) if m.channel == "it_nytt")
    assert hook.status == MessageStatus.DEAD
    assert hook.attempts == 1
    assert "'url' must be an http or https URL" in hook.last_error
    application.close()


def test_channels_reports_a_file_url_webhook_as_refused_not_live(tmp_path: Path) -> None:
    """`driftplan channels` shows the webhook as not live, with why, instead of "live"."""
    env = {
        **os.environ,
        **FILE_HOOK,
        "DRIFTPLAN_DATA": str(tmp_path / "data"),
        "DRIFTPLAN_WORKFLOWS": str(WORKFLOWS),
    }
    done = subprocess.run(
        [str(Path(sys.executable).parent / "driftplan"), "channels", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = {row["channel"]: row for row in json.loads(done.stdout)}
    assert rows["it_nytt"]["live"] is False
    assert "http or https" in rows["it_nytt"]["refused"]
    assert rows["login_page"]["live"] is True and rows["login_page"]["refused"] == ""
