"""What a channel kind's settings are, and the rules a plan's channel settings must follow.

A kind declares each setting it reads in one class (`ChannelSettings`):

- *connection* — where and how to deliver (host, port, user, url, publish_dir, ...): may refer to
  environment variables as `${NAME}`;
- *secret* — credentials (password, webhook secret, ...): must be one whole `${NAME}`, because a
  plan file is versioned, snapshotted with every incident and shown to its authors;
- *public* — text the channel may publish (a news page's title, a link, ...): never `${NAME}`,
  because whatever the variable holds would be published with it.

It also says which settings are *paths* (they must stay inside the data folder or the publish
root) and which are *URLs* (http or https only, and no `${NAME}` in the query string, where
tokens end up in logs and in the receiver's hands).

The rules (`setting_problems`) are plain functions over plain values, so that `driftplan
validate` (engine.definition.checks.settings, with file:line:col) and the channel registry at run
time (channels.registry, a `ConfigurationError`) judge a plan the same way. The declarations are
handed in by whoever knows the installed kinds (the registry, through `engine.ports.ChannelKinds`):
this layer never imports a channel.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import PurePosixPath
from urllib.parse import urlsplit

__all__ = [
    "REFERENCE",
    "SECRET_WORDS",
    "UNDECLARED",
    "ChannelSettings",
    "PathRoots",
    "SettingClass",
    "looks_secret",
    "secret_variables",
    "setting_problems",
]

REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
URL_SCHEMES = ("http", "https")
# Only for kinds that declare nothing (a plugin without `settings_spec`) and for variable names:
# a setting or variable named like this holds a credential.
SECRET_WORDS = ("password", "passwd", "secret", "token", "key", "apikey", "credential")


class SettingClass(StrEnum):
    """How a setting may be written in a plan; see the module docstring."""

    CONNECTION = "connection"
    SECRET = "secret"  # noqa: S105  (the name of a class of settings, not a password)
    PUBLIC = "public"


@dataclass(frozen=True)
class ChannelSettings:
    """The settings one channel kind reads, by class, plus which are paths and URLs.

    `environment` maps a setting to the variable that supplies it when the plan does not (for
    the built-ins, e.g. host <- DRIFTPLAN_SMTP_HOST). `declared` is False only for `UNDECLARED`:
    a plugin that declares nothing, whose every setting is then treated as public text.
    """

    connection: tuple[str, ...] = ()
    secret: tuple[str, ...] = ()
    public: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict)
    declared: bool = True

    def __post_init__(self) -> None:
        classes = [*self.connection, *self.secret, *self.public]
        twice = sorted({name for name in classes if classes.count(name) > 1})
        stray = sorted((set(self.paths) | set(self.urls) | set(self.environment)) - set(classes))
        if twice or stray:
            raise ValueError(
                f"channel settings declared in two classes {twice} or in none {stray}: "
                "each setting is exactly one of connection, secret, public"
            )

    def names(self) -> list[str]:
        """Every declared setting, sorted."""
        return sorted({*self.connection, *self.secret, *self.public})

    def class_of(self, name: str) -> SettingClass | None:
        """The class of setting `name`; None when the kind does not declare it."""
        if not self.declared:
            return SettingClass.PUBLIC
        for kind, names in (
            (SettingClass.CONNECTION, self.connection),
            (SettingClass.SECRET, self.secret),
            (SettingClass.PUBLIC, self.public),
        ):
            if name in names:
                return kind
        return None


UNDECLARED = ChannelSettings(declared=False)


@dataclass(frozen=True)
class PathRoots:
    """Where path settings may point: the data folder and, when configured, the publish root.

    Absolute, lexically normalised paths; relative path settings are taken as relative to
    `data`. The checker compares lexically (the plan may be validated on another machine); the
    channel compares real paths again when it runs.
    """

    data: str
    publish_root: str | None = None

    @classmethod
    def of(cls, data: str, publish_root: str | None = None) -> PathRoots:
        return cls(
            posixpath.normpath(posixpath.abspath(data)),
            posixpath.normpath(posixpath.abspath(publish_root)) if publish_root else None,
        )

    def describe(self) -> str:
        if self.publish_root:
            return f"the data folder {self.data} or the publish root {self.publish_root}"
        return f"the data folder {self.data} (no publish root: DRIFTPLAN_PUBLISH_ROOT is unset)"


def looks_secret(name: str) -> bool:
    """A setting or variable named like a credential (`api_token`, `DRIFTPLAN_SMTP_PASSWORD`)."""
    lowered = name.lower()
    # "key" only as a whole word: KEYCLOAK_URL or MONKEY is no credential, API_KEY is.
    if "key" in re.split(r"[^a-z0-9]+", lowered):
        return True
    return any(word in lowered for word in SECRET_WORDS if word != "key")


def secret_variables(
    declarations: Mapping[str, ChannelSettings],
    channels: Iterable[tuple[str, Mapping[str, str]]],
) -> set[str]:
    """The environment variables that hold secrets, as far as the kinds and the plan tell.

    Those that supply a secret setting of a kind the plan uses by default, those a plan's secret
    setting refers to, and those named like a credential. Only the kinds of `channels` are
    looked up, so a plugin the plan does not use is never loaded.
    """
    found: set[str] = set()
    for kind, settings in channels:
        spec = declarations.get(kind, UNDECLARED)
        found |= {v for k, v in spec.environment.items() if k in spec.secret}
        for key, value in settings.items():
            references = REFERENCE.findall(str(value))
            if spec.class_of(key) is SettingClass.SECRET:
                found |= set(references)
            found |= {name for name in references if looks_secret(name)}
    return found


def suggested_variable(channel: str, key: str) -> str:
    """`${IT_NYTT_SECRET}` for setting `secret` of channel `it_nytt`."""
    return "${" + re.sub(r"[^A-Z0-9]+", "_", f"{channel}_{key}".upper()).strip("_") + "}"


def _url_problem(where: str, value: str, secrets: list[str]) -> list[str]:
    problems = []
    text = value.strip()
    scheme_part, colon, _ = text.partition(":")
    if REFERENCE.fullmatch(text) or "${" in scheme_part:
        pass  # the whole URL (or its scheme) comes from the environment: checked when it runs
    elif not colon or scheme_part.lower() not in URL_SCHEMES:
        shown = f"'{scheme_part}:'" if colon else "no scheme"
        problems.append(
            f"{where} must be an http or https URL, but has {shown}; file:, ftp:, javascript: "
            "and other schemes are refused. Write it as https://..."
        )
    elif not urlsplit(REFERENCE.sub("x", text)).netloc:
        problems.append(f"{where} is a URL without a host; write it as https://host/path")
    query = text.partition("?")[2]
    if REFERENCE.search(query):
        problems.append(
            f"{where} has an environment reference in its query string "
            f"({', '.join(sorted(set(REFERENCE.findall(query))))}): query strings end up in "
            "logs, reports and the receiver's hands. Move the value out of the query"
            + (f", into the secret setting {' or '.join(secrets)}." if secrets else ".")
        )
    return problems


def _path_problem(where: str, value: str, roots: PathRoots | None) -> str | None:
    """`..` that climbs out of the folder the path starts in; an absolute path outside roots."""
    text = value.strip()
    placeholder = "\0"  # a `${NAME}` is an opaque folder: `..` may not climb above it
    parts = PurePosixPath(REFERENCE.sub(placeholder, text)).parts
    absolute = text.startswith("/")
    depth = 0
    first = REFERENCE.match(text)
    start = first.group(0) if first else "/" if absolute else "the data folder"
    for part in parts[1:] if absolute else parts:
        if part == "..":
            depth -= 1
            if depth < 0:
                return (
                    f"{where} climbs out of {start} with '..' ('{text}'). Path settings stay "
                    f"inside {roots.describe() if roots else 'the data folder or publish root'}; "
                    "remove the '..'."
                )
        elif part not in ("", "."):
            depth += 1
    if not absolute or roots is None:
        return None
    literal = text.split("${", 1)[0]  # the part before any reference is what we can judge
    if "${" in text:
        literal = posixpath.dirname(literal) if not literal.endswith("/") else literal
    normal = posixpath.normpath(literal or "/")
    allowed = [r for r in (roots.data, roots.publish_root) if r]
    if any(PurePosixPath(normal).is_relative_to(root) for root in allowed):
        return None
    return (
        f"{where} is '{text}', outside {roots.describe()}. Choose a folder inside, "
        "or set DRIFTPLAN_PUBLISH_ROOT to the folder your web server publishes."
    )


def setting_problems(
    *,
    kind: str,
    spec: ChannelSettings,
    channel: str,
    key: str,
    value: str,
    secrets: set[str],
    roots: PathRoots | None,
) -> list[str]:
    """What is wrong with setting `key: value` of plan channel `channel` (of `kind`), in words
    that name the setting, the rule and the fix; [] when nothing is. Without `channel` (the
    registry at run time does not know it) the setting is named by its kind."""
    where = f"channels.{channel}.settings.{key}"
    if not channel:
        where = f"setting '{key}' of a {kind} channel"
    text = str(value)
    if REFERENCE.sub("", text).find("${") >= 0:
        return [
            f"malformed reference in {where}: write ${{NAME}} with letters, digits and _ "
            "(an environment variable)"
        ]
    setting_class = spec.class_of(key)
    if setting_class is None:
        return [
            f"{where}: a {kind} channel has no setting '{key}'. "
            f"Known settings of kind {kind}: {', '.join(spec.names()) or '(none)'}"
        ]
    references = REFERENCE.findall(text)
    secret_names = [f"'{name}'" for name in spec.secret]
    if not spec.declared and looks_secret(key):
        return [
            f"{where} looks like a secret, but kind '{kind}' declares no settings, so every "
            "setting of it is public text and cannot hold one. The plugin must declare its "
            "settings (a `settings_spec` of connection, secret and public settings)."
        ]
    if setting_class is SettingClass.SECRET:
        if not REFERENCE.fullmatch(text.strip()):
            return [
                f"{where} is a secret: give it as one whole environment reference such as "
                f"{suggested_variable(channel or kind, key)}, never as a literal or mixed with text"
            ]
        return []
    if setting_class is SettingClass.PUBLIC and references:
        extra = (
            ""
            if spec.declared
            else f" (kind '{kind}' declares no settings, so all its settings are public text)"
        )
        return [
            f"{where} is public text that the channel may publish{extra}, so it must not refer "
            f"to an environment variable ({', '.join(references)}): its value would be "
            "published. Write the text itself in the plan."
        ]
    problems = [
        f"{where} refers to {name}, which holds a secret, in a connection setting: a secret may "
        "only fill a secret setting"
        + (f" (of kind {kind}: {', '.join(secret_names)})" if secret_names else "")
        + ". Remove the reference."
        for name in references
        if name in secrets
    ]
    if key in spec.urls:
        problems += _url_problem(where, text, secret_names)
    if key in spec.paths:
        problem = _path_problem(where, text, roots)
        if problem:
            problems.append(problem)
    return problems
