"""Sending a subscriber added on the admin page their double opt-in mail.

The mail itself is `engine.service.confirmation_mail` (the same the public subscribe page
sends): the link goes to the subscriber's own mailbox, never to the administrator who typed
the address, so only someone who reads that mailbox can confirm. This module only wires it
from the running installation and turns a failure into a sentence for the page.
"""

from __future__ import annotations

import logging

from engine.bootstrap import App
from engine.domain.model import RecipientStatus, Subscriber
from engine.errors import DriftplanError

log = logging.getLogger(__name__)


def send_confirmation(app: App, subscriber: Subscriber, language: str) -> str:
    """Mail `subscriber` their confirmation link; "" when it went, else why it did not
    (in `language`)."""
    try:
        report = app.confirmation_mail().send(app.plans.current(), subscriber, app.clock.now())
    except DriftplanError as err:
        log.warning("confirmation mail to subscriber %s failed: %s", subscriber.id, err)
        return err.text(language)
    failed = [r for r in report.results if r.status != RecipientStatus.SENT]
    if failed:
        log.warning("confirmation mail to subscriber %s failed: %s", subscriber.id, failed[0])
        return failed[0].detail or str(failed[0].status)
    return ""
