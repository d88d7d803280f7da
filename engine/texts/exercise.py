"""Texts of the exercise report (`driftplan exercise`): scores, timings and outcomes."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "exercise_title": {"sv": "ÖVNING", "en": "EXERCISE"},
    "exercise_data": {"sv": "Övningsdata", "en": "Exercise data"},
    "exercise_kept": {"sv": "Övningsdata sparad i", "en": "Exercise data kept in"},
    "exercise_audience": {"sv": "Målgrupp", "en": "Audience"},
    "exercise_first": {"sv": "Första leverans", "en": "First delivery"},
    "exercise_after": {"sv": "Tid efter anmälan", "en": "After declaration"},
    "exercise_channel": {"sv": "Kanal", "en": "Channel"},
    "exercise_never": {"sv": "aldrig", "en": "never"},
    "exercise_nobody": {"sv": "inga mottagare", "en": "no recipients"},
    "exercise_inform": {"sv": "Tid till information", "en": "Time to inform"},
    "exercise_reminders": {"sv": "Påminnelser och timers", "en": "Reminders and timers"},
    "exercise_timer": {"sv": "Timer", "en": "Timer"},
    "exercise_late": {"sv": "Sen (s)", "en": "Late (s)"},
    "exercise_decisions": {"sv": "Beslut", "en": "Decisions"},
    "exercise_request": {"sv": "Begäran", "en": "Request"},
    "exercise_by": {"sv": "Beslutad av", "en": "Decided by"},
    "exercise_decision": {"sv": "Beslut", "en": "Decision"},
    "exercise_took": {"sv": "Tog", "en": "Took"},
    "exercise_status": {"sv": "Status", "en": "Status"},
    "exercise_wall": {"sv": "Körtid", "en": "Wall time"},
    "exercise_virtual": {"sv": "virtuell tid", "en": "virtual time"},
    "exercise_speed": {"sv": "hastighet", "en": "speed"},
    "exercise_marked": {"sv": "meddelanden märkta ÖVNING", "en": "messages marked EXERCISE"},
    "exercise_problems": {"sv": "Avvikelser från förväntan", "en": "Expectations not met"},
    "exercise_ok": {"sv": "Alla förväntningar uppfyllda.", "en": "All expectations met."},
    "exercise_silent": {"sv": "förblir tyst", "en": "stays silent"},
    # Decisions and request statuses, as stored (approved, rejected, ...), for people.
    "exercise_approved": {"sv": "godkänt", "en": "approved"},
    "exercise_rejected": {"sv": "avslaget", "en": "rejected"},
    "exercise_pending": {"sv": "väntar", "en": "pending"},
    "exercise_expired": {"sv": "förföll", "en": "expired"},
    "exercise_withdrawn": {"sv": "återkallat", "en": "withdrawn"},
}
