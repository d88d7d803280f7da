"""Rendering pages: Jinja2 templates (autoescaped) in `templates/`, Swedish first.

Every page extends `base.html`, which loads the one stylesheet and no inline script (the CSP
forbids it). `render` adds what every page needs: the signed-in person and their CSRF token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader

HERE = Path(__file__).parent
# Autoescape on for every template, whatever its file name (a .txt or .svg page included).
templates = Jinja2Templates(
    env=Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True)
)

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


def error_page(request: Request, status: int, text: str) -> HTMLResponse:
    """The page people see for an error: what happened, in Swedish, and a way back."""
    return render(
        request,
        "error.html",
        {"status": status, "title": STATUS_TITLES.get(status, "Något gick fel"), "text": text},
        status,
    )
