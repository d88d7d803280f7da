"""Channel adapters: one module per channel kind, each implementing `engine.ports.Channel`.

Built-in kinds: email (`smtp_email`), newsletter, calendar (`calendar_invite`), banner, news,
webhook and file_outbox — the fallback every channel uses when its connection settings are
absent. `registry` lists the kinds (plus plugins from the entry-point group "driftplan.channels")
and resolves a plan channel's settings from the plan and the environment; `declarations` says
which settings each built-in kind reads, by class; `refusals` is what a channel refuses when built
(a folder outside the data folder and publish root, a non-http URL).
"""

from channels.registry import (
    ENTRY_POINT_GROUP,
    builtin_kinds,
    known_kind_names,
    load_channel_kinds,
    resolve_settings,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "builtin_kinds",
    "known_kind_names",
    "load_channel_kinds",
    "resolve_settings",
]
