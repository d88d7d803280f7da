"""Texts of `driftplan serve`."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "serve_ready": {
        "sv": "driftplan är igång på {url} (data: {data}).\n"
        "Logga in: sätt ett lösenord med `driftplan users set-password PERSON` och gå till "
        "{url}/logga-in. API: {url}/docs, nyckel med `driftplan users token PERSON`.\n"
        "Stoppa med Ctrl+C.",
        "en": "driftplan is running at {url} (data: {data}).\n"
        "Sign in: set a password with `driftplan users set-password PERSON` and open "
        "{url}/logga-in. API: {url}/docs, a token with `driftplan users token PERSON`.\n"
        "Stop with Ctrl+C.",
    },
    "serve_needs_public_url": {
        "sv": "För att köra på {host} behövs DRIFTPLAN_PUBLIC_URL: https-adressen som "
        "människor når tjänsten på (varje länk i ett meddelande börjar med den).",
        "en": "Serving on {host} needs DRIFTPLAN_PUBLIC_URL: the https address people reach "
        "this service at (every link in a message starts with it).",
    },
}
