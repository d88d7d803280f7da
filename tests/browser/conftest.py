"""Fixtures of the browser tests: Debian's Chromium driven by Playwright against the served app.

Chromium is the machine's (/usr/bin/chromium), not a Playwright download (the network is
closed); the flags keep it from reaching out at start, which would stall it here. Without the
binary the tests skip, saying why, except in CI (CI=true), where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from tests.web.conftest import Live, serve

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE: ViewportSize = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """One headless Chromium for the session's browser tests."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is absent (apt-get install -y chromium), so no browser test can run"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI=true requires it.")
        print(f"SKIP: {reason}.")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=FLAGS, headless=True, timeout=60_000
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def phone(chromium: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) with a phone-sized viewport."""
    context = chromium.new_context(viewport=PHONE, locale="sv-SE", is_mobile=True, has_touch=True)
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def live_sqlite(tmp_path: Path) -> Iterator[Live]:
    """The application served on loopback on a SQLite file."""
    yield from serve(tmp_path, f"sqlite:///{tmp_path / 'driftplan.db'}")
