"""The registry of channel kinds and the resolution of a plan channel's settings.

Owns which kinds exist (the built-ins below plus third-party classes registered under the
entry-point group "driftplan.channels", whose entry-point name is the kind), and how a plan
channel's settings are completed: environment defaults for the kind first, then the plan's own
settings, in which `${NAME}` is replaced by the environment variable NAME. Secrets (settings named
like password, secret, token, key) must be a whole `${NAME}`: a plan file is versioned and shown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib import import_module
from importlib.metadata import EntryPoint, entry_points

from engine.errors import ConfigurationError
from engine.ports import ChannelFactory

__all__ = [
    "ENTRY_POINT_GROUP",
    "builtin_kinds",
    "known_kind_names",
    "load_channel_kinds",
    "resolve_settings",
]

ENTRY_POINT_GROUP = "driftplan.channels"
# Setting names containing one of these are secrets; the same words as the plan checker's
# (engine.definition.checks.workflow), so a plan it accepts is never refused here.
SECRET_WORDS = ("password", "passwd", "secret", "token", "key", "apikey", "credential")

_SMTP_ENV = {
    "host": "DRIFTPLAN_SMTP_HOST",
    "port": "DRIFTPLAN_SMTP_PORT",
    "security": "DRIFTPLAN_SMTP_SECURITY",
    "user": "DRIFTPLAN_SMTP_USER",
    "password": "DRIFTPLAN_SMTP_PASSWORD",
    "mail_from": "DRIFTPLAN_MAIL_FROM",
}
_PUBLISH_ENV = {"publish_dir": "DRIFTPLAN_PUBLISH_DIR", "base_url": "DRIFTPLAN_PUBLIC_URL"}
# setting -> environment variable, per built-in kind.
ENV_DEFAULTS: dict[str, dict[str, str]] = {
    "email": _SMTP_ENV,
    "newsletter": _SMTP_ENV,
    "calendar": {**_SMTP_ENV, "meeting_location": "DRIFTPLAN_MEETING_LOCATION"},
    "banner": _PUBLISH_ENV,
    "news": _PUBLISH_ENV,
    "webhook": {},
    "file_outbox": {},
}
# Fixed defaults; publish_dir's default (<data_dir>/public) is applied by the channel itself,
# because only the channel knows the data directory.
FIXED_DEFAULTS: dict[str, dict[str, str]] = {
    "email": {"timeout": "10"},
    "newsletter": {"timeout": "10"},
    "calendar": {"timeout": "10"},
    "webhook": {"timeout": "10"},
}
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


# Built-in kinds by name, imported only when a channel is needed: checking a plan needs just
# the names, and importing every channel (httpx, feedgen, icalendar) cost each CLI call 0.2 s.
BUILTIN: dict[str, str] = {
    "email": "channels.smtp_email:EmailChannel",
    "newsletter": "channels.newsletter:NewsletterChannel",
    "calendar": "channels.calendar_invite:CalendarChannel",
    "banner": "channels.banner:BannerChannel",
    "news": "channels.news:NewsChannel",
    "webhook": "channels.webhook:WebhookChannel",
    "file_outbox": "channels.file_outbox:FileOutbox",
}


def builtin_kinds() -> dict[str, ChannelFactory]:
    """The channel classes shipped with driftplan, by kind."""
    kinds: dict[str, ChannelFactory] = {}
    for kind, target in BUILTIN.items():
        module, _, name = target.partition(":")
        kinds[kind] = getattr(import_module(module), name)
    return kinds


def _describe(point: EntryPoint) -> str:
    dist = getattr(point, "dist", None)
    source = f", distribution {dist.name} {dist.version}" if dist is not None else ""
    return f"channel plugin '{point.name}' ({point.value}{source})"


def _load_plugin(point: EntryPoint) -> ChannelFactory:
    try:
        loaded: object = point.load()
    except Exception as exc:  # any import-time failure of a plugin is reported, named
        raise ConfigurationError(
            f"The {_describe(point)} cannot be loaded: {type(exc).__name__}: {exc}. "
            f"Fix or uninstall the plugin."
        ) from exc
    missing = [name for name in ("kind", "deliver", "close", "status") if not hasattr(loaded, name)]
    if not isinstance(loaded, type) or missing:
        raise ConfigurationError(
            f"The {_describe(point)} is not a channel class: it lacks "
            f"{', '.join(missing) or 'a class'} (see engine.ports.Channel)."
        )
    if getattr(loaded, "kind", None) != point.name:
        raise ConfigurationError(
            f"The {_describe(point)} declares kind {getattr(loaded, 'kind', None)!r}; "
            f"the entry-point name and the class's kind must be the same."
        )
    factory: ChannelFactory = loaded  # type: ignore[assignment]  # checked structurally above
    return factory


def load_channel_kinds() -> dict[str, ChannelFactory]:
    """Built-in kinds plus installed plugins; `ConfigurationError` names a broken plugin."""
    kinds = builtin_kinds()
    builtin = set(kinds)
    for point in entry_points(group=ENTRY_POINT_GROUP):
        if point.name in builtin:
            raise ConfigurationError(
                f"The {_describe(point)} would replace the built-in kind '{point.name}'; "
                f"choose another name. Built-in kinds: {', '.join(sorted(builtin))}."
            )
        if point.name in kinds:
            continue  # the same distribution found twice on sys.path
        kinds[point.name] = _load_plugin(point)
    return kinds


def known_kind_names() -> list[str]:
    """Every kind a plan may use, sorted; plugins are named by their entry points, unloaded."""
    plugins = {point.name for point in entry_points(group=ENTRY_POINT_GROUP)}
    return sorted(set(BUILTIN) | plugins)


def _substitute(kind: str, setting: str, value: str, environ: Mapping[str, str]) -> str:
    def lookup(match: re.Match[str]) -> str:
        name = match.group(1)
        found = environ.get(name, "")
        if not found:
            raise ConfigurationError(
                f"Setting '{setting}' of a {kind} channel refers to the environment variable "
                f"{name}, which is not set. Set {name} or change the plan."
            )
        return found

    return _REFERENCE.sub(lookup, value)


def resolve_settings(
    kind: str, plan_settings: Mapping[str, str], environ: Mapping[str, str]
) -> dict[str, str]:
    """The effective settings of one plan channel of `kind`.

    Order: fixed defaults, then environment defaults of the kind (unset or empty variables are
    skipped), then the plan's settings with `${NAME}` substituted. A secret written literally in
    the plan is a `ConfigurationError` naming the setting. A setting whose variable is unset is
    left out, so the channel reports it missing and falls back to the file outbox — the embedded
    default — rather than refusing to run (`unset_variables` names what to set).
    """
    resolved: dict[str, str] = dict(FIXED_DEFAULTS.get(kind, {}))
    for setting, variable in ENV_DEFAULTS.get(kind, {}).items():
        value = environ.get(variable, "")
        if value:
            resolved[setting] = value
    for setting, raw in plan_settings.items():
        value = str(raw)
        is_secret = any(word in setting.lower() for word in SECRET_WORDS)
        if is_secret and not _REFERENCE.fullmatch(value.strip()):
            raise ConfigurationError(
                f"Setting '{setting}' of a {kind} channel must not be written in the plan; "
                f"use '${{VARIABLE}}' and set the variable in the environment."
            )
        if unset_variables({setting: value}, environ):
            continue
        resolved[setting] = _substitute(kind, setting, value, environ)
    return resolved


def unset_variables(plan_settings: Mapping[str, str], environ: Mapping[str, str]) -> list[str]:
    """The `${NAME}` variables that plan settings refer to but the environment does not set."""
    return sorted(
        {
            match.group(1)
            for value in plan_settings.values()
            for match in _REFERENCE.finditer(str(value))
            if not environ.get(match.group(1), "")
        }
    )


class ChannelRegistry:
    """This module as the engine's `ChannelKinds` port; plugins are looked up once."""

    def __init__(self) -> None:
        self._factories: dict[str, ChannelFactory] | None = None

    def factories(self) -> Mapping[str, ChannelFactory]:
        if self._factories is None:
            self._factories = load_channel_kinds()
        return self._factories

    def names(self) -> list[str]:
        return known_kind_names()

    def resolve(
        self, kind: str, plan_settings: Mapping[str, str], environ: Mapping[str, str]
    ) -> dict[str, str]:
        return resolve_settings(kind, plan_settings, environ)

    def unset(self, plan_settings: Mapping[str, str], environ: Mapping[str, str]) -> list[str]:
        return unset_variables(plan_settings, environ)
