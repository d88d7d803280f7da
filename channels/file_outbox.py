"""The file outbox: where a channel delivers when its connection settings are absent.

This module owns the embedded default channel and the small file primitives every file-writing
channel shares: `atomic_write` (temp file + `os.replace`, so a reader or a crash never sees half a
file) and `safe_name` (a file-name-safe, collision-free name for an arbitrary string).

Layout: `<data_dir>/outbox/<channel>/`. E-mails are written **one `.eml` file per message per
recipient** — exactly the bytes a live SMTP delivery would send to that recipient (the `To` header
names only them) — so opening a file in a mail client shows what that person would have received.
Other kinds write one `.json` file per message. File names derive from the message id (and the
recipient), so delivering the same message again overwrites the same file: idempotent.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from pathlib import Path
from typing import ClassVar

from channels.declarations import BUILTIN_SETTINGS
from engine.definition.channel_settings import ChannelSettings
from engine.domain.model import RecipientStatus
from engine.ports import ChannelStatus, DeliveryReport, OutgoingMessage, RecipientResult

__all__ = [
    "FileOutbox",
    "atomic_write",
    "message_payload",
    "outbox_dir",
    "outbox_status",
    "safe_name",
]

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9._@+-]+")


def safe_name(text: str, *, max_length: int = 80) -> str:
    """A file-name-safe rendering of `text`, unique per input thanks to a short hash suffix.

    The readable part alone could collide ("a/b" and "a_b"), and path separators or ".." must never
    reach the file system, hence slug + hash.
    """
    slug = _UNSAFE.sub("_", text).strip("._")[:max_length] or "x"
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{slug}-{digest}"


def atomic_write(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Replace `path` with `data` so that readers only ever see the old or the new content.

    The temp file lives in the same directory because `os.replace` is only atomic within one file
    system. `mode` is applied explicitly since `mkstemp` creates files readable by the owner only,
    which would hide published files from the web server.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.chmod(mode)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def outbox_dir(data_dir: str, channel: str) -> Path:
    """The outbox folder of one plan channel; the channel name is sanitised against traversal."""
    cleaned = _UNSAFE.sub("_", channel).strip("._") or "channel"
    return Path(data_dir) / "outbox" / cleaned


def outbox_status(
    settings: Mapping[str, str], data_dir: str, missing: Sequence[str]
) -> ChannelStatus:
    """The status of a channel that falls back to the outbox because `missing` settings are absent.

    The plan channel's name is only known if the caller put it in the settings as "channel".
    """
    channel = settings.get("channel", "")
    target = outbox_dir(data_dir, channel) if channel else Path(data_dir) / "outbox"
    return ChannelStatus(live=False, target=f"file:{target}", missing=tuple(missing))


class FileOutbox:
    """Writes messages as files instead of sending them; used by every channel lacking settings.

    Registered as its own kind ("file_outbox") too, so a plan can choose it explicitly, e.g. for
    an exercise that must never reach real people.
    """

    kind = "file_outbox"
    settings_spec: ClassVar[ChannelSettings] = BUILTIN_SETTINGS["file_outbox"]

    def __init__(self, settings: Mapping[str, str], *, data_dir: str) -> None:
        self._settings = dict(settings)
        self._data_dir = data_dir
        self._announced: set[str] = set()

    @staticmethod
    def status(settings: Mapping[str, str], *, data_dir: str) -> ChannelStatus:
        """Always "not live": the file outbox is the fallback by definition."""
        return outbox_status(settings, data_dir, ())

    def _folder(self, message: OutgoingMessage) -> Path:
        folder = outbox_dir(self._data_dir, message.channel)
        if message.channel not in self._announced:
            # Said once per channel and process: an operator must notice nothing is really sent.
            self._announced.add(message.channel)
            log.warning(
                "Channel %r (%s) is a file outbox: messages are written to %s, not sent",
                message.channel,
                message.kind,
                folder,
            )
        return folder

    def write_emails(
        self, message: OutgoingMessage, emails: Sequence[tuple[str, EmailMessage]]
    ) -> DeliveryReport:
        """Write one `.eml` per (recipient address, message); the report marks each as sent."""
        folder = self._folder(message)
        results = []
        base = safe_name(message.message_id)
        for address, email_message in emails:
            path = folder / f"{base}__{safe_name(address, max_length=60)}.eml"
            # Outbox mail holds personal data: readable by the service account only.
            atomic_write(path, email_message.as_bytes(), mode=0o600)
            log.info("Wrote %s for %s to the file outbox", path.name, message.channel)
            results.append(RecipientResult(address, RecipientStatus.SENT, f"file outbox: {path}"))
        return DeliveryReport(results=results, target=f"file:{folder}", live=False)

    def write_json(
        self, message: OutgoingMessage, payload: Mapping[str, object], *, address: str = ""
    ) -> DeliveryReport:
        """Write the payload as `<message id>.json`; the report has one "sent" result."""
        folder = self._folder(message)
        path = folder / f"{safe_name(message.message_id)}.json"
        data = json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
        atomic_write(path, data + b"\n", mode=0o600)
        log.info("Wrote %s for %s to the file outbox", path.name, message.channel)
        result = RecipientResult(
            address or message.channel, RecipientStatus.SENT, f"file outbox: {path}"
        )
        return DeliveryReport(results=[result], target=f"file:{folder}", live=False)

    def deliver(self, message: OutgoingMessage) -> DeliveryReport:
        """Write the message itself as JSON (used when a plan names this kind explicitly)."""
        return self.write_json(message, message_payload(message))

    def close(self) -> None:
        """Nothing to release: every write is complete when `deliver` returns."""


def message_payload(message: OutgoingMessage) -> dict[str, object]:
    """The JSON shape of a message for machines (webhook bodies, outbox files)."""
    return {
        "message_id": message.message_id,
        "incident_id": message.incident_id,
        "channel": message.channel,
        "audience": message.audience,
        "subject": message.subject,
        "text": message.body_text,
        "language": message.language,
        "created_at": message.created_at.isoformat(),
        "clear": message.clear,
        "exercise": message.exercise,
    }
