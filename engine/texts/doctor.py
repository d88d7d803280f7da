"""Texts of `driftplan doctor`: each finding about the installation and its fix."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
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
}
