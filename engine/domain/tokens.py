"""Unguessable tokens for links people receive (subscription confirm and unsubscribe links).

A token is the only key to what its link does, so it carries 192 random bits. It is URL-safe
base64 and never begins with "-": people paste tokens into `driftplan subscribers confirm TOKEN`,
and a leading dash would be read as an option (one token in 64 did, and the command failed).
"""

from __future__ import annotations

import secrets

__all__ = ["new_link_token", "token_from_link"]


def new_link_token() -> str:
    """A fresh 32-character URL-safe token that does not begin with "-"."""
    while True:
        token = secrets.token_urlsafe(24)
        if not token.startswith("-"):
            return token


def token_from_link(text: str) -> str:
    """The token in what a person pasted: the token itself, or the whole link that holds it.

    The link's last path segment is the token (`…/subscribe/confirm/TOKEN`); a query string or
    fragment a mail client added is dropped.
    """
    text = text.strip()
    if "://" not in text:
        return text
    path = text.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    return path.rsplit("/", 1)[-1]
