"""Texts of `driftplan subscribers`: subscription statuses and headings."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "subscriber_pending": {
        "sv": "{email} väntar på bekräftelse ({audience}). Bekräftelselänken har skickats till "
        "adressen.",
        "en": "{email} awaits confirmation ({audience}). The confirmation link was mailed to the "
        "address.",
    },
    "subscriber_pending_unmailed": {
        "sv": "{email} väntar på bekräftelse ({audience}), men bekräftelsebrevet kunde inte "
        "skickas. Se `driftplan channels` och försök igen med samma kommando.",
        "en": "{email} awaits confirmation ({audience}), but the confirmation mail could not be "
        "sent. See `driftplan channels` and run the same command again.",
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
