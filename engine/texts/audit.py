"""Texts of `driftplan audit`: the verdicts of the event-log check and the anchor mails."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
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
}
