"""The newsletter channel (kind "newsletter"): e-mail to subscribers, with one-click unsubscribe.

Owns only what a subscriber mail adds to a plain e-mail: the recipient's own unsubscribe link in
the text and HTML bodies, `List-Unsubscribe` + `List-Unsubscribe-Post` (RFC 8058 one-click, which
large mailbox providers require for bulk mail) and `List-Id` (RFC 2919). Sending, retries and the
file outbox are `EmailChannel`'s. A subscriber without a usable unsubscribe URL gets nothing
(permanent, per recipient): bulk mail without a way out must not be sent.

The unsubscribe URL must be https: RFC 8058 one-click needs it, and a plain-http link would carry
the subscriber's token in clear. Plain http is accepted only for this machine (127.0.0.0/8, ::1,
localhost — the loopback development setup `DRIFTPLAN_PUBLIC_URL` allows), and such a copy has
`List-Unsubscribe` without `List-Unsubscribe-Post`, since one-click is defined for https only.
"""

from __future__ import annotations

import html
import ipaddress
import re
from email.headerregistry import Address
from email.message import EmailMessage
from typing import ClassVar
from urllib.parse import urlsplit

from channels.declarations import BUILTIN_SETTINGS
from channels.mime import build_email, envelope_address, insert_html, text_to_html
from channels.smtp_email import EmailChannel
from engine.definition.channel_settings import ChannelSettings
from engine.ports import OutgoingMessage, Recipient

__all__ = ["NewsletterChannel", "check_unsubscribe_url"]

_LABELS = {
    "sv": ("Avsluta prenumerationen", "Du får det här meddelandet eftersom du prenumererar."),
    "en": ("Unsubscribe", "You receive this message because you subscribed."),
}
_FORBIDDEN_IN_URL = re.compile(r"[\s<>\"'\\]")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_unsubscribe_url(url: str | None) -> str:
    """`url` if it is an absolute https URL (http only on loopback) safe in a header and an
    href; else ValueError."""
    if not url:
        raise ValueError("subscriber has no unsubscribe URL")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc or _FORBIDDEN_IN_URL.search(url):
        raise ValueError(f"unusable unsubscribe URL {url!r}")
    if parts.scheme == "http" and not _loopback(parts.hostname or ""):
        raise ValueError(
            f"unsubscribe URL {url!r} is not https; set DRIFTPLAN_PUBLIC_URL to the https "
            "address of the service"
        )
    return url


class NewsletterChannel(EmailChannel):
    """E-mail to newsletter subscribers (kind "newsletter")."""

    kind = "newsletter"
    settings_spec: ClassVar[ChannelSettings] = BUILTIN_SETTINGS["newsletter"]

    def list_id(self, message: OutgoingMessage) -> str:
        """`List-Id`: the setting "list_id", else `<channel.sender-domain>`."""
        configured = self.settings.get("list_id", "").strip()
        if configured:
            return configured if configured.endswith(">") else f"<{configured}>"
        domain = envelope_address(self.mail_from).rpartition("@")[2] or "driftplan.invalid"
        label = re.sub(r"[^A-Za-z0-9-]+", "-", message.channel).strip("-") or "news"
        return f"<{label}.{domain}>"

    def compose(self, message: OutgoingMessage, recipient: Recipient, to: Address) -> EmailMessage:
        """The e-mail copy plus this subscriber's unsubscribe link and list headers."""
        url = check_unsubscribe_url(recipient.unsubscribe_url)
        link_text, reason = _LABELS.get(message.language, _LABELS["sv"])
        text = f"{message.body_text.rstrip()}\n\n-- \n{reason}\n{link_text}: {url}\n"
        rich = (
            message.body_html
            if message.body_html.strip()
            else text_to_html(message.body_text, language=message.language)
        )
        footer = (
            f'\n<hr>\n<p>{html.escape(reason)} <a href="{html.escape(url, quote=True)}">'
            f"{html.escape(link_text)}</a></p>\n"
        )
        return build_email(
            message,
            to,
            mail_from=self.mail_from,
            from_name=self.from_name,
            text=text,
            html_body=insert_html(rich, footer),
            headers=_list_headers(self.list_id(message), url),
        )


def _list_headers(list_id: str, url: str) -> dict[str, str]:
    headers = {"List-Id": list_id, "List-Unsubscribe": f"<{url}>"}
    if url.startswith("https://"):
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    headers["Precedence"] = "bulk"
    return headers
