"""The words of the public pages (subscribe, confirm, unsubscribe, report), Swedish first.

Templates read them as `w.key`; the plan's own names (service, audiences, sub-regions, stages)
come from the plan.
"""

from __future__ import annotations

from engine.web.words import Texts, WordTable

_TEXTS: Texts = {
    "switch": ("English", "Svenska"),
    "menu": ("Meny", "Menu"),
    "news": ("Driftinformation", "Service status"),
    "subscribe": ("Prenumerera", "Subscribe"),
    "no_news": ("Inga driftmeddelanden har publicerats ännu.", "No service messages yet."),
    "report": ("Rapportera påverkan", "Report impact"),
    "mailbox": (
        "Frågor och rapporter går också bra att skicka till",
        "Questions and reports can also be sent to",
    ),
    "required": ("obligatorisk", "required"),
    "optional": ("frivillig", "optional"),
    "fix": (
        "Uppgifterna behöver rättas: se meddelandena vid fälten.",
        "Some details need fixing: see the messages beside the fields.",
    ),
    "expired": (
        "Formuläret hade gått ut. Kontrollera uppgifterna och skicka igen.",
        "The form had expired. Check the details and send it again.",
    ),
    "too_many": (
        "För många försök från din adress. Vänta {minutes} min och försök igen, eller skicka "
        "e-post till {mailbox}.",
        "Too many attempts from your address. Wait {minutes} min and try again, or e-mail "
        "{mailbox}.",
    ),
    "subscribe_heading": ("Prenumerera på driftinformation", "Subscribe to service status"),
    "subscribe_lead": (
        "Få driftinformation om {service} med e-post. Du får först ett meddelande med en länk "
        "som bekräftar att adressen är din.",
        "Get service status for {service} by e-mail. You first get a message with a link that "
        "confirms the address is yours.",
    ),
    "email": ("E-postadress", "E-mail address"),
    "name": ("Namn", "Name"),
    "audience": ("Vad vill du få?", "What do you want to receive?"),
    "send_subscribe": ("Prenumerera", "Subscribe"),
    "bad_email": (
        "Skriv en e-postadress som namn@exempel.se.",
        "Write an e-mail address such as name@example.com.",
    ),
    "bad_audience": ("Välj ett av alternativen.", "Choose one of the options."),
    "no_audiences": (
        "Det finns inget att prenumerera på just nu.",
        "There is nothing to subscribe to right now.",
    ),
    "too_long": ("Högst {n} tecken.", "At most {n} characters."),
    "control": ("Texten innehåller otillåtna tecken.", "The text holds characters not allowed."),
    "check_mail_heading": ("Kolla din e-post", "Check your e-mail"),
    "check_mail": (
        "Om adressen inte redan prenumererar skickas nu ett e-postmeddelande till den med en "
        "länk. Öppna länken och tryck på knappen för att bekräfta. Utan bekräftelse skickas "
        "inget mer.",
        "Unless the address already subscribes, a message with a link is now sent to it. Open "
        "the link and press the button to confirm. Without confirmation nothing more is sent.",
    ),
    "confirm_heading": ("Bekräfta prenumerationen", "Confirm the subscription"),
    "confirm_lead": (
        "Tryck på knappen för att börja få driftinformation med e-post.",
        "Press the button to start receiving service status by e-mail.",
    ),
    "confirm_button": ("Bekräfta", "Confirm"),
    "confirmed_heading": ("Prenumerationen är bekräftad", "The subscription is confirmed"),
    "confirmed": (
        "Tack! Du får driftinformation till {email}. Varje utskick har en länk för att avsluta.",
        "Thank you! Service status goes to {email}. Every message has a link to unsubscribe.",
    ),
    "unsubscribe_heading": ("Avsluta prenumerationen", "Unsubscribe"),
    "unsubscribe_lead": (
        "Tryck på knappen för att sluta få driftinformation med e-post.",
        "Press the button to stop receiving service status by e-mail.",
    ),
    "unsubscribe_button": ("Avsluta prenumerationen", "Unsubscribe"),
    "unsubscribed_heading": ("Prenumerationen är avslutad", "You have unsubscribed"),
    "unsubscribed": (
        "Du får inte längre driftinformation med e-post. Du kan prenumerera igen när du vill.",
        "You no longer receive service status by e-mail. You can subscribe again at any time.",
    ),
    "unknown_link": (
        "Länken gäller inte: den kan vara felskriven eller ersatt av en nyare. Prenumerera igen "
        "för att få en ny länk.",
        "The link is not valid: it may be mistyped or replaced by a newer one. Subscribe again "
        "to get a new link.",
    ),
    "ended_link": (
        "Prenumerationen har avslutats och länken bekräftar den inte längre. Prenumerera igen "
        "för att få en ny länk.",
        "The subscription has ended and this link no longer confirms it. Subscribe again to get "
        "a new link.",
    ),
    "link_problem": ("Länken fungerar inte", "The link does not work"),
    "report_heading": ("Rapportera hur ni påverkas", "Report how you are affected"),
    "report_lead": (
        "Berätta för förvaltningen av {service} hur er verksamhet påverkas av driftstörningen. "
        "Rapporten hamnar i störningens logg och förvaltningen får besked direkt.",
        "Tell the management of {service} how your organisation is affected by the outage. The "
        "report goes into the outage's log and the management is told at once.",
    ),
    "incident": ("Vilken driftstörning gäller det?", "Which outage is it about?"),
    "declared": ("anmäld", "declared"),
    "exercise": ("ÖVNING", "EXERCISE"),
    "no_incidents": (
        "Ingen driftstörning pågår just nu, så formuläret tar inte emot rapporter. Skicka "
        "e-post till {mailbox} om något inte fungerar.",
        "No outage is open right now, so the form takes no reports. E-mail {mailbox} if "
        "something does not work.",
    ),
    "organisation": ("Organisation", "Organisation"),
    "contact": ("Kontaktuppgifter (namn, telefon eller e-post)", "Contact (name, phone or e-mail)"),
    "subregion": ("Delregion", "Sub-region"),
    "no_subregion": ("Ingen särskild / vet inte", "None in particular / don't know"),
    "text": ("Hur påverkas ni?", "How are you affected?"),
    "send_report": ("Skicka rapporten", "Send the report"),
    "fill_in": ("Fyll i det här fältet.", "Fill in this field."),
    "choose_incident": ("Välj en av driftstörningarna.", "Choose one of the outages."),
    "reported_heading": ("Tack för rapporten", "Thank you for the report"),
    "reported": (
        "Rapporten är registrerad i driftstörningens logg och förvaltningen har fått besked.",
        "The report is recorded in the outage's log and the management has been told.",
    ),
    "back": ("Tillbaka", "Back"),
}


class PublicWords(WordTable):
    """The public pages' texts in one language: `w.key`, and `w.f(key, name=value)`."""

    def __init__(self, language: str) -> None:
        super().__init__(language, _TEXTS)
