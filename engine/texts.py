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
    "audit_anchor_ok": {
        "sv": "Kedjan fram till ankaret {anchor} är oförändrad.",
        "en": "The chain up to the anchor {anchor} is unchanged.",
    },
    # What `driftplan audit verify` finds (engine/store/findings.py): lines, then reasons.
    "audit_line_incident": {"sv": "Incident {id}: {reason}.", "en": "Incident {id}: {reason}."},
    "audit_line_chain": {"sv": "Kedjan: {reason}.", "en": "Chain: {reason}."},
    "audit_line_link": {
        "sv": "Kedjans länk {link}: {reason}.",
        "en": "Chain link {link}: {reason}.",
    },
    "audit_line_link_event": {
        "sv": "Kedjans länk {link} (incident {id}, händelse {event}): {reason}.",
        "en": "Chain link {link} (incident {id}, event {event}): {reason}.",
    },
    "audit_line_unlinked": {
        "sv": "Kedjan (incident {id}, händelse {event}): {reason}.",
        "en": "Chain (incident {id}, event {event}): {reason}.",
    },
    "audit_line_anchor": {"sv": "Ankare {seq}: {reason}.", "en": "Anchor {seq}: {reason}."},
    "audit_missing": {"sv": "händelse {seq} saknas", "en": "event {seq} is missing"},
    "audit_edited": {"sv": "händelse {seq} har ändrats", "en": "event {seq} was edited"},
    "audit_replaced": {"sv": "händelse {seq} har bytts ut", "en": "event {seq} was replaced"},
    "audit_out_of_order": {
        "sv": "händelserna {seq} och {other} har bytt plats",
        "en": "events {seq} and {other} are out of order",
    },
    "audit_unlinked": {
        "sv": "händelserna {prev} och {seq} hänger inte ihop (prev_hash stämmer inte)",
        "en": "events {prev} and {seq} do not link (prev_hash mismatch)",
    },
    "audit_truncated": {
        "sv": "loggen har kortats efter händelse {last} (incidenten har {recorded} händelser)",
        "en": "the log was truncated after event {last} (the incident records {recorded} events)",
    },
    "audit_added": {
        "sv": "händelse {seq} har lagts till utanför driftplan",
        "en": "event {seq} was added outside driftplan",
    },
    "audit_row_state": {
        "sv": "radens läge '{state}' stämmer inte med loggen, som slutar i '{logged}'",
        "en": "the row's state '{state}' disagrees with its log, which ends in '{logged}'",
    },
    "audit_row_seal": {
        "sv": "incidentraden har ändrats utanför driftplan (sigillet stämmer inte)",
        "en": "the incident row was changed outside driftplan (its seal does not match)",
    },
    "audit_row_unsealed": {
        "sv": "incidentraden saknar sigill (tillagd eller ändrad utanför driftplan)",
        "en": "the incident row has no seal (added or changed outside driftplan)",
    },
    "audit_chain_gap": {"sv": "länken saknas", "en": "the link is missing"},
    "audit_chain_prev": {
        "sv": "den följer inte på länk {prev} (prev_hash stämmer inte)",
        "en": "it does not follow link {prev} (prev_hash mismatch)",
    },
    "audit_chain_edited": {"sv": "länken har ändrats", "en": "the link was edited"},
    "audit_chain_unsigned": {
        "sv": "länken är inte signerad med granskningsnyckeln (omräknad utanför driftplan)",
        "en": "the link is not signed with the audit key (recomputed outside driftplan)",
    },
    "audit_chain_incident_gone": {
        "sv": "incidenten har raderats",
        "en": "the incident was deleted",
    },
    "audit_chain_event_gone": {"sv": "händelsen har raderats", "en": "the event was deleted"},
    "audit_chain_event_edited": {
        "sv": "händelsen har ändrats",
        "en": "the event was edited",
    },
    "audit_chain_event_differs": {
        "sv": "händelsen är inte den som länkades (utbytt eller flyttad)",
        "en": "the event is not the one linked (replaced or moved)",
    },
    "audit_chain_truncated": {
        "sv": "kedjan slutar med länk {last} men huvudet har {recorded} (nyaste länkar raderade)",
        "en": "the chain ends at link {last}, its head records {recorded} (newest links deleted)",
    },
    "audit_chain_added": {
        "sv": "länkar efter {recorded} har lagts till utanför driftplan (huvudet har {recorded})",
        "en": "links after {recorded} were added outside driftplan (the head records {recorded})",
    },
    "audit_chain_head_edited": {
        "sv": "kedjans huvud har ändrats utanför driftplan",
        "en": "the chain's head was changed outside driftplan",
    },
    "audit_chain_head_gone": {"sv": "kedjans huvud saknas", "en": "the chain's head is missing"},
    "audit_chain_not_linked": {
        "sv": "händelsen finns inte i kedjan (tillagd utanför driftplan, eller länken raderad)",
        "en": "the event is not in the chain (added outside driftplan, or its link deleted)",
    },
    "audit_anchor_missing": {
        "sv": "kedjan når inte fram till länk {seq} (den har kortats)",
        "en": "the chain does not reach link {seq} (it was truncated)",
    },
    "audit_anchor_mismatch": {
        "sv": "kedjan fram till länk {seq} har skrivits om (hashen stämmer inte med ankaret)",
        "en": "the chain up to link {seq} was rewritten (its hash is not the anchored one)",
    },
    # The anchor message (engine/service/anchors.py): the chain's head, sent off the machine.
    "anchor_subject": {
        "sv": "driftplan: ankare för händelseloggen, länk {seq} ({installation})",
        "en": "driftplan: event log anchor, link {seq} ({installation})",
    },
    "anchor_body": {
        "sv": "driftplan audit anchor {anchor}\n\nInstallation: {installation} (id {id})\n"
        "Tid: {local} ({zone}), {utc} UTC\nOrsak: {reason}\n\nSpara detta meddelande utanför "
        "driftplan-servern. Det låser händelseloggen fram till och med länk {seq}: inte ens den "
        "som har granskningsnyckeln kan ändra något före länken utan att det syns.\n\n"
        "Kontrollera så här på servern:\n  driftplan audit verify --anchor {anchor}\n",
        "en": "driftplan audit anchor {anchor}\n\nInstallation: {installation} (id {id})\n"
        "Time: {local} ({zone}), {utc} UTC\nReason: {reason}\n\nKeep this message away from "
        "the driftplan server. It pins the event log up to and including link {seq}: not even "
        "a holder of the audit key can change anything before it unseen.\n\n"
        "To check, run on the server:\n  driftplan audit verify --anchor {anchor}\n",
    },
    "anchor_ended": {"sv": "avslutade incidenter: {ids}", "en": "incidents ended: {ids}"},
    "anchor_every": {
        "sv": "minst ett ankare var {every}",
        "en": "at least one anchor every {every}",
    },
    # driftplan doctor (engine/service/doctor.py)
    "doctor_ok": {"sv": "Inget osäkert hittades.", "en": "Nothing unsafe found."},
    "doctor_found": {"sv": "Osäkert i installationen:", "en": "Unsafe in this installation:"},
    "doctor_key_beside_data": {
        "sv": "Granskningsnyckeln ligger bland datat ({path}): den som kan ändra databasen kan "
        "då signera om loggen. Bra för att prova, inte för drift: lägg nyckeln utanför "
        "datamappen (DRIFTPLAN_AUDIT_KEY_FILE) eller i DRIFTPLAN_AUDIT_KEY.",
        "en": "The audit key lies with the data ({path}): whoever can edit the database can "
        "then re-sign the log. Fine for trying driftplan out, not for production: keep the key "
        "outside the data folder (DRIFTPLAN_AUDIT_KEY_FILE) or in DRIFTPLAN_AUDIT_KEY.",
    },
    "doctor_key_missing": {
        "sv": "DRIFTPLAN_AUDIT_KEY_FILE pekar på {path}, som inte finns.",
        "en": "DRIFTPLAN_AUDIT_KEY_FILE names {path}, which does not exist.",
    },
    "doctor_folder_mode": {
        "sv": "{path} har läge {mode}, vidare än {wanted}: chmod {wanted} {path}",
        "en": "{path} has mode {mode}, looser than {wanted}: chmod {wanted} {path}",
    },
    "doctor_file_mode": {
        "sv": "{path} har läge {mode}, vidare än {wanted}: chmod {wanted} {path}",
        "en": "{path} has mode {mode}, looser than {wanted}: chmod {wanted} {path}",
    },
    "doctor_data_missing": {
        "sv": "Datamappen {path} finns inte (driftplan init skapar den).",
        "en": "The data folder {path} does not exist (driftplan init creates it).",
    },
    "doctor_public_url_unset": {
        "sv": "DRIFTPLAN_PUBLIC_URL är inte satt: sätt den till installationens https-adress.",
        "en": "DRIFTPLAN_PUBLIC_URL is not set: set it to the installation's https address.",
    },
    "doctor_public_url_plain": {
        "sv": "DRIFTPLAN_PUBLIC_URL ({url}) är inte https: länkar och beslut går i klartext.",
        "en": "DRIFTPLAN_PUBLIC_URL ({url}) is not https: links and decisions travel in clear.",
    },
    "doctor_no_plans": {
        "sv": "Inga planer i {path} (DRIFTPLAN_WORKFLOWS).",
        "en": "No plans in {path} (DRIFTPLAN_WORKFLOWS).",
    },
    "doctor_plan_invalid": {
        "sv": "Planen {path} är ogiltig (se driftplan validate).",
        "en": "The plan {path} is invalid (see driftplan validate).",
    },
    "doctor_no_anchor": {
        "sv": "Planen {plan} skickar inga ankare för händelseloggen ut från maskinen: lägg till "
        "audit: {{anchor: {{channel: KANAL, every: 1d}}}} i {path}.",
        "en": "The plan {plan} sends no event log anchors off the machine: add "
        "audit: {{anchor: {{channel: CHANNEL, every: 1d}}}} to {path}.",
    },
    "doctor_database_unreachable": {
        "sv": "Databasen går inte att nå: {error}",
        "en": "The database cannot be reached: {error}",
    },
    "doctor_schema_missing": {
        "sv": "Databasen är inte skapad: kör driftplan init.",
        "en": "The database has not been created: run driftplan init.",
    },
    "doctor_schema_old": {
        "sv": "Databasens schema är på version {current}, koden på {head}: kör driftplan init.",
        "en": "The database schema is at revision {current}, the code at {head}: run "
        "driftplan init.",
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
    "event_delivery_attempt": {"sv": "leveransförsök", "en": "delivery attempt"},
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
