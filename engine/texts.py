"""User-facing strings of the CLI and UI, Swedish first with English available."""

from __future__ import annotations

_TEXTS: dict[str, dict[str, str]] = {
    "init_done": {
        "sv": "Klart. Data: {data}  Databas: {db}\nNästa steg: driftplan directory import "
        "examples/directory.yaml, sedan driftplan incident declare --as PERSON --set ...",
        "en": "Done. Data: {data}  Database: {db}\nNext: driftplan directory import "
        "examples/directory.yaml, then driftplan incident declare --as PERSON --set ...",
    },
    "directory_imported": {
        "sv": "Katalogen importerad: {people} personer, {lists} kontaktlistor.",
        "en": "Directory imported: {people} people, {lists} contact lists.",
    },
    "people": {"sv": "Personer", "en": "People"},
    "lists": {"sv": "Kontaktlistor", "en": "Contact lists"},
    "list": {"sv": "Lista", "en": "List"},
    "members": {"sv": "Mottagare", "en": "Members"},
    "id": {"sv": "Id", "en": "Id"},
    "name": {"sv": "Namn", "en": "Name"},
    "email": {"sv": "E-post", "en": "E-mail"},
    "roles": {"sv": "Roller", "en": "Roles"},
    "subregion": {"sv": "Delregion", "en": "Sub-region"},
    "incidents": {"sv": "Incidenter", "en": "Incidents"},
    "state": {"sv": "Läge", "en": "State"},
    "created": {"sv": "Skapad", "en": "Created"},
    "updated": {"sv": "Uppdaterad", "en": "Updated"},
    "scope": {"sv": "Omfattning", "en": "Scope"},
    "field": {"sv": "Uppgift", "en": "Field"},
    "value": {"sv": "Värde", "en": "Value"},
    "pending": {"sv": "Väntande beslut", "en": "Pending decisions"},
    "trigger": {"sv": "Åtgärd", "en": "Action"},
    "dest": {"sv": "Leder till", "en": "Leads to"},
    "gated": {"sv": "Kräver beslut av", "en": "Needs a decision by"},
    "approvers": {"sv": "Beslutsfattare", "en": "Approvers"},
    "expires": {"sv": "Giltig till", "en": "Valid until"},
    "seq": {"sv": "Nr", "en": "Seq"},
    "at": {"sv": "Tid", "en": "Time"},
    "actor": {"sv": "Vem", "en": "Who"},
    "kind": {"sv": "Händelse", "en": "Event"},
    "no_incidents": {"sv": "Inga pågående incidenter.", "en": "No open incidents."},
    "declared": {
        "sv": "Incident {id} anmäld, läge: {state}.",
        "en": "Incident {id} declared, state: {state}.",
    },
    "done": {
        "sv": "Klart: {trigger} – läge nu: {state}.",
        "en": "Done: {trigger} – state now: {state}.",
    },
    "pending_approval": {
        "sv": "Väntar på beslut ({approval}). Beslutsfattare har meddelats; läge: {state}.",
        "en": "Waiting for a decision ({approval}). Approvers have been told; state: {state}.",
    },
    "approved": {
        "sv": "Beslut registrerat: godkänt – läge nu: {state}.",
        "en": "Decision recorded: approved – state now: {state}.",
    },
    "recorded": {
        "sv": "Beslut registrerat; fler beslut behövs – läge: {state}.",
        "en": "Decision recorded; more decisions are needed – state: {state}.",
    },
    "rejected": {
        "sv": "Beslut registrerat: avslaget – läge: {state}.",
        "en": "Decision recorded: rejected – state: {state}.",
    },
    "audit_ok": {
        "sv": "Händelseloggen är intakt (antal kontrollerade incidenter: {count}).",
        "en": "The event log is intact ({count} incidents checked).",
    },
    "audit_bad": {"sv": "Händelseloggen har ändrats:", "en": "The event log has been altered:"},
    "none": {"sv": "–", "en": "-"},
    "delivered": {
        "sv": "Utskick: {sent} skickade, {retrying} försöks igen, {dead} misslyckade.",
        "en": "Delivery: {sent} sent, {retrying} retrying, {dead} dead.",
    },
    "requeued": {"sv": "Meddelande {id} köat igen.", "en": "Message {id} queued again."},
    "preview_done": {
        "sv": "{count} meddelanden skulle skickas (resultat: {result}). Inget skickades.",
        "en": "{count} messages would be sent (result: {result}). Nothing was sent.",
    },
    "channel": {"sv": "Kanal", "en": "Channel"},
    "audience": {"sv": "Målgrupp", "en": "Audience"},
    "subject": {"sv": "Ämne", "en": "Subject"},
    "status": {"sv": "Status", "en": "Status"},
    "attempts": {"sv": "Försök", "en": "Attempts"},
    "recipients": {"sv": "Mottagare", "en": "Recipients"},
    "plan": {"sv": "Plan", "en": "Plan"},
    "worker_once": {
        "sv": "Timers: {timers} utlösta. Utskick: {sent} skickade, {retrying} väntar på nytt "
        "försök, {dead} misslyckade.",
        "en": "Timers: {timers} fired. Delivery: {sent} sent, {retrying} retrying, {dead} dead.",
    },
    "worker_started": {
        "sv": "driftplan arbetar (timers och utskick), data i {data}. Avsluta med Ctrl-C.",
        "en": "driftplan worker running (timers and delivery), data in {data}. Stop with Ctrl-C.",
    },
    "worker_stopped": {"sv": "driftplan har stoppats.", "en": "driftplan worker stopped."},
    "channel_kind": {"sv": "Typ", "en": "Kind"},
    "mode": {"sv": "Läge", "en": "Mode"},
    "target": {"sv": "Mål", "en": "Target"},
    "missing": {"sv": "Saknas för att gå live", "en": "Missing to go live"},
    "live": {"sv": "live", "en": "live"},
    "file_outbox": {"sv": "filutkorg", "en": "file outbox"},
    # driftplan subscribers
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
    "event_reminder": {"sv": "påminnelse", "en": "reminder"},
    "event_timer": {"sv": "timer", "en": "timer"},
    "event_timer_failed": {"sv": "timer misslyckades", "en": "timer failed"},
    "event_timer_skipped": {"sv": "timer hoppades över", "en": "timer skipped"},
    "event_delivery": {"sv": "leverans", "en": "delivery"},
    "event_delivery_requeued": {"sv": "skickas igen", "en": "sent again"},
    # driftplan exercise: the timeline and the exercise leader's summary
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


def t(key: str, language: str, **values: object) -> str:
    """The text for `key` in `language` (falling back to Swedish), formatted with `values`."""
    entry = _TEXTS[key]
    return entry.get(language, entry["sv"]).format(**values)


def label(prefix: str, value: str, language: str) -> str:
    """The people's word for a stored value (`prefix` + value), or the value itself when the
    table has none (a kind or status added later still shows, untranslated)."""
    key = f"{prefix}{value}"
    return t(key, language) if key in _TEXTS else value
