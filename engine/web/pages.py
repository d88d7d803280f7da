"""Rendering pages: Jinja2 templates (autoescaped) in `templates/`, Swedish first.

Every page extends `base.html`, which loads the one stylesheet and no inline script (the CSP
forbids it). `render` adds what every page needs: the signed-in person and their CSRF token.
The operator's pages speak Swedish unless the person chose English with `?lang=en`, which a
cookie remembers (`language_of`, `operator_page`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader

from engine.web.ui.words import LANGUAGES, Words

HERE = Path(__file__).parent
LANG_COOKIE = "driftplan_lang"
LANG_COOKIE_AGE = 365 * 24 * 3600
# Autoescape on for every template, whatever its file name (a .txt or .svg page included).
templates = Jinja2Templates(
    env=Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True)
)

# The only value shapes an <input type=datetime-local> may hold; anything else typed is kept
# out of the input (the field's message quotes it) so the page stays valid HTML.
_DATETIME_LOCAL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")
templates.env.tests["datetime_local"] = lambda value: bool(_DATETIME_LOCAL.match(str(value)))

STATUS_TITLES = {
    400: "Felaktig begäran",
    401: "Du behöver logga in",
    403: "Det går inte",
    404: "Sidan finns inte",
    405: "Det går inte att göra så här",
    409: "Något hann ändras",
    422: "Uppgifterna behöver rättas",
    429: "För många försök",
    500: "Något gick fel",
    503: "Tjänsten är inte redo",
}


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    """Render template `name` with `context` plus `caller` (or None) and `lang`."""
    values: dict[str, Any] = {"lang": "sv", "caller": None, "csrf": ""}
    values.update(context or {})
    response: HTMLResponse = templates.TemplateResponse(request, name, values, status_code=status)
    return response


def language_of(request: Request) -> str:
    """The page language: `?lang=` when given and known, else the cookie's, else Swedish."""
    asked = request.query_params.get("lang", "")
    if asked in LANGUAGES:
        return asked
    kept = request.cookies.get(LANG_COOKIE, "")
    return kept if kept in LANGUAGES else "sv"


def remember_language(request: Request, response: Response) -> None:
    """Keep a `?lang=` choice in a cookie, so every later page speaks it too."""
    asked = request.query_params.get("lang", "")
    if asked in LANGUAGES:
        response.set_cookie(
            LANG_COOKIE,
            asked,
            max_age=LANG_COOKIE_AGE,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )


def operator_page(
    request: Request,
    name: str,
    context: dict[str, Any],
    status: int = 200,
) -> HTMLResponse:
    """An operator's page in the person's language, with `w` (the words) and a language switch
    back to the same path."""
    lang = language_of(request)
    other = "en" if lang == "sv" else "sv"
    values = {
        "lang": lang,
        "w": Words(lang),
        "lang_href": f"{request.url.path}?lang={other}",
        "nav": True,
        **context,
    }
    response = render(request, name, values, status)
    remember_language(request, response)
    return response


def error_page(request: Request, status: int, text: str) -> HTMLResponse:
    """The page people see for an error: what happened, in Swedish, and a way back."""
    return render(
        request,
        "error.html",
        {"status": status, "title": STATUS_TITLES.get(status, "Något gick fel"), "text": text},
        status,
    )
