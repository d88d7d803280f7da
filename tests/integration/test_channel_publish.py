"""The published channels (login banner, news pages, Atom feed) as the files a web server serves."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from lxml import etree

from channels.banner import BannerChannel
from channels.news import NewsChannel
from tests.channel_helpers import CREATED, make_message

ATOM = "{http://www.w3.org/2005/Atom}"
SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "banner.schema.json").read_text("utf-8"))


def validate(document: Any, schema: dict[str, Any] = SCHEMA, where: str = "$") -> None:
    """A tiny JSON-schema subset validator: type, const, enum, required, additionalProperties,
    minLength and format date-time — the keywords docs/banner.schema.json uses."""
    names = {"object": dict, "string": str, "boolean": bool, "integer": int, "null": type(None)}
    types = schema.get("type")
    if types is not None:
        allowed = types if isinstance(types, list) else [types]
        ok = any(
            isinstance(document, names[t]) and not (t == "integer" and isinstance(document, bool))
            for t in allowed
        )
        assert ok, f"{where}: {document!r} is not {allowed}"
    if "const" in schema:
        assert document == schema["const"], where
    if "enum" in schema:
        assert document in schema["enum"], f"{where}: {document!r} not in {schema['enum']}"
    if "minLength" in schema and isinstance(document, str):
        assert len(document) >= schema["minLength"], where
    if schema.get("format") == "date-time" and isinstance(document, str):
        assert datetime.fromisoformat(document).tzinfo is not None, where
    if isinstance(document, dict):
        for key in schema.get("required", []):
            assert key in document, f"{where}: missing {key}"
        props = schema.get("properties", {})
        if schema.get("additionalProperties") is False:
            assert set(document) <= set(props), f"{where}: extra {set(document) - set(props)}"
        for key, value in document.items():
            if key in props:
                validate(value, props[key], f"{where}.{key}")


def _banner(tmp_path: Path, **settings: str) -> BannerChannel:
    return BannerChannel(
        {"publish_dir": str(tmp_path / "public"), **settings}, data_dir=str(tmp_path)
    )


def _news(tmp_path: Path, **settings: str) -> NewsChannel:
    return NewsChannel(
        {"publish_dir": str(tmp_path / "public"), **settings}, data_dir=str(tmp_path)
    )


def _json(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


def test_banner_publishes_three_files(tmp_path: Path) -> None:
    """A notice becomes banner.json (valid per schema), an escaped fragment and the script."""
    report = _banner(tmp_path).deliver(make_message(channel="login_page", subject="SAMSA <nere>"))
    public = tmp_path / "public"
    document = _json(public / "banner.json")
    validate(document)
    assert document["active"] is True and document["title"] == "SAMSA <nere>"
    assert document["incident_id"] == "INC-42" and document["updated_at"] == "2025-03-04T08:30:00Z"
    fragment = (public / "banner.html").read_text("utf-8")
    assert "SAMSA &lt;nere&gt;" in fragment and 'lang="sv"' in fragment
    assert ">2025-03-04 09:30</time>" in fragment  # shown in Swedish time, stored in UTC
    script = (public / "banner.js").read_text("utf-8")
    assert "textContent" in script and '"banner.json"' in script
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script
    assert report.live and [r.status for r in report.results] == ["sent"]


def test_clear_withdraws_the_notice(tmp_path: Path) -> None:
    """A clear message sets active false and leaves no notice in the fragment."""
    channel = _banner(tmp_path)
    channel.deliver(make_message())
    later = CREATED + timedelta(hours=2)
    channel.deliver(make_message(message_id="m-2@t", clear=True, created_at=later))
    document = _json(tmp_path / "public" / "banner.json")
    validate(document)
    assert document["active"] is False and document["message_id"] == "m-2@t"
    assert "<div" not in (tmp_path / "public" / "banner.html").read_text("utf-8")


def test_banner_ignores_late_retries_and_foreign_clears(tmp_path: Path) -> None:
    """An older message, a clear of another incident, or an exercise never replaces the notice."""
    channel = _banner(tmp_path)
    newest = make_message(message_id="new@t", created_at=CREATED + timedelta(minutes=30))
    channel.deliver(newest)
    channel.deliver(make_message(message_id="old@t"))
    channel.deliver(
        make_message(
            message_id="other@t",
            incident_id="INC-7",
            clear=True,
            created_at=CREATED + timedelta(hours=1),
        )
    )
    report = channel.deliver(
        make_message(message_id="drill@t", exercise=True, created_at=CREATED + timedelta(hours=1))
    )
    document = _json(tmp_path / "public" / "banner.json")
    assert document["message_id"] == "new@t" and document["active"] is True
    assert "unchanged" in report.results[0].detail


def test_banner_redelivery_and_prefix(tmp_path: Path) -> None:
    """The same message twice gives identical files; name_prefix separates two banners."""
    channel = _banner(tmp_path, name_prefix="intern-")
    channel.deliver(make_message())
    first = (tmp_path / "public" / "intern-banner.json").read_bytes()
    channel.deliver(make_message())
    assert (tmp_path / "public" / "intern-banner.json").read_bytes() == first
    assert '"intern-banner.json"' in (tmp_path / "public" / "intern-banner.js").read_text("utf-8")
    assert not (tmp_path / "public" / "banner.json").exists()


def test_news_pages_index_and_feed(tmp_path: Path) -> None:
    """Each update is its own page and feed entry, newest first, tagged with its incident."""
    channel = _news(tmp_path, base_url="https://status.example.se/")
    channel.deliver(make_message(message_id="n1@t", subject="Störning", channel="web_news"))
    channel.deliver(
        make_message(
            message_id="n2@t",
            subject="Uppdatering",
            body_text="Reservrutin gäller.\nRing 1177 vid behov.",
            created_at=CREATED + timedelta(hours=1),
            channel="web_news",
        )
    )
    channel.deliver(make_message(message_id="n1@t", subject="Störning", channel="web_news"))
    news = tmp_path / "public" / "news"
    assert len(_json(news / "entries.json")["entries"]) == 2
    pages = sorted(p.name for p in news.glob("*.html") if p.name != "index.html")
    assert len(pages) == 2
    index = lxml.html.fromstring((news / "index.html").read_text("utf-8"))
    assert [a.text for a in index.iter("a")][:2] == ["Uppdatering", "Störning"]
    page = next(p for p in news.glob("n2*.html"))
    doc = lxml.html.fromstring(page.read_text("utf-8"))
    assert doc.get("lang") == "sv"
    assert "Ring 1177 vid behov." in doc.text_content()

    feed = etree.fromstring((news / "feed.atom").read_bytes())
    assert feed.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert feed.find(f"{ATOM}{name}") is not None
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == ["Uppdatering", "Störning"]
    for entry in entries:
        for name in ("id", "title", "updated"):
            assert entry.findtext(f"{ATOM}{name}"), name
        assert entry.find(f"{ATOM}category").get("term") == "incident:INC-42"
        assert entry.find(f"{ATOM}link").get("href").startswith("https://status.example.se/news/")
    assert entries[0].findtext(f"{ATOM}content") == "Reservrutin gäller.\nRing 1177 vid behov."
    assert len({e.findtext(f"{ATOM}id") for e in entries}) == 2


XSS_BASE = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '<img src="x" onerror="alert(1)">',
    "<svg onload=alert(1)>",
    "<svg/onload=alert(1)>",
    "<body onload=alert(1)>",
    '<a href="javascript:alert(1)">klicka</a>',
    "<a href=JaVaScRiPt:alert(1)>x</a>",
    '"><script>alert(1)</script>',
    "'><img src=x onerror=alert(1)>",
    '" onmouseover="alert(1)',
    "' onfocus='alert(1)' autofocus='",
    "<iframe src=javascript:alert(1)></iframe>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<details open ontoggle=alert(1)>",
    '<input autofocus onfocus="alert(1)">',
    "<video><source onerror=alert(1)></video>",
    "<object data=javascript:alert(1)></object>",
    "<embed src=javascript:alert(1)>",
    "</title><script>alert(1)</script>",
    "</textarea><script>alert(1)</script>",
    "<!--<script>alert(1)</script>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "]]><script>alert(1)</script>",
    "<style>@import 'javascript:alert(1)'</style>",
    "<meta http-equiv=refresh content='0;url=javascript:alert(1)'>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "\uff1cscript\uff1ealert(1)\uff1c/script\uff1e",
    "<script\x00>alert(1)</script>",
    "<img\x0bsrc=x\x0conerror=alert(1)>",
    "\u202e<script>alert(1)</script>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    '<div style="background:url(javascript:alert(1))">',
]
XSS_WRAPS = ["{}", "Driftstörning {}", "{}\n\nNästa uppdatering 09:30", "ÅÄÖ {} åäö"]
XSS_PAYLOADS = [wrap.format(p) for p in XSS_BASE for wrap in XSS_WRAPS][:100]
EVENT_ATTR_IN_TAG = re.compile(r"<[^>]*\son\w+\s*=", re.IGNORECASE)


def _assert_inert_html(text: str, where: str) -> None:
    assert "<script" not in text.lower(), where
    assert not EVENT_ATTR_IN_TAG.search(text), where
    root = lxml.html.document_fromstring(text) if text.strip().startswith("<!") else None
    root = root if root is not None else lxml.html.fragment_fromstring(text, create_parent="div")
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        assert element.tag not in {"script", "iframe", "object", "embed", "svg", "img", "style"}, (
            where
        )
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), where
            assert not value.strip().lower().startswith("javascript:"), where


def test_operator_text_is_never_active_content(tmp_path: Path) -> None:
    """100 XSS payloads in subject and text stay inert in banner, news pages, index and feed."""
    assert len(XSS_PAYLOADS) == 100
    banner = _banner(tmp_path)
    news = _news(tmp_path, max_entries="200")
    public = tmp_path / "public"
    for n, payload in enumerate(XSS_PAYLOADS):
        message = make_message(
            message_id=f"x{n}@t",
            subject=payload,
            body_text=payload,
            incident_title=payload,
            created_at=CREATED + timedelta(minutes=n),
            extra={"severity": payload},
        )
        banner.deliver(message)
        news.deliver(message)
        _assert_inert_html((public / "banner.html").read_text("utf-8"), f"banner {n}")
        validate(_json(public / "banner.json"))
    for page in (public / "news").glob("*.html"):
        _assert_inert_html(page.read_text("utf-8"), page.name)
    raw = (public / "news" / "feed.atom").read_text("utf-8")
    assert "<script" not in raw.lower()
    feed = etree.fromstring(raw.encode("utf-8"))
    assert len(feed.findall(f"{ATOM}entry")) == 100
    for element in feed.iter():
        assert etree.QName(element).namespace == ATOM.strip("{}")
        assert not any(name.lower().startswith("on") for name in element.attrib)
    contents = {e.findtext(f"{ATOM}content") for e in feed.iter(f"{ATOM}entry")}
    assert "<img src=x onerror=alert(1)>" in contents  # kept as text, escaped by XML


@pytest.mark.parametrize("kind", [BannerChannel, NewsChannel])
def test_published_channels_are_always_live(tmp_path: Path, kind: Any) -> None:
    """Banner and news need no connection: status is live, defaulting to <data_dir>/public."""
    status = kind.status({}, data_dir=str(tmp_path))
    assert status.live and str(tmp_path / "public") in status.target
