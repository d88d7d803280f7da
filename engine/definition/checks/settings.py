"""Channel settings against what each kind declares (engine.definition.channel_settings).

With the installation's declarations (`Context.declarations`, handed in by the caller: the
definition layer never imports a channel) every setting is judged by its class: `${NAME}` only in
connection and secret settings, a secret only as one whole `${NAME}` and only in a secret
setting, no `${NAME}` in a URL's query or in public text, no setting the kind does not declare,
http(s) URLs only, paths inside the data folder or the publish root. Without declarations (a
caller that does not know the installed kinds) only what needs no declaration is checked:
malformed references, and settings named like a secret must be a whole `${NAME}`.
"""

from __future__ import annotations

from engine.definition.channel_settings import (
    REFERENCE,
    SECRET_WORDS,
    ChannelSettings,
    secret_variables,
    setting_problems,
    suggested_variable,
)
from engine.definition.checks.context import Context
from engine.definition.checks.paths import PathKey
from engine.errors import DriftplanError


def check_channel_settings(ctx: Context) -> None:
    """Report every channel setting that breaks a rule, at the setting (its key when unknown)."""
    if ctx.declarations is None:
        _check_without_declarations(ctx)
        return
    channels = ctx.workflow.channels
    specs: dict[str, ChannelSettings] = {}
    for name, channel in channels.items():
        try:
            specs[name] = ctx.declarations[channel.kind]
        except KeyError:
            continue  # an unknown kind is reported once, at `kind`
        except DriftplanError as exc:  # a plugin that cannot be loaded
            ctx.error(
                ("channels", name, "kind"),
                f"the settings of channel '{name}' cannot be checked: {exc}",
            )
    secrets = secret_variables(
        {channels[name].kind: spec for name, spec in specs.items()},
        [(channels[name].kind, channels[name].settings) for name in specs],
    )
    for name, spec in specs.items():
        channel = channels[name]
        if not spec.declared and channel.settings:
            ctx.warning(
                ("channels", name, "settings"),
                f"channel kind '{channel.kind}' declares no settings (a plugin without "
                "`settings_spec`), so every setting of channel "
                f"'{name}' is treated as public text: no ${{NAME}} and no secrets",
            )
        for key, value in channel.settings.items():
            path: PathKey = ("channels", name, "settings", key)
            for problem in setting_problems(
                kind=channel.kind,
                spec=spec,
                channel=name,
                key=key,
                value=value,
                secrets=secrets,
                roots=ctx.roots,
            ):
                ctx.error(path, problem, key=spec.class_of(key) is None)


def _check_without_declarations(ctx: Context) -> None:
    for name, channel in ctx.workflow.channels.items():
        for key, value in channel.settings.items():
            path: PathKey = ("channels", name, "settings", key)
            if REFERENCE.sub("", value).find("${") >= 0:
                ctx.error(
                    path,
                    f"malformed reference in channels.{name}.settings.{key}: write ${{NAME}} "
                    "with letters, digits and _ (an environment variable)",
                )
            elif any(word in key.lower() for word in SECRET_WORDS) and not REFERENCE.fullmatch(
                value
            ):
                # A literal credential in a plan ends up in git, the snapshot and every backup.
                ctx.error(
                    path,
                    f"channels.{name}.settings.{key} looks like a secret: give it as an "
                    f"environment reference such as {suggested_variable(name, key)}, never as a "
                    "literal",
                )
