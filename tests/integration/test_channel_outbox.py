"""The file outbox: what channels without connection settings do instead of sending."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from icalendar import Calendar

from channels.calendar_invite import CalendarChannel
from channels.file_outbox import FileOutbox, atomic_write
from channels.newsletter import NewsletterChannel
from channels.smtp_email import EmailChannel
from channels.webhook import WebhookChannel
from engine.ports import Recipient
from tests.channel_helpers import make_meeting, make_message, parse_mail


def test_email_without_host_writes_eml_files(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Without an SMTP host, each recipient's copy is an .eml file a mail parser opens."""
    caplog.set_level(logging.INFO)
    channel = EmailChannel({"mail_from": "drift@samsa.example.se"}, data_dir=str(tmp_path))
    people = (Recipient("anna@example.se", "Anna"), Recipient("bo@example.se", "Bo"))
    report = channel.deliver(make_message(recipients=people))

    folder = tmp_path / "outbox" / "support_email"
    assert report.live is False and report.target == f"file:{folder}"
    assert [r.status for r in report.results] == ["sent", "sent"]
    files = sorted(folder.glob("*.eml"))
    assert len(files) == 2
    mails = [parse_mail(f.read_bytes()) for f in files]
    assert sorted(str(m["To"]) for m in mails) == ["Anna <anna@example.se>", "Bo <bo@example.se>"]
    assert all(m["Message-ID"] == "<m-0001@driftplan.test>" for m in mails)
    assert all(m.get_body(preferencelist=("plain",)) is not None for m in mails)
    assert "file outbox" in caplog.text


def test_outbox_is_idempotent_on_message_id(tmp_path: Path) -> None:
    """Delivering the same message twice leaves the same files; a new id adds files."""
    channel = EmailChannel({}, data_dir=str(tmp_path))
    channel.deliver(make_message())
    channel.deliver(make_message())
    folder = tmp_path / "outbox" / "support_email"
    assert len(list(folder.glob("*.eml"))) == 1
    channel.deliver(make_message(message_id="m-0002@driftplan.test"))
    assert len(list(folder.glob("*.eml"))) == 2
    assert not list(folder.glob(".*.tmp"))


def test_status_names_missing_settings(tmp_path: Path) -> None:
    """status() reports the file outbox and exactly which settings are missing."""
    status = EmailChannel.status({"channel": "support_email"}, data_dir=str(tmp_path))
    assert status.live is False
    assert list(status.missing) == ["host", "mail_from"]
    assert status.target == f"file:{tmp_path / 'outbox' / 'support_email'}"
    live = EmailChannel.status(
        {"host": "smtp.example.se", "mail_from": "drift@example.se"}, data_dir=str(tmp_path)
    )
    assert live.live is True and live.target == "smtp://smtp.example.se:25" and not live.missing
    hook = WebhookChannel.status({"url": "https://hooks.example.se/x?token=1"}, data_dir="d")
    assert hook.live is False and list(hook.missing) == ["secret"]


def test_channel_name_cannot_escape_the_outbox(tmp_path: Path) -> None:
    """A channel name with path separators stays inside <data_dir>/outbox."""
    EmailChannel({}, data_dir=str(tmp_path)).deliver(make_message(channel="../../etc"))
    written = list(tmp_path.rglob("*.eml"))
    assert len(written) == 1
    assert written[0].resolve().is_relative_to((tmp_path / "outbox").resolve())


def test_webhook_without_url_writes_json(tmp_path: Path) -> None:
    """A webhook without url writes the would-be body as JSON to the outbox."""
    channel = WebhookChannel({}, data_dir=str(tmp_path))
    report = channel.deliver(make_message(channel="status_hook", kind="webhook"))
    [path] = (tmp_path / "outbox" / "status_hook").glob("*.json")
    body = json.loads(path.read_text("utf-8"))
    assert body["message_id"] == "m-0001@driftplan.test" and body["incident_id"] == "INC-42"
    assert report.live is False


def test_newsletter_and_calendar_fall_back_too(tmp_path: Path) -> None:
    """Newsletter and calendar channels without a host write complete .eml files."""
    NewsletterChannel({}, data_dir=str(tmp_path)).deliver(
        make_message(
            channel="subscribers",
            recipients=(Recipient("a@example.se", unsubscribe_url="https://x.example/u/1"),),
        )
    )
    CalendarChannel({}, data_dir=str(tmp_path)).deliver(
        make_message(channel="council_invite", meeting=make_meeting())
    )
    [news] = (tmp_path / "outbox" / "subscribers").glob("*.eml")
    assert parse_mail(news.read_bytes())["List-Unsubscribe"] == "<https://x.example/u/1>"
    [invite] = (tmp_path / "outbox" / "council_invite").glob("*.eml")
    ics = next(p for p in parse_mail(invite.read_bytes()).iter_attachments())
    assert str(Calendar.from_ical(ics.get_content())["METHOD"]) == "REQUEST"


def test_atomic_write_leaves_old_content_on_failure(tmp_path: Path) -> None:
    """A failed write keeps the previous file and leaves no temp file behind."""
    target = tmp_path / "banner.json"
    atomic_write(target, b"old")

    with pytest.raises(TypeError):
        atomic_write(target, "not bytes")  # type: ignore[arg-type]  # fails after the temp file exists
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["banner.json"]


def test_explicit_file_outbox_kind(tmp_path: Path) -> None:
    """The file_outbox kind writes the message as JSON and is never live."""
    report = FileOutbox({}, data_dir=str(tmp_path)).deliver(make_message(channel="drill"))
    assert report.live is False
    assert len(list((tmp_path / "outbox" / "drill").glob("*.json"))) == 1
    assert FileOutbox.status({}, data_dir=str(tmp_path)).live is False
