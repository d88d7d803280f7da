"""The timeline's words: `incident note`, `incident report` and the columns of `incident log`."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "timeline_note_added": {
        "sv": "Anteckningen är införd i loggen för {id} (nr {seq}). Inget har skickats.",
        "en": "The note is in the log of {id} (no. {seq}). Nothing was sent.",
    },
    "timeline_report_added": {
        "sv": "Rapporten från {organisation} är införd i loggen för {id} (nr {seq}). "
        "Inget har skickats.",
        "en": "The report from {organisation} is in the log of {id} (no. {seq}). Nothing was sent.",
    },
    # Columns of `incident log` beside the common ones (seq, at, actor, kind, trigger, state).
    "timeline_changed": {"sv": "Ändrade uppgifter", "en": "Changed data"},
    "timeline_text": {"sv": "Kommentar", "en": "Comment"},
    # Pieces of a cell.
    "timeline_on_behalf": {"sv": "{recorder} för {decider}", "en": "{recorder} for {decider}"},
    "timeline_reference": {"sv": "referens: {reference}", "en": "reference: {reference}"},
    "timeline_from": {"sv": "Från {organisation}", "en": "From {organisation}"},
    "timeline_contact": {"sv": "kontakt: {contact}", "en": "contact: {contact}"},
    "timeline_via_phone": {"sv": "per telefon", "en": "by phone"},
    "timeline_via_email": {"sv": "per e-post", "en": "by e-mail"},
}
