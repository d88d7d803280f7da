"""Shared CLI words: table headings, confirmations and the short messages of every command."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
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
    "preview_result_done": {"sv": "genomförs direkt", "en": "done"},
    "preview_result_pending_approval": {"sv": "väntar på beslut", "en": "pending approval"},
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
}
