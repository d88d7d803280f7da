"""The registry of channel kinds and the resolution of a plan channel's settings.

Owns which kinds exist (the built-ins below plus third-party classes registered under the
entry-point group "driftplan.channels", whose entry-point name is the kind), what settings each
declares (`declarations`: the built-ins' from `channels.declarations`, a plugin's from its class's
`settings_spec`, or none — then every setting of it is public text), and how a plan channel's
settings are completed: environment defaults for the kind first, then the plan's own settings, in
which `${NAME}` is replaced by the environment variable NAME. The plan's settings are judged by
the same rules as `driftplan validate` (engine.definition.channel_settings) before anything is
substituted, so a plan that was never validated cannot slip a secret into a public setting.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from importlib import import_module
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

from channels.declarations import BUILTIN_SETTINGS, PUBLISH_ROOT_SETTING
from engine.definition.channel_settings import (
    REFERENCE,
    UNDECLARED,
    ChannelSettings,
    secret_variables,
    setting_problems,
)
from engine.errors import ConfigurationError
from engine.ports import ChannelFactory

__all__ = [
    "ENTRY_POINT_GROUP",
    "ChannelRegistry",
    "builtin_kinds",
    "check_plan_settings",
    "known_kind_names",
    "load_channel_kinds",
    "plugin_settings",
    "resolve_settings",
]

ENTRY_POINT_GROUP = "driftplan.channels"
# Fixed defaults; publish_dir's default (<data_dir>/public) is applied by the channel itself,
# because only the channel knows the data directory.
FIXED_DEFAULTS: dict[str, dict[str, str]] = {
    "email": {"timeout": "10"},
    "newsletter": {"timeout": "10"},
    "calendar": {"timeout": "10"},
    "webhook": {"timeout": "10"},
}


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

    return REFERENCE.sub(lookup, value)


def check_plan_settings(
    kind: str, plan_settings: Mapping[str, str], spec: ChannelSettings, *, channel: str = ""
) -> None:
    """Refuse plan settings that break the rules `driftplan validate` applies (a setting the kind
    does not declare, `${NAME}` in public text or a URL's query, a literal or mixed secret, a
    secret variable outside a secret setting, a non-http(s) URL, `..` out of the data folder).

    Absolute paths are left to the channel, which compares real paths with its data folder and
    publish root when it is built.
    """
    secrets = secret_variables({**BUILTIN_SETTINGS, kind: spec}, [(kind, plan_settings)])
    problems = [
        problem
        for key, value in plan_settings.items()
        for problem in setting_problems(
            kind=kind,
            spec=spec,
            channel=channel,
            key=key,
            value=str(value),
            secrets=secrets,
            roots=None,
        )
    ]
    if problems:
        raise ConfigurationError(
            f"The plan's settings of a {kind} channel are refused: " + " ".join(problems)
        )


def resolve_settings(
    kind: str,
    plan_settings: Mapping[str, str],
    environ: Mapping[str, str],
    *,
    spec: ChannelSettings | None = None,
) -> dict[str, str]:
    """The effective settings of one plan channel of `kind` (declared as `spec`; by default the
    built-in declaration, or none for a plugin).

    Order: fixed defaults, then environment defaults of the kind (unset or empty variables are
    skipped), then the plan's settings with `${NAME}` substituted. Plan settings that break the
    rules (`check_plan_settings`) are a `ConfigurationError` naming each. A setting whose variable
    is unset is left out, so the channel reports it missing and falls back to the file outbox —
    the embedded default — rather than refusing to run (`unset_variables` names what to set).
    """
    declared = spec or BUILTIN_SETTINGS.get(kind, UNDECLARED)
    check_plan_settings(kind, plan_settings, declared)
    resolved: dict[str, str] = dict(FIXED_DEFAULTS.get(kind, {}))
    for setting, variable in declared.environment.items():
        value = environ.get(variable, "")
        if value:
            resolved[setting] = value
    for setting, raw in plan_settings.items():
        value = str(raw)
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
            for match in REFERENCE.finditer(str(value))
            if not environ.get(match.group(1), "")
        }
    )


def plugin_settings(factory: object) -> ChannelSettings:
    """A plugin's declared settings (`settings_spec` on its class), or `UNDECLARED`."""
    spec = getattr(factory, "settings_spec", None)
    return spec if isinstance(spec, ChannelSettings) else UNDECLARED


class _Declarations(Mapping[str, ChannelSettings]):
    """Every kind's declaration; a plugin is loaded only when a plan names its kind."""

    def __init__(self, registry: ChannelRegistry) -> None:
        self._registry = registry

    def __getitem__(self, kind: str) -> ChannelSettings:
        if kind in BUILTIN_SETTINGS:
            return BUILTIN_SETTINGS[kind]
        return self._registry.plugin_declaration(kind)

    def __iter__(self) -> Iterator[str]:
        return iter(self._registry.names())

    def __len__(self) -> int:
        return len(self._registry.names())


class ChannelRegistry:
    """This module as the engine's `ChannelKinds` port; plugins are looked up once.

    `publish_root` (the installation's DRIFTPLAN_PUBLISH_ROOT, from `engine.settings`) is handed
    to the publishing channels in their resolved settings, never taken from a plan.
    """

    def __init__(self, publish_root: str | Path | None = None) -> None:
        self._factories: dict[str, ChannelFactory] | None = None
        self._plugin_specs: dict[str, ChannelSettings] = {}
        self._publish_root = str(publish_root) if publish_root else ""

    def factories(self) -> Mapping[str, ChannelFactory]:
        if self._factories is None:
            self._factories = load_channel_kinds()
        return self._factories

    def names(self) -> list[str]:
        return known_kind_names()

    def declarations(self) -> Mapping[str, ChannelSettings]:
        return _Declarations(self)

    def plugin_declaration(self, kind: str) -> ChannelSettings:
        """The settings plugin `kind` declares, loading that plugin only (KeyError if no plugin
        has that name; `ConfigurationError` naming it if it cannot be loaded)."""
        if kind not in self._plugin_specs:
            points = [p for p in entry_points(group=ENTRY_POINT_GROUP) if p.name == kind]
            if not points or kind in BUILTIN_SETTINGS:
                raise KeyError(kind)
            self._plugin_specs[kind] = plugin_settings(_load_plugin(points[0]))
        return self._plugin_specs[kind]

    def resolve(
        self, kind: str, plan_settings: Mapping[str, str], environ: Mapping[str, str]
    ) -> dict[str, str]:
        spec = BUILTIN_SETTINGS.get(kind) or plugin_settings(self.factories().get(kind))
        resolved = resolve_settings(kind, plan_settings, environ, spec=spec)
        resolved.pop(PUBLISH_ROOT_SETTING, None)
        if spec.paths and self._publish_root:
            resolved[PUBLISH_ROOT_SETTING] = self._publish_root
        return resolved

    def unset(self, plan_settings: Mapping[str, str], environ: Mapping[str, str]) -> list[str]:
        return unset_variables(plan_settings, environ)
