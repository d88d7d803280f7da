"""People's words for stored kinds: event kinds in the log and message statuses."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "message_pending": {"sv": "väntar", "en": "pending"},
    "message_sent": {"sv": "skickat", "en": "sent"},
    "message_retrying": {"sv": "försöker igen", "en": "retrying"},
    "message_dead": {"sv": "misslyckades", "en": "dead letter"},
    # Event kinds in the incident log, as people read them.
    "event_declare": {"sv": "anmälan", "en": "declared"},
    "event_transition": {"sv": "lägesbyte", "en": "transition"},
    "event_update": {"sv": "uppdatering", "en": "update"},
    "event_rule": {"sv": "automatisk regel", "en": "automatic rule"},
    "event_refused": {"sv": "nekad", "en": "refused"},
    "event_approval_requested": {"sv": "beslut begärt", "en": "decision requested"},
    "event_decision": {"sv": "beslut", "en": "decision"},
    "event_approval_expired": {"sv": "begäran förföll", "en": "request expired"},
    "event_approval_escalated": {"sv": "ersättare tillfrågade", "en": "deputies asked"},
    "event_reminder": {"sv": "påminnelse", "en": "reminder"},
    "event_timer": {"sv": "timer", "en": "timer"},
    "event_timer_failed": {"sv": "timer misslyckades", "en": "timer failed"},
    "event_timer_skipped": {"sv": "timer hoppades över", "en": "timer skipped"},
    "event_delivery": {"sv": "leverans", "en": "delivery"},
    "event_delivery_requeued": {"sv": "skickas igen", "en": "sent again"},
    "event_delivery_attempt": {"sv": "leveransförsök", "en": "delivery attempt"},
    "event_note": {"sv": "anteckning", "en": "note"},
    "event_report": {"sv": "rapport", "en": "report"},
    # driftplan exercise: the timeline and the exercise leader's summary
}
