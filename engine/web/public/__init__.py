"""The public pages (no sign-in): the published banner and news, subscribing, and reporting how
an outage affects an organisation. Every page names the plan's shared mailbox."""

from __future__ import annotations

from engine.web.public import files, report, subscribe

ROUTERS = (files.router, subscribe.router, report.router)

__all__ = ["ROUTERS"]
