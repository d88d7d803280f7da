"""The words of the admin pages (directory, subscribers, users), Swedish first, English too.

`Words(language, ADMIN_TEXTS)` reads these first and the operator pages' shared ones (`words.py`)
after, so a page module can keep its words beside it without crowding the shared table.
"""

from __future__ import annotations

from engine.web.ui.words import Texts, Words

ADMIN_TEXTS: Texts = {
    # key: (Swedish, English)
    "admin": ("Administration", "Administration"),
    "admin_lead": (
        "Katalogen (personer, roller och kontaktlistor), prenumeranter och inloggning.",
        "The directory (people, roles and contact lists), subscribers and sign-in.",
    ),
    "directory": ("Katalog", "Directory"),
    "subscribers": ("Prenumeranter", "Subscribers"),
    "users": ("Inloggning och API-nycklar", "Sign-in and API tokens"),
    "people": ("Personer", "People"),
    "person_id": ("Id", "Id"),
    "name": ("Namn", "Name"),
    "email": ("E-post", "E-mail"),
    "phone": ("Telefon", "Phone"),
    "roles": ("Roller", "Roles"),
    "subregion": ("Delregion", "Sub-region"),
    "plan_roles": ("Planens roller", "The plan's roles"),
    "role": ("Roll", "Role"),
    "deputy_of": ("Ersättare för", "Deputy of"),
    "per_subregion": ("per delregion", "per sub-region"),
    "may": ("Får också", "May also"),
    "subregions": ("Delregioner", "Sub-regions"),
    "lists": ("Kontaktlistor", "Contact lists"),
    "members": ("medlemmar", "members"),
    "no_members": ("Listan är tom.", "The list is empty."),
    "import": ("Importera", "Import"),
    "import_lead": (
        "En hel katalog som YAML ersätter den som finns. En CSV-fil (kolumnerna email, name) "
        "ersätter en kontaktlista: ange listans namn. Filen kontrolleras först; har den fel "
        "ändras ingenting.",
        "A whole directory as YAML replaces the stored one. A CSV file (columns email, name) "
        "replaces one contact list: give the list's name. The file is checked first; if it "
        "has errors nothing changes.",
    ),
    "file": ("Fil (YAML eller CSV)", "File (YAML or CSV)"),
    "csv_list": ("Kontaktlista för en CSV-fil", "Contact list for a CSV file"),
    "csv_list_hint": (
        "Lämna tomt för en hel katalog i YAML. Små bokstäver, siffror och _.",
        "Leave empty for a whole directory in YAML. Lowercase letters, digits and _.",
    ),
    "import_errors": (
        "Filen importerades inte. Rätta felen (fil:rad: fel) och försök igen:",
        "The file was not imported. Fix the errors (file:line: problem) and try again:",
    ),
    "no_file": ("Välj en fil att importera.", "Choose a file to import."),
    "imported": ("Katalogen är importerad.", "The directory is imported."),
    "export": ("Exportera", "Export"),
    "export_yaml": ("Hela katalogen (YAML)", "The whole directory (YAML)"),
    "export_csv": ("som CSV", "as CSV"),
    "audience": ("Mottagargrupp", "Audience"),
    "status": ("Status", "Status"),
    "created": ("Tillagd", "Added"),
    "no_subscribers": ("Inga prenumeranter ännu.", "No subscribers yet."),
    "no_audiences": (
        "Ingen mottagargrupp i planen tar emot prenumeranter (`subscribers: true`).",
        "No audience of the plan takes subscribers (`subscribers: true`).",
    ),
    "add_subscriber": ("Lägg till prenumerant", "Add a subscriber"),
    "add_subscriber_lead": (
        "Prenumeranten får ett mejl med en länk att bekräfta med; först därefter får de utskicken.",
        "The subscriber gets an e-mail with a link to confirm; only then do they receive "
        "the newsletter.",
    ),
    "add": ("Lägg till", "Add"),
    "remove": ("Ta bort", "Remove"),
    "subscriber_added": (
        "Prenumeranten är tillagd och ett bekräftelsemejl har skickats till dem.",
        "The subscriber is added and a confirmation e-mail has been sent to them.",
    ),
    "subscriber_added_no_mail": (
        "Prenumeranten är tillagd men bekräftelsemejlet kunde inte skickas: {why}",
        "The subscriber is added but the confirmation e-mail could not be sent: {why}",
    ),
    "subscriber_already": (
        "Adressen prenumererar redan (bekräftad).",
        "The address already subscribes (confirmed).",
    ),
    "subscriber_removed": ("Prenumerationen är avslutad.", "The subscription has ended."),
    "status_pending": ("väntar på bekräftelse", "awaiting confirmation"),
    "status_confirmed": ("bekräftad", "confirmed"),
    "status_unsubscribed": ("avslutad", "ended"),
    "choose_person": ("Välj en person.", "Choose a person."),
    "manage": ("Hantera", "Manage"),
    "has_password": ("Lösenord", "Password"),
    "yes": ("ja", "yes"),
    "no": ("nej", "no"),
    "set_password": ("Sätt lösenord", "Set the password"),
    "new_password": ("Nytt lösenord", "New password"),
    "password_hint": (
        "Minst 12 tecken; några orelaterade ord är lätta att minnas.",
        "At least 12 characters; a few unrelated words are easy to remember.",
    ),
    "password_set": ("Lösenordet är satt.", "The password is set."),
    "tokens": ("API-nycklar", "API tokens"),
    "no_tokens": ("Inga API-nycklar.", "No API tokens."),
    "token_name": ("Vad nyckeln är till", "What the token is for"),
    "issue_token": ("Skapa API-nyckel", "Issue an API token"),
    "token_made": (
        "Nyckeln {id} är skapad. Kopiera den nu: den visas bara den här gången.",
        "Token {id} is made. Copy it now: it is shown this once only.",
    ),
    "token_secret": ("API-nyckel", "API token"),
    "revoke": ("Återkalla", "Revoke"),
    "revoked": ("Nyckeln är återkallad.", "The token is revoked."),
    "active": ("aktiv", "active"),
    "revoked_at": ("återkallad {at}", "revoked {at}"),
    "back_to_admin": ("Tillbaka till administrationen", "Back to administration"),
    "back_to_users": ("Tillbaka till inloggningen", "Back to sign-in"),
}


def admin_words(language: str) -> Words:
    """The admin pages' words, then the operator pages' shared ones."""
    return Words(language, ADMIN_TEXTS)
