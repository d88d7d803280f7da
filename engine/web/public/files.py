"""The published files, served here too: `/public/banner.json|.html|.js|.css`, `/public/news/`
and `/public/feed.atom`.

The banner and news channels write static files (`channels.banner`, `channels.news`) so that any
web server can host them while SAMSA and this process are down; this router serves the same
files from the folder the plan's channel writes to, so an installation without a separate web
server has them too. Nothing is rendered here but the two files that exist before the first
notice: an inactive `banner.json` (the script then shows nothing) and an empty feed.

Cache headers: the notice itself (`banner.json`, `banner.html`) is revalidated on every load,
since a stale "all clear" or a stale alarm is worse than a request; the script, its stylesheet
and the news are cached briefly. The banner files may be fetched from the host page's origin
(the login page of SAMSA), so they allow any origin to read them: they are public by design.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from channels.banner import BANNER_CSS, banner_fragment, banner_script
from channels.news import build_feed
from channels.refusals import publish_folder
from engine.errors import NotFound
from engine.web.auth import wired
from engine.web.pages import language_of
from engine.web.public.common import public_page
from engine.web.public.words import PublicWords

router = APIRouter(include_in_schema=False)

NOTICE_CACHE = "no-cache"  # always revalidated (ETag / Last-Modified)
ASSET_CACHE = "public, max-age=300"
NEWS_CACHE = "public, max-age=60"
_CROSS_ORIGIN = {"access-control-allow-origin": "*", "cross-origin-resource-policy": "cross-origin"}
_NEWS_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,200}\.(html|atom)$")
_TYPES = {"html": "text/html; charset=utf-8", "atom": "application/atom+xml; charset=utf-8"}


def _folder(request: Request, kind: str) -> tuple[Path, dict[str, str]]:
    """The folder the installed plan's first channel of `kind` publishes to, and its settings."""
    app = wired(request)
    workflow = app.plans.current().workflow
    found = next(((n, c) for n, c in workflow.channels.items() if c.kind == kind), None)
    if found is None:
        raise NotFound(
            f"The plan has no {kind} channel, so nothing is published here.",
            sv=f"Planen har ingen kanal av typen {kind}, så inget publiceras här.",
        )
    name, spec = found
    settings = app.channels.resolve(kind, spec.settings, app.dispatcher.environ)
    settings.setdefault("channel", name)
    return publish_folder(kind, settings, str(app.settings.data)), settings


def _banner_file(request: Request, suffix: str) -> tuple[Path, str]:
    folder, settings = _folder(request, "banner")
    prefix = settings.get("name_prefix", "")
    return folder / f"{prefix}banner.{suffix}", prefix


@router.get("/public/banner.json")
def banner_json(request: Request) -> Response:
    """The current notice (`docs/banner.schema.json`); inactive before the first one."""
    path, _ = _banner_file(request, "json")
    headers = {"cache-control": NOTICE_CACHE, **_CROSS_ORIGIN}
    if path.is_file():
        return FileResponse(path, media_type="application/json", headers=headers)
    inactive = json.dumps({"schema_version": 1, "active": False})
    return Response(inactive, media_type="application/json", headers=headers)


@router.get("/public/banner.html")
def banner_html(request: Request) -> Response:
    """The notice as an HTML fragment for server-side includes."""
    path, _ = _banner_file(request, "html")
    headers = {"cache-control": NOTICE_CACHE, **_CROSS_ORIGIN}
    if path.is_file():
        return FileResponse(path, media_type="text/html; charset=utf-8", headers=headers)
    return Response(banner_fragment({}), media_type="text/html; charset=utf-8", headers=headers)


@router.get("/public/banner.js")
def banner_js() -> Response:
    """The script a host page includes to show the notice."""
    headers = {"cache-control": ASSET_CACHE, **_CROSS_ORIGIN}
    # Without the channel's file prefix: the script reads the JSON and the stylesheet next to
    # its own URL, so it names the files as they are served here.
    return Response(banner_script(""), media_type="text/javascript; charset=utf-8", headers=headers)


@router.get("/public/banner.css")
def banner_css() -> Response:
    """The notice's own stylesheet (its colour follows the severity)."""
    headers = {"cache-control": ASSET_CACHE, **_CROSS_ORIGIN}
    return Response(BANNER_CSS, media_type="text/css; charset=utf-8", headers=headers)


@router.get("/public/news")
def news_folder() -> RedirectResponse:
    """The news index lives at `/public/news/`, where its relative links resolve."""
    return RedirectResponse("/public/news/", status_code=308)


@router.get("/public/news/")
def news_index(request: Request) -> Response:
    """The news index page, newest first."""
    return news_file(request, "index.html")


@router.get("/public/feed.atom")
def feed(request: Request) -> Response:
    """The Atom feed of the news."""
    return news_file(request, "feed.atom")


@router.get("/public/news/{name}")
def news_file(request: Request, name: str) -> Response:
    """One published news file (a page, the index or the feed)."""
    match = _NEWS_FILE.match(name)
    if match is None or ".." in name:
        raise _missing(name)
    root, settings = _folder(request, "news")
    path = root / "news" / name
    media_type = _TYPES[match.group(1)]
    headers = {"cache-control": NEWS_CACHE}
    if path.is_file():
        return FileResponse(path, media_type=media_type, headers=headers)
    if name == "feed.atom":
        language = wired(request).plans.current().language
        empty = build_feed(
            [],
            feed_id=settings.get("feed_id", "") or "urn:driftplan:news:" + settings["channel"],
            title=settings.get("title", "") or wired(request).plans.current().workflow.service.name,
            language=language,
            base_url="",
        )
        return Response(empty, media_type=media_type, headers=headers)
    if name == "index.html":
        words = PublicWords(language_of(request))
        return public_page(
            request, "public_message.html", {"heading": words.news, "text": words.no_news}
        )
    raise _missing(name)


def _missing(name: str) -> NotFound:
    return NotFound(
        f"No published news file '{name}'.", sv=f"Det finns ingen publicerad nyhet '{name}'."
    )
