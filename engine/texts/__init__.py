"""User-facing strings of the CLI and UI, Swedish first with English available.

The catalogue is split by command group (one module each in this package); `t` and `label` look
a key up in all of them, and a key may live in one module only (checked at import).
"""

from __future__ import annotations

from engine.texts import (
    approvals,
    audiences,
    audit,
    common,
    doctor,
    events,
    exercise,
    paging,
    serve,
    subscribers,
    timeline,
    usage,
    users,
)


def _merge(*catalogues: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for catalogue in catalogues:
        clash = merged.keys() & catalogue.keys()
        if clash:  # a programming error: two groups would fight over one key
            raise RuntimeError(f"text keys defined twice: {', '.join(sorted(clash))}")
        merged.update(catalogue)
    return merged


_TEXTS = _merge(
    common.TEXTS,
    audit.TEXTS,
    doctor.TEXTS,
    events.TEXTS,
    exercise.TEXTS,
    subscribers.TEXTS,
    audiences.TEXTS,
    timeline.TEXTS,
    approvals.TEXTS,
    usage.TEXTS,
    users.TEXTS,
    serve.TEXTS,
    paging.TEXTS,
)


def t(key: str, language: str, **values: object) -> str:
    """The text for `key` in `language` (falling back to Swedish), formatted with `values`."""
    entry = _TEXTS[key]
    return entry.get(language, entry["sv"]).format(**values)


def label(prefix: str, value: str, language: str) -> str:
    """The people's word for a stored value (`prefix` + value), or the value itself when the
    table has none (a kind or status added later still shows, untranslated)."""
    key = f"{prefix}{value}"
    return t(key, language) if key in _TEXTS else value
