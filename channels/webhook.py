"""The webhook channel (kind "webhook"): a signed JSON POST per message, for other systems.

Owns the request format and its signature, and `verify_signature` for receivers. The body is the
message as JSON; `X-Driftplan-Signature: sha256=<hex>` is an HMAC-SHA256, keyed with the channel's
secret, of `"<X-Driftplan-Timestamp>.<raw body>"` — binding the timestamp stops replays of old
bodies, and `Idempotency-Key: <message_id>` lets receivers drop the retries of at-least-once
delivery.

Result rules: 2xx sent; 408, 425, 429 and 5xx temporary; any other status (redirects are not
followed: a moved endpoint is a configuration change, not something to guess) permanent. These go
in the report because the receiver answered. When it cannot be reached at all (connect error,
timeout), the whole delivery raises `TemporaryDeliveryError`. No url or no secret: file outbox.
A url that is not http(s) (`file://`, `ftp://`, ...) can never work: the channel refuses to be
built (`SettingRefused`, a permanent failure) and `status()` says it is not live and why.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Mapping
from typing import ClassVar

import httpx

from channels.declarations import BUILTIN_SETTINGS
from channels.file_outbox import FileOutbox, message_payload, outbox_status
from channels.refusals import SettingRefused, checked_http_url, public_url_form
from engine.definition.channel_settings import ChannelSettings
from engine.domain.model import RecipientStatus
from engine.errors import ConfigurationError, TemporaryDeliveryError
from engine.ports import ChannelStatus, DeliveryReport, OutgoingMessage, RecipientResult

__all__ = ["WebhookChannel", "sign", "verify_signature"]

log = logging.getLogger(__name__)

REQUIRED_SETTINGS = ("url", "secret")
_TEMPORARY_STATUSES = frozenset({408, 425, 429})


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The signature header value: `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_signature(
    secret: str,
    timestamp: int | str,
    body: bytes,
    signature: str,
    *,
    now: float,
    tolerance: float = 300,
) -> bool:
    """True when `signature` signs this body and `timestamp` is within `tolerance` s of `now`.

    For receivers: pass the raw request body (before any JSON parsing) and the two headers.
    """
    try:
        stamp = int(str(timestamp).strip())
    except ValueError:
        return False
    if abs(now - stamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, stamp, body), signature.strip())


def _missing(settings: Mapping[str, str]) -> list[str]:
    return [name for name in REQUIRED_SETTINGS if not settings.get(name, "").strip()]


class WebhookChannel:
    """POSTs each message as signed JSON to the configured URL."""

    kind = "webhook"
    settings_spec: ClassVar[ChannelSettings] = BUILTIN_SETTINGS["webhook"]

    def __init__(self, settings: Mapping[str, str], *, data_dir: str) -> None:
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None
        self._outbox: FileOutbox | None = None
        missing = _missing(settings)
        if missing:
            # Info only: the file outbox warns (once per channel, naming it and the folder)
            # when it first writes, and `driftplan channels` lists what is missing.
            log.info("webhook channel has no %s: delivering to the file outbox", ", ".join(missing))
            self._outbox = FileOutbox(settings, data_dir=data_dir)
            return
        self._url = checked_http_url(self.kind, "url", settings["url"])
        self._secret = settings["secret"]
        try:
            timeout = float(settings.get("timeout", "") or "10")
        except ValueError as exc:
            raise ConfigurationError(f"Webhook setting 'timeout' is not a number: {exc}") from exc
        # One client per channel: keeps connections alive between messages; never follows redirects.
        self._client = httpx.Client(timeout=timeout, follow_redirects=False)

    @staticmethod
    def status(settings: Mapping[str, str], *, data_dir: str) -> ChannelStatus:
        """Live with an http(s) url and a secret; else the file outbox and what is missing, or
        refused (not live: every message fails) when the url can never work."""
        missing = _missing(settings)
        if missing:
            return outbox_status(settings, data_dir, missing)
        target = public_url_form(settings["url"].strip())
        try:
            checked_http_url("webhook", "url", settings["url"])
        except SettingRefused as exc:
            return ChannelStatus(live=False, target=target, refused=str(exc))
        return ChannelStatus(live=True, target=target)

    def deliver(self, message: OutgoingMessage) -> DeliveryReport:
        """POST the message; see the module docstring for how responses map to results."""
        payload = message_payload(message)
        if self._outbox is not None:
            return self._outbox.write_json(message, payload)
        assert self._client is not None
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        raw = body.encode("utf-8")
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "X-Driftplan-Timestamp": str(timestamp),
            "X-Driftplan-Signature": sign(self._secret, timestamp, raw),
            "Idempotency-Key": message.message_id,
            "User-Agent": "driftplan-webhook/1",
        }
        target = public_url_form(self._url)
        try:
            with self._lock:
                response = self._client.post(self._url, content=raw, headers=headers)
        except httpx.TransportError as exc:
            # Connect errors, timeouts, protocol errors: the receiver never answered.
            raise TemporaryDeliveryError(f"Webhook {target} unreachable: {exc!r}") from exc
        code = response.status_code
        detail = f"HTTP {code} {response.reason_phrase}".strip()
        if 200 <= code < 300:
            status = RecipientStatus.SENT
        elif code in _TEMPORARY_STATUSES or 500 <= code < 600:
            status = RecipientStatus.TEMPORARY
        else:
            status = RecipientStatus.PERMANENT
        return DeliveryReport(results=[RecipientResult(target, status, detail)], target=target)

    def close(self) -> None:
        """Close the HTTP client's pooled connections."""
        if self._client is not None:
            self._client.close()
