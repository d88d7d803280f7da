"""The words of the operator's pages (start, declare, incident), Swedish first, English too.

Templates read them as `w.key`; a key missing in English falls back to Swedish, so a page never
shows a raw key. The plan's own titles come from the plan, not from here.
"""

from __future__ import annotations

from engine.web.words import LANGUAGES, Texts, WordTable

__all__ = ["LANGUAGES", "Texts", "Words"]

_TEXTS: Texts = {
    # key: (Swedish, English)
    "start": ("Start", "Home"),
    "decisions": ("Beslut", "Decisions"),
    "switch": ("English", "Svenska"),
    "signed_in_as": ("Inloggad som", "Signed in as"),
    "sign_out": ("Logga ut", "Sign out"),
    "open_incidents": ("Pågående driftstörningar", "Open incidents"),
    "no_incidents": ("Inga driftstörningar pågår just nu.", "No incidents are open right now."),
    "new_incident": ("Ny driftstörning", "New incident"),
    "exercise": ("ÖVNING", "EXERCISE"),
    "exercise_note": (
        "det här är en övning, inte en verklig störning.",
        "this is an exercise, not a real disturbance.",
    ),
    "age": ("Pågått", "Open for"),
    "started": ("Anmäld", "Declared"),
    "next_timer": ("Nästa tidpunkt", "Next due"),
    "pending_count": ("Väntande beslut", "Pending decisions"),
    "dead_count": ("Misslyckade meddelanden", "Failed messages"),
    "nothing_due": ("Inget planerat", "Nothing scheduled"),
    "open_incident": ("Öppna", "Open"),
    "declare_heading": ("Anmäl en driftstörning", "Declare an incident"),
    "declare_lead": (
        "Fyll i uppgifterna. Du får se alla meddelanden innan något skickas.",
        "Fill in the details. You will see every message before anything is sent.",
    ),
    "required": ("obligatorisk", "required"),
    "unknown": ("Okänd", "Unknown"),
    "time_hint": (
        "Välj datum och tid, eller skriv bara en tid som 14:00 (i dag).",
        "Pick a date and time, or type just a time such as 14:00 (today).",
    ),
    "now_value": ("Nu", "Now"),
    "review": ("Granska meddelandena", "Review the messages"),
    "fix_errors": (
        "Uppgifterna behöver rättas: se meddelandena vid fälten.",
        "Some details need fixing: see the messages beside the fields.",
    ),
    "fill_in": ("Fyll i det här fältet.", "Fill in this field."),
    "preview_heading": ("Granska innan du skickar", "Review before sending"),
    "preview_lead": (
        "Så här går meddelandena ut. Inget är skickat ännu.",
        "This is what will go out. Nothing has been sent yet.",
    ),
    "preview_none": (
        "Åtgärden skickar inga meddelanden.",
        "This action sends no messages.",
    ),
    "preview_pending": (
        "Åtgärden kräver ett beslut: meddelandena går till beslutsfattarna först.",
        "This action needs a decision: the messages go to the deciders first.",
    ),
    "your_details": ("Dina uppgifter", "Your details"),
    "channel": ("Kanal", "Channel"),
    "audience": ("Mottagare", "Audience"),
    "recipients": ("Antal mottagare", "Recipients"),
    "subject": ("Ämne", "Subject"),
    "send": ("Skicka", "Send"),
    "change": ("Ändra uppgifterna", "Change the details"),
    "declare_send": ("Anmäl och skicka", "Declare and send"),
    "state": ("Läge", "State"),
    "plan_flow": ("Planens lägen", "The plan's states"),
    "current_state": ("nuvarande läge", "current state"),
    "data": ("Uppgifter", "Details"),
    "reserve": ("Delregioner med reservrutin", "Sub-regions on the reserve routine"),
    "none": ("Inga", "None"),
    "actions": ("Det du kan göra nu", "What you can do now"),
    "no_actions": ("Du har inga åtgärder i det här läget.", "You have no actions in this state."),
    "needs_decision": ("kräver beslut av", "needs a decision by"),
    "leads_to": ("leder till", "leads to"),
    "pending": ("Väntande beslut", "Pending decisions"),
    "asked": ("Begärt", "Requested"),
    "by": ("av", "by"),
    "still_to_decide": ("Återstår att besluta", "Still to decide"),
    "expires": ("Svara senast", "Answer by"),
    "decide_now": ("Besluta nu", "Decide now"),
    "reminders": ("Påminnelser", "Reminders"),
    "timers": ("Kommande tidpunkter", "Coming timers"),
    "no_timers": ("Inga tidpunkter väntar.", "No timers are waiting."),
    "timer_reminder": ("Påminnelse om beslut", "Decision reminder"),
    "timer_expire": ("Begäran förfaller", "Request expires"),
    "timeline": ("Händelser", "Timeline"),
    "comment": ("Kommentar", "Comment"),
    "reference": ("Referens", "Reference"),
    "on_behalf_of": ("för", "for"),
    "messages": ("Meddelanden", "Messages"),
    "no_messages": ("Inga meddelanden ännu.", "No messages yet."),
    "status": ("Status", "Status"),
    "attempts": ("Försök", "Attempts"),
    "retry": ("Skicka igen", "Send again"),
    "last_error": ("Senaste fel", "Last error"),
    "incident": ("Incident", "Incident"),
    "action_heading": ("Åtgärd", "Action"),
    "back_to_incident": ("Tillbaka till incidenten", "Back to the incident"),
    "done": ("Klart: {title}.", "Done: {title}."),
    "asked_decision": (
        "Begäran är skickad: {title} väntar på beslut.",
        "Request sent: {title} awaits a decision.",
    ),
    "retried": ("Meddelandet skickas igen.", "The message is being sent again."),
    "declared": ("Driftstörningen är anmäld och meddelandena skickas.", "Declared; sending."),
    "not_allowed": ("Det går inte", "Not possible"),
    "minutes": ("{n} min", "{n} min"),
    "hours": ("{h} h {m} min", "{h} h {m} min"),
    "days": ("{d} d {h} h", "{d} d {h} h"),
    "result_sent": ("levererat", "delivered"),
    "result_temporary": ("tillfälligt fel", "temporary failure"),
    "result_permanent": ("misslyckades", "failed"),
    "page_refreshes": (
        "Sidan uppdateras av sig själv medan störningen pågår.",
        "This page refreshes itself while the incident is open.",
    ),
}


class Words(WordTable):
    """The operator pages' words (`w.review`, `w.f("done", title=..)`); a page group's own
    tables (`own`, e.g. the admin pages') are looked up first."""

    def __init__(self, language: str, *own: Texts) -> None:
        super().__init__(language, *own, _TEXTS)
