"""The settings each built-in channel kind reads, declared by class (connection, secret, public).

Kept apart from the channel modules so that checking a plan (`driftplan validate`, loading a
plan) learns every kind's settings without importing httpx, feedgen or icalendar; each channel
class points at its entry here as `settings_spec`, which is also how a plugin declares its own.
What the classes mean and the rules a plan must follow: `engine.definition.channel_settings`.
"""

from __future__ import annotations

from engine.definition.channel_settings import ChannelSettings

__all__ = ["BUILTIN_SETTINGS", "EMAIL", "PUBLISH_ROOT_SETTING"]

# Put into resolved settings by the registry from the installation's settings, never from a
# plan (a plan that names it is refused: no kind declares it).
PUBLISH_ROOT_SETTING = "publish_root"

_SMTP_ENVIRONMENT = {
    "host": "DRIFTPLAN_SMTP_HOST",
    "port": "DRIFTPLAN_SMTP_PORT",
    "security": "DRIFTPLAN_SMTP_SECURITY",
    "user": "DRIFTPLAN_SMTP_USER",
    "password": "DRIFTPLAN_SMTP_PASSWORD",
    "mail_from": "DRIFTPLAN_MAIL_FROM",
    "from_name": "DRIFTPLAN_MAIL_FROM_NAME",
}
_SMTP_CONNECTION = ("host", "port", "security", "user", "mail_from", "timeout", "helo")

# The From display name every recipient sees ("SAMSA driftinformation"); a plan may set it per
# channel, DRIFTPLAN_MAIL_FROM_NAME for the installation.
_SENDER_NAME = ("from_name",)
EMAIL = ChannelSettings(
    connection=_SMTP_CONNECTION,
    secret=("password",),
    public=_SENDER_NAME,
    environment=_SMTP_ENVIRONMENT,
)
NEWSLETTER = ChannelSettings(
    connection=_SMTP_CONNECTION,
    secret=("password",),
    public=("list_id", *_SENDER_NAME),  # the List-Id header every subscriber sees
    environment=_SMTP_ENVIRONMENT,
)
CALENDAR = ChannelSettings(
    # The meeting link or phone-conference details: configured per installation, sent only to
    # the invited people.
    connection=(*_SMTP_CONNECTION, "meeting_location", "timezone"),
    secret=("password",),
    public=_SENDER_NAME,
    environment={**_SMTP_ENVIRONMENT, "meeting_location": "DRIFTPLAN_MEETING_LOCATION"},
)
_PUBLISH_ENVIRONMENT = {"publish_dir": "DRIFTPLAN_PUBLISH_DIR", "base_url": "DRIFTPLAN_PUBLIC_URL"}
BANNER = ChannelSettings(
    connection=("publish_dir", "base_url", "timezone"),
    # The "more information" link and the file-name prefix are published as they are.
    public=("link_url", "name_prefix"),
    paths=("publish_dir",),
    urls=("base_url", "link_url"),
    environment=_PUBLISH_ENVIRONMENT,
)
NEWS = ChannelSettings(
    connection=("publish_dir", "base_url", "max_entries", "timezone"),
    # The site title heads every page and the Atom feed; the feed id is in the feed.
    public=("title", "feed_id"),
    paths=("publish_dir",),
    urls=("base_url",),
    environment=_PUBLISH_ENVIRONMENT,
)
WEBHOOK = ChannelSettings(connection=("url", "timeout"), secret=("secret",), urls=("url",))
FILE_OUTBOX = ChannelSettings()

BUILTIN_SETTINGS: dict[str, ChannelSettings] = {
    "email": EMAIL,
    "newsletter": NEWSLETTER,
    "calendar": CALENDAR,
    "banner": BANNER,
    "news": NEWS,
    "webhook": WEBHOOK,
    "file_outbox": FILE_OUTBOX,
}
