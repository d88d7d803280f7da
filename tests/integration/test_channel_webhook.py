"""The webhook channel against a real HTTP receiver on loopback that checks signatures."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from channels.webhook import WebhookChannel
from engine.errors import TemporaryDeliveryError
from tests.channel_helpers import WebhookReceiver, free_port, make_message

SECRET = "s3cret-for-tests"


def _channel(url: str, tmp_path: Path, secret: str = SECRET) -> WebhookChannel:
    return WebhookChannel({"url": url, "secret": secret, "timeout": "3"}, data_dir=str(tmp_path))


def test_signed_json_post_is_accepted(tmp_path: Path) -> None:
    """The receiver gets the message as JSON with a valid signature and the idempotency key."""
    with WebhookReceiver(SECRET) as receiver:
        channel = _channel(f"{receiver.url}/hooks/samsa?token=abc", tmp_path)
        report = channel.deliver(make_message(channel="status_hook", kind="webhook", exercise=True))
        channel.close()
    [hook] = receiver.requests
    assert hook.valid
    assert hook.headers["Idempotency-Key"] == "m-0001@driftplan.test"
    assert hook.headers["Content-Type"] == "application/json"
    assert abs(int(hook.headers["X-Driftplan-Timestamp"]) - time.time()) < 60
    assert hook.json == {
        "message_id": "m-0001@driftplan.test",
        "incident_id": "INC-42",
        "channel": "status_hook",
        "audience": "support_it",
        "subject": "Driftstörning i SAMSA",
        "text": "SAMSA är inte tillgängligt sedan 08:15.\n\nNästa uppdatering senast 09:30.",
        "language": "sv",
        "created_at": "2025-03-04T08:30:00+00:00",
        "clear": False,
        "exercise": True,
    }
    [result] = report.results
    assert result.status == "sent"
    assert "token" not in result.address and "token" not in report.target


def test_wrong_secret_is_detected_by_the_receiver(tmp_path: Path) -> None:
    """A channel with another secret produces a signature the receiver rejects (401: permanent)."""
    with WebhookReceiver(SECRET) as receiver:
        report = _channel(receiver.url, tmp_path, secret="not-the-secret").deliver(make_message())
    assert [h.valid for h in receiver.requests] == [False]
    assert [r.status for r in report.results] == ["permanent"]


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (200, "sent"),
        (202, "sent"),
        (500, "temporary"),
        (503, "temporary"),
        (429, "temporary"),
        (408, "temporary"),
        (400, "permanent"),
        (404, "permanent"),
        (410, "permanent"),
    ],
)
def test_response_codes_map_to_results(tmp_path: Path, code: int, status: str) -> None:
    """2xx is sent; 408/429/5xx temporary; other 4xx permanent."""
    with WebhookReceiver(SECRET) as receiver:
        channel = _channel(f"{receiver.url}/status/{code}", tmp_path)
        report = channel.deliver(make_message())
        channel.close()
    assert [r.status for r in report.results] == [status]
    assert str(code) in report.results[0].detail


def test_unreachable_receiver_is_temporary(tmp_path: Path) -> None:
    """Nothing listening on the port: TemporaryDeliveryError."""
    channel = _channel(f"http://127.0.0.1:{free_port()}/hook", tmp_path)
    with pytest.raises(TemporaryDeliveryError, match="unreachable"):
        channel.deliver(make_message())
    channel.close()
