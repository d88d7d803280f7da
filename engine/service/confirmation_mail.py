"""The double opt-in mail: the confirmation link goes to the address that subscribed.

Only a person who reads the mailbox can confirm, so the link is sent there and shown nowhere
else (not to whoever typed the address on a web form). It goes out at once on the plan's mail
channel for the audience (a `newsletter` or `email` channel whose audience it is), with that
channel's settings — the same SMTP server, sender and file-outbox fallback as the newsletter
itself. It is not an outbox row: outbox messages belong to an incident, and a subscription has
none. A failed send is reported to the caller; subscribing again sends a new link.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from engine.definition.definition import Definition
from engine.definition.schema import localized
from engine.domain.model import Subscriber
from engine.errors import ConfigurationError
from engine.ports import ChannelKinds, DeliveryReport, OutgoingMessage, Recipient
from engine.service.subscriptions import confirm_url, unsubscribe_url

__all__ = ["MAIL_KINDS", "ConfirmationMail"]

MAIL_KINDS = ("newsletter", "email")
_WORDS = {
    "sv": (
        "Bekräfta din prenumeration: {title}",
        "Hej{name}!\n\nNågon, förhoppningsvis du, har anmält {email} för att få {title} "
        "från {service}.\n\nÖppna länken och tryck på knappen för att bekräfta:\n{link}\n\n"
        "Har du inte bett om det här kan du bortse från meddelandet: utan bekräftelse "
        "skickas inget mer.{mailbox}",
        "\n\nFrågor: {address}",
    ),
    "en": (
        "Confirm your subscription: {title}",
        "Hello{name},\n\nSomeone, hopefully you, signed up {email} to receive {title} from "
        "{service}.\n\nOpen the link and press the button to confirm:\n{link}\n\n"
        "If you did not ask for this, ignore this message: nothing more is sent without "
        "confirmation.{mailbox}",
        "\n\nQuestions: {address}",
    ),
}


class ConfirmationMail:
    """Sends a subscriber their confirmation link on the plan's channel for their audience."""

    def __init__(
        self,
        *,
        channels: ChannelKinds,
        environ: Mapping[str, str],
        data_dir: str,
        public_url: str,
    ) -> None:
        self.channels = channels
        self.environ = dict(environ)
        self.data_dir = data_dir
        self.public_url = public_url

    def send(self, definition: Definition, subscriber: Subscriber, now: datetime) -> DeliveryReport:
        """Mail `subscriber` their confirmation link; ConfigurationError when the plan has no
        mail channel for their audience."""
        workflow = definition.workflow
        name = next(
            (
                n
                for n, c in workflow.channels.items()
                if c.kind in MAIL_KINDS and c.audience == subscriber.audience
            ),
            None,
        )
        if name is None:
            raise ConfigurationError(
                f"No newsletter or email channel has audience '{subscriber.audience}', so no "
                "confirmation link can be mailed. Give one such channel that audience.",
                sv=f"Ingen kanal av typen newsletter eller email har målgruppen "
                f"'{subscriber.audience}', så ingen bekräftelselänk kan skickas.",
            )
        spec = workflow.channels[name]
        settings = self.channels.resolve(spec.kind, spec.settings, self.environ)
        settings.setdefault("channel", name)
        language = definition.language
        subject, body = _text(definition, subscriber, self.public_url, language)
        message = OutgoingMessage(
            message_id=f"confirm-{subscriber.id}-{now:%Y%m%d%H%M%S}@driftplan",
            incident_id="",
            channel=name,
            kind=spec.kind,
            audience=subscriber.audience,
            subject=subject,
            body_text=body,
            body_html="",
            language=language,
            created_at=now,
            settings=settings,
            recipients=[
                Recipient(
                    subscriber.email,
                    subscriber.name,
                    # The newsletter kind sends nothing without a way out; this is theirs.
                    unsubscribe_url=unsubscribe_url(self.public_url, subscriber.unsubscribe_token),
                )
            ],
            reply_to=workflow.service.inbound_mailbox or "",
        )
        channel = self.channels.factories()[spec.kind](settings, data_dir=self.data_dir)
        try:
            return channel.deliver(message)
        finally:
            channel.close()


def _text(
    definition: Definition, subscriber: Subscriber, public_url: str, language: str
) -> tuple[str, str]:
    workflow = definition.workflow
    subject, body, mailbox = _WORDS.get(language, _WORDS["sv"])
    audience = workflow.audiences.get(subscriber.audience)
    title = localized(audience.title, language) if audience and audience.title else ""
    title = title or subscriber.audience
    inbound = workflow.service.inbound_mailbox
    return subject.format(title=title), body.format(
        name=f" {subscriber.name}" if subscriber.name else "",
        email=subscriber.email,
        title=title,
        service=workflow.service.name,
        link=confirm_url(public_url, subscriber.token),
        mailbox=mailbox.format(address=inbound) if inbound else "",
    )
