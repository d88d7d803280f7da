"""Swedish for error messages raised with an English wording only.

Most raisers give their Swedish themselves (`DriftplanError(..., sv=...)`). The rest, mostly in
the store and the service, say it in English; `swedish` finds the Swedish for those by the
shape of the English sentence, so that the CLI's error printer and the API's `detail_sv` speak
Swedish for every error class. A message that matches no shape stays English (`swedish` returns
None); tests/e2e/test_cli_swedish.py runs the usual mistakes of every command to catch that.

The shapes name their parts (`(?P<id>...)`): the Swedish reuses them, translating operating
system reasons (`strerror`) through `OS_REASONS`.
"""

from __future__ import annotations

import re

# The reasons of OSError that a mistyped path or a wrong file mode gives.
OS_REASONS = {
    "No such file or directory": "filen finns inte",
    "Permission denied": "åtkomst nekas",
    "Is a directory": "det är en mapp",
    "Not a directory": "en del av sökvägen är inte en mapp",
    "File name too long": "filnamnet är för långt",
}

_Q = r"'?(?P<{}>[^'\s]+)'?"  # a name, quoted or not


def _name(part: str) -> str:
    return _Q.format(part)


# (English shape, Swedish wording); the first shape that matches the whole message wins.
SHAPES: list[tuple[str, str]] = [
    (rf"Incident {_name('id')} does not exist\.", "Incidenten '{id}' finns inte."),
    (rf"Approval {_name('id')} does not exist\.", "Beslutsbegäran '{id}' finns inte."),
    (rf"Message {_name('id')} does not exist\.", "Meddelandet '{id}' finns inte."),
    (rf"Timer {_name('id')} does not exist\.", "Timern '{id}' finns inte."),
    (
        rf"Person {_name('id')} does not exist in the directory\.",
        "Personen '{id}' finns inte i katalogen (se `driftplan directory show`).",
    ),
    (
        rf"Contact list {_name('id')} does not exist\. Known lists: (?P<known>.*)\.",
        "Kontaktlistan '{id}' finns inte. Kända listor: {known}.",
    ),
    (
        rf"Approval {_name('id')} is already (?P<status>\w+); "
        rf"fire {_name('trigger')} again for a new request\.",
        "Beslutsbegäran {id} är redan {status_sv}; utför '{trigger}' igen för en ny begäran.",
    ),
    (
        rf"Approval {_name('id')} no longer applies: the incident has moved to {_name('state')}\.",
        "Beslutsbegäran {id} gäller inte längre: incidenten har gått till läget '{state}'.",
    ),
    (
        rf"Approval {_name('id')} expired at (?P<at>\S+); "
        rf"fire {_name('trigger')} again for a new request\.",
        "Beslutsbegäran {id} gick ut {at}; utför '{trigger}' igen för en ny begäran.",
    ),
    (
        rf"Message {_name('id')} is (?P<status>\w+), not a dead letter; "
        r"only dead letters can be retried\.",
        "Meddelandet {id} är {status_sv}, inte misslyckat; bara misslyckade meddelanden "
        "kan skickas igen (se `driftplan outbox dead`).",
    ),
    (
        rf"Message {_name('id')} is no longer leased to (?P<owner>\S+); "
        r"another dispatcher took it over\.",
        "Meddelandet {id} hanteras inte längre av {owner}; en annan utskickare har tagit över.",
    ),
    (
        r"This subscription link is not valid \(unknown token\)\. It may be mistyped, or "
        r"replaced by a newer link: subscribe again to get a new one\.",
        "Länken till prenumerationen gäller inte (okänd nyckel). Den kan vara felskriven eller "
        "ersatt av en nyare länk: anmäl dig igen för att få en ny.",
    ),
    (
        r"The subscription of (?P<email>\S+) to (?P<audience>\S+) has ended; this link no "
        r"longer confirms it\. Subscribe again to get a new confirmation link\.",
        "Prenumerationen för {email} på {audience} har upphört; länken bekräftar den inte "
        "längre. Anmäl dig igen för att få en ny bekräftelselänk.",
    ),
    (
        rf"Audience {_name('audience')} takes no newsletter subscribers\. "
        r"Audiences with subscribers: (?P<known>.*)\.",
        "Målgruppen '{audience}' tar inte emot prenumeranter. Målgrupper med prenumeranter: "
        "{known}.",
    ),
    (
        r"(?P<email>'.*') is not an e-mail address that driftplan can send to \(.*\)\.",
        "{email} är ingen e-postadress som driftplan kan skicka till (ett @, en domän med "
        "punkt, och bara ASCII-bokstäver, siffror och tecknen .!#$%&'*+/=?^_`{{|}}~-).",
    ),
    (
        rf"Unknown status {_name('status')}\. Statuses: (?P<known>.*)\.",
        "Okänd status '{status}'. Giltiga: {known}.",
    ),
    (
        rf"No plan named {_name('name')} in (?P<folder>\S+)\. Plans: (?P<rest>.*)",
        "Ingen plan heter '{name}' i {folder}. Planer: {rest}",
    ),
    (
        r"Several plans are installed \((?P<names>.*)\); name one with --workflow\.",
        "Flera planer är installerade ({names}); välj en med --workflow.",
    ),
    (
        r"The plan version (?P<sha>\w+) of this incident is not stored\.",
        "Planversionen {sha} för incidenten finns inte sparad.",
    ),
    (
        r"(?P<file>.+): cannot read the script: (?P<reason>.+)",
        "{file}: övningsskriptet kan inte läsas: {reason_sv}",
    ),
    (
        r"(?P<file>.+): cannot read directory: (?P<reason>.+)",
        "{file}: katalogen kan inte läsas: {reason_sv}",
    ),
    (r"(?P<file>.+): cannot read: (?P<reason>.+)", "{file}: filen kan inte läsas: {reason_sv}"),
    (
        r"(?P<where>[^\n]+): error: cannot read plan: (?P<reason>[^\n]+)",
        "{where}: fel: planen kan inte läsas: {reason_sv}",
    ),
]

# Statuses named inside messages (approval and message statuses).
STATUSES = {
    "approved": "godkänd",
    "rejected": "avslagen",
    "expired": "förfallen",
    "cancelled": "avbruten",
    "pending": "väntande",
    "sent": "skickat",
    "queued": "köat",
    "retrying": "väntar på nytt försök",
    "sending": "skickas",
    "dead": "misslyckat",
}

_COMPILED = [(re.compile(shape, re.DOTALL), sv) for shape, sv in SHAPES]


def swedish(message: str) -> str | None:
    """The Swedish for an English error message, or None when its shape is not known."""
    for shape, sv in _COMPILED:
        found = shape.fullmatch(message)
        if found is None:
            continue
        parts = found.groupdict()
        if "reason" in parts:
            parts["reason_sv"] = OS_REASONS.get(parts["reason"], parts["reason"])
        if "known" in parts:  # ids a user types: quoted, as in the Swedish sentences
            parts["known"] = ", ".join(f"'{k.strip()}'" for k in parts["known"].split(","))
        if "status" in parts:
            parts["status_sv"] = STATUSES.get(parts["status"], parts["status"])
        return sv.format(**parts)
    return None
