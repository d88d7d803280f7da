"""Texts of `driftplan subscribers`: subscription statuses and headings."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "subscriber_pending": {
        "sv": "{email} väntar på bekräftelse ({audience}). Bekräftelselänk:\n{url}",
        "en": "{email} awaits confirmation ({audience}). Confirmation link:\n{url}",
    },
    "subscriber_already": {
        "sv": "{email} prenumererar redan på {audience}; inget ändrades.",
        "en": "{email} already subscribes to {audience}; nothing changed.",
    },
    "subscriber_confirmed": {
        "sv": "{email} prenumererar nu på {audience}.",
        "en": "{email} now subscribes to {audience}.",
    },
    "subscriber_unsubscribed": {
        "sv": "{email} prenumererar inte längre på {audience}.",
        "en": "{email} no longer subscribes to {audience}.",
    },
    "subscriber_none": {"sv": "Inga prenumeranter.", "en": "No subscribers."},
    "subscriber_audience": {"sv": "Målgrupp", "en": "Audience"},
    "subscriber_email": {"sv": "E-post", "en": "E-mail"},
    "subscriber_name": {"sv": "Namn", "en": "Name"},
    "subscriber_status": {"sv": "Status", "en": "Status"},
    "subscriber_created": {"sv": "Anmäld", "en": "Subscribed"},
    "subscriber_confirmed_at": {"sv": "Bekräftad", "en": "Confirmed"},
    "subscriber_status_pending": {"sv": "väntar på bekräftelse", "en": "pending"},
    "subscriber_status_confirmed": {"sv": "bekräftad", "en": "confirmed"},
    "subscriber_status_unsubscribed": {"sv": "avslutad", "en": "unsubscribed"},
    "subscriber_name_audience": {
        "sv": "Ange målgruppen med --audience. Målgrupper med prenumeranter: {known}.",
        "en": "Name the audience with --audience. Audiences with subscribers: {known}.",
    },
}
