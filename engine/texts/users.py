"""Texts of `driftplan users`: passwords and API tokens."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "user_password_set": {
        "sv": "Lösenordet för {person} är satt.",
        "en": "Password set for {person}.",
    },
    "user_prompt": {"sv": "Nytt lösenord för {person}: ", "en": "New password for {person}: "},
    "user_again": {"sv": "Samma lösenord igen: ", "en": "The same password again: "},
    "user_mismatch": {
        "sv": "Lösenorden är inte lika; inget ändrades.",
        "en": "The passwords differ; nothing was changed.",
    },
    "user_token_made": {
        "sv": "API-nyckel {id} ({name}) för {person}. Den visas bara nu; spara den säkert:",
        "en": "API token {id} ({name}) for {person}. It is shown only now; keep it safe:",
    },
    "user_revoked": {"sv": "Nyckeln {id} är återkallad.", "en": "Token {id} is revoked."},
    "user_no_tokens": {
        "sv": "{person} har inga API-nycklar.",
        "en": "{person} has no API tokens.",
    },
    "user_token_active": {"sv": "aktiv", "en": "active"},
    "user_token_revoked_at": {"sv": "återkallad {at}", "en": "revoked {at}"},
}
