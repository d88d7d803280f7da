"""The news channel (kind "news"): service news as static pages and an Atom feed.

Owns `publish_dir/news/`: one page per message (`<message-id-slug>.html`), `index.html` listing
entries newest first, `feed.atom` (built with feedgen) and `entries.json`, the small index of
published entries from which the index page and the feed are regenerated on every delivery. Every
file is replaced atomically, so any web server can serve the folder while SAMSA is down.

Content rule: the page, the index and the feed are built from `body_text`, escaped (paragraphs
split on blank lines), never from `body_html`. Operator text is data, and one escaping path for
all three outputs is easier to trust than HTML passed through. Each update of an incident is its
own entry; its category term `incident:<id>` ties the updates of one incident together.
Delivering the same message id again rewrites the same entry: idempotent.

A `clear` message (a withdrawal) takes back the incident's earlier items: they leave the index,
the feed and entries.json, and each of their pages is rewritten to say it was withdrawn and to
link to the correction, which is published as an item of its own and stays. A reader who
follows an old link or sees the feed again meets the correction, never the mistaken text as if
it were true. Items of other incidents, and earlier corrections, are left alone.
"""

from __future__ import annotations

import html
import json
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from feedgen.feed import FeedGenerator
from filelock import FileLock

from channels.declarations import BUILTIN_SETTINGS
from channels.file_outbox import atomic_write, safe_name
from channels.mime import clean_header, clean_text, html_datetime, paragraphs_html
from channels.refusals import SettingRefused, publish_folder
from engine.definition.channel_settings import ChannelSettings
from engine.domain.model import RecipientStatus
from engine.ports import ChannelStatus, DeliveryReport, OutgoingMessage, RecipientResult

__all__ = ["NewsChannel", "build_feed"]

_KEEP_ENTRIES = 1000  # entries.json stays small; older pages remain on disk
_LABELS = {
    "sv": {
        "site": "Driftinformation",
        "published": "Publicerad",
        "all": "Alla driftmeddelanden",
        "feed": "Prenumerera via Atom-flöde",
        "exercise": "Övning",
        "empty": "Inga driftmeddelanden.",
        "withdrawn": "Återkallat",
        "withdrawn_text": "Det här meddelandet har återkallats och gäller inte.",
        "correction": "Läs rättelsen",
    },
    "en": {
        "site": "Service status",
        "published": "Published",
        "all": "All service messages",
        "feed": "Subscribe via Atom feed",
        "exercise": "Exercise",
        "empty": "No service messages.",
        "withdrawn": "Withdrawn",
        "withdrawn_text": "This message has been withdrawn and does not apply.",
        "correction": "Read the correction",
    },
}

Entry = dict[str, Any]


def _iso(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat()


def _labels(language: str) -> dict[str, str]:
    return _LABELS.get(language, _LABELS["sv"])


def _newest_first(entries: Sequence[Entry]) -> list[Entry]:
    return sorted(entries, key=lambda e: (e["published"], e["message_id"]), reverse=True)


def build_feed(
    entries: Sequence[Entry], *, feed_id: str, title: str, language: str, base_url: str
) -> bytes:
    """The Atom feed (bytes, UTF-8) of `entries`, newest first; text content only."""
    feed = FeedGenerator()
    feed.id(feed_id)
    feed.title(title)
    feed.language(language)
    feed.author({"name": title})
    if base_url:
        feed.link(href=f"{base_url}news/feed.atom", rel="self")
        feed.link(href=f"{base_url}news/index.html", rel="alternate")
    else:
        feed.link(href="index.html", rel="alternate")
    ordered = _newest_first(entries)
    # A fixed "updated" keeps the file byte-identical when nothing changed (idempotent re-delivery).
    feed.updated(ordered[0]["published"] if ordered else "1970-01-01T00:00:00+00:00")
    for entry in ordered:
        item = feed.add_entry(order="append")
        item.id("urn:driftplan:message:" + quote(entry["message_id"], safe="@.-_~"))
        item.title(entry["title"] or entry["incident_id"])
        item.published(entry["published"])
        item.updated(entry["published"])
        item.link(href=f"{base_url}news/{entry['page']}" if base_url else entry["page"])
        item.category(
            term=f"incident:{entry['incident_id']}",
            label=entry.get("incident_title") or entry["incident_id"],
        )
        item.content(entry["text"] or entry["title"], type="text")
    data: bytes = feed.atom_str(pretty=True)
    return data


class NewsChannel:
    """Publishes news pages and the Atom feed (kind "news")."""

    kind = "news"
    settings_spec: ClassVar[ChannelSettings] = BUILTIN_SETTINGS["news"]

    def __init__(self, settings: Mapping[str, str], *, data_dir: str) -> None:
        self._root = publish_folder(self.kind, settings, data_dir)
        self._dir = self._root / "news"
        base_url = settings.get("base_url", "").strip()
        self._base_url = base_url.rstrip("/") + "/" if base_url else ""
        self._settings = dict(settings)
        try:
            self._max = max(1, int(settings.get("max_entries", "") or "50"))
        except ValueError:
            self._max = 50
        self._lock = threading.Lock()

    @staticmethod
    def status(settings: Mapping[str, str], *, data_dir: str) -> ChannelStatus:
        """Live: the files are the channel; refused when the folder is outside the allowed roots."""
        base_url = settings.get("base_url", "").strip()
        try:
            root = publish_folder("news", settings, data_dir)
        except SettingRefused as exc:
            shown = settings.get("publish_dir", "")
            return ChannelStatus(live=False, target=f"file:{shown}", refused=str(exc))
        target = f"{base_url.rstrip('/')}/news/" if base_url else f"file:{root / 'news'}"
        return ChannelStatus(live=True, target=target)

    def _zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self._settings.get("timezone", "") or "Europe/Stockholm")
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")

    def _shown(self, iso: str) -> str:
        return datetime.fromisoformat(iso).astimezone(self._zone()).strftime("%Y-%m-%d %H:%M")

    def _load(self) -> list[Entry]:
        try:
            data = json.loads((self._dir / "entries.json").read_text("utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError):
            # A damaged index must not stop the notice going out; it is rebuilt from now on.
            return []
        entries = data.get("entries", []) if isinstance(data, dict) else []
        return [e for e in entries if isinstance(e, dict) and "message_id" in e]

    def _entry(self, message: OutgoingMessage) -> Entry:
        return {
            "message_id": message.message_id,
            "page": f"{safe_name(message.message_id)}.html",
            "incident_id": clean_header(message.incident_id),
            "incident_title": clean_header(message.incident_title),
            "state": clean_header(message.incident_state),
            "title": clean_header(message.subject),
            "text": clean_text(message.body_text).strip(),
            "language": clean_header(message.language) or "sv",
            "published": _iso(message.created_at),
            "exercise": message.exercise,
            "clear": message.clear,
        }

    def _page(self, entry: Entry) -> str:
        words = _labels(entry["language"])
        title = html.escape(entry["title"])
        exercise = f" · <strong>{words['exercise']}</strong>" if entry["exercise"] else ""
        return self._document(
            entry["language"],
            f"{title} – {html.escape(self._site_title(entry['language']))}",
            f"<article>\n<h1>{title}</h1>\n"
            f'<p class="meta">{words["published"]} '
            f'<time datetime="{html_datetime(entry["published"])}">'
            f"{self._shown(entry['published'])}</time>{exercise}</p>\n"
            f"{paragraphs_html(entry['text'])}\n</article>\n"
            f'<p><a href="index.html">{words["all"]}</a></p>',
        )

    def _withdrawn_page(self, old: Entry, correction: Entry) -> str:
        """The page at a withdrawn item's address: that it was withdrawn, and the correction."""
        words = _labels(correction["language"])
        title = html.escape(f"{words['withdrawn']}: {old['title']}")
        href = html.escape(correction["page"], quote=True)
        return self._document(
            correction["language"],
            f"{title} – {html.escape(self._site_title(correction['language']))}",
            f"<article>\n<h1>{title}</h1>\n<p><strong>{words['withdrawn_text']}</strong></p>\n"
            f'<p class="meta">{words["withdrawn"]} '
            f'<time datetime="{html_datetime(correction["published"])}">'
            f"{self._shown(correction['published'])}</time></p>\n"
            f"<h2>{html.escape(correction['title'])}</h2>\n"
            f"{paragraphs_html(correction['text'])}\n</article>\n"
            f'<p><a href="{href}">{words["correction"]}</a> · '
            f'<a href="index.html">{words["all"]}</a></p>',
        )

    def _index(self, entries: Sequence[Entry], language: str) -> str:
        words = _labels(language)
        items = [
            f'<li><a href="{html.escape(e["page"], quote=True)}">{html.escape(e["title"])}</a> '
            f'<time datetime="{html_datetime(e["published"])}">{self._shown(e["published"])}</time>'
            + (f" · {words['exercise']}" if e["exercise"] else "")
            + "</li>"
            for e in entries
        ]
        listing = "<ul>\n" + "\n".join(items) + "\n</ul>" if items else f"<p>{words['empty']}</p>"
        site = html.escape(self._site_title(language))
        return self._document(
            language,
            site,
            f'<h1>{site}</h1>\n{listing}\n<p><a href="feed.atom">{words["feed"]}</a></p>',
        )

    def _site_title(self, language: str) -> str:
        return clean_header(self._settings.get("title", "")) or _labels(language)["site"]

    @staticmethod
    def _document(language: str, title: str, body: str) -> str:
        return (
            f'<!DOCTYPE html>\n<html lang="{html.escape(language, quote=True)}">\n<head>\n'
            '<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{title}</title>\n"
            '<link rel="alternate" type="application/atom+xml" href="feed.atom">\n'
            f"</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
        )

    def deliver(self, message: OutgoingMessage) -> DeliveryReport:
        """Publish the message's page and regenerate the index, the feed and entries.json."""
        entry = self._entry(message)
        self._dir.mkdir(parents=True, exist_ok=True)
        with self._lock, FileLock(str(self._dir / ".driftplan-news.lock")):
            entries = [e for e in self._load() if e["message_id"] != entry["message_id"]]
            if message.clear:
                entries = self._take_back(entries, entry)
            entries = _newest_first([entry, *entries])[:_KEEP_ENTRIES]
            atomic_write(self._dir / entry["page"], self._page(entry).encode("utf-8"))
            listed = entries[: self._max]
            language = entry["language"]
            atomic_write(self._dir / "index.html", self._index(listed, language).encode("utf-8"))
            feed = build_feed(
                listed,
                feed_id=self._settings.get("feed_id", "")
                or "urn:driftplan:news:" + quote(message.channel, safe=""),
                title=self._site_title(language),
                language=language,
                base_url=self._base_url,
            )
            atomic_write(self._dir / "feed.atom", feed)
            index = json.dumps({"version": 1, "entries": entries}, ensure_ascii=False, indent=1)
            atomic_write(self._dir / "entries.json", index.encode("utf-8") + b"\n")
        page = self._dir / entry["page"]
        address = f"{self._base_url}news/{entry['page']}" if self._base_url else str(page)
        target = f"{self._base_url}news/" if self._base_url else f"file:{self._dir}"
        return DeliveryReport(
            [RecipientResult(address, RecipientStatus.SENT, "news entry published")], target
        )

    def _take_back(self, entries: Sequence[Entry], correction: Entry) -> list[Entry]:
        """`entries` without the items the `correction` withdraws; their pages now say so."""
        kept: list[Entry] = []
        for old in entries:
            if old["incident_id"] != correction["incident_id"] or old.get("clear"):
                kept.append(old)
                continue
            page = self._withdrawn_page(old, correction)
            atomic_write(self._dir / old["page"], page.encode("utf-8"))
        return kept

    def close(self) -> None:
        """Nothing to release."""
