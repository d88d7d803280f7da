"""Pinned plans' parsed YAML, kept as JSON in the data folder so each process need not parse it.

Every command on a running incident rebuilds the incident's plan from its stored text
(`loader.definition_from_snapshot`); parsing 25 KB of YAML takes about 8 ms even with libyaml,
reading the same values back as JSON a tenth of a millisecond (issue #13). The text was checked
when the plan was first loaded, so only the parse is kept, never a judgement about the plan: the
schema still validates what comes back, exactly as it validated the parse.

A file is used only if it is exactly what this process would parse: it is named by the
sha256 of the plan text and of the parser (PyYAML's version and whether it has libyaml, and the
source of `engine.definition.yaml_loader`, which holds the scalar rules; a new driftplan or
PyYAML that reads YAML differently never reuses an old parse, also in a development checkout
whose version number does not change), and it repeats that key and the text's hash inside.
A file that cannot be read, is not JSON or does not match is ignored and written again; a
value JSON cannot carry unchanged (a date, a non-text key, NaN) is not cached at all. Files
are written whole and then renamed into place, private to the installation's user, in the
private data folder. Nothing here is ever executed: JSON only. (This lives in the service
layer, not beside the loader, because it writes files: the core stays free of I/O, and the
loader takes it as its `parse`.)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from engine.definition import yaml_loader
from engine.definition.yaml_loader import load_checked_yaml

FORMAT = 1  # of the files themselves


@cache
def parser_key() -> str:
    """What decides the values a plan text parses to, hashed ("" if it cannot be told)."""
    try:
        source = Path(yaml_loader.__file__).read_bytes()
    except (OSError, TypeError):  # no source beside the module (a frozen build): no cache
        return ""
    parser = f"{FORMAT}|{yaml.__version__}|{getattr(yaml, '__with_libyaml__', False)}|"
    return hashlib.sha256(parser.encode() + source).hexdigest()


class ParsedPlans:
    """Parses checked plan texts (`load_checked_yaml`), through JSON files in `folder`."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    def parse(self, text: str) -> Any:
        """The value of the checked plan `text`, as `load_checked_yaml(text)` gives it."""
        key = parser_key()
        if self.folder is None or not key:
            return load_checked_yaml(text)
        text_hash = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        path = self.folder / f"{text_hash}.{key[:16]}.json"
        found = _read(path, key, text_hash)
        if found is not None:
            return found
        value = load_checked_yaml(text)
        _write(path, {"format": FORMAT, "parser": key, "text": text_hash, "value": value})
        return value


def _read(path: Path, key: str, text_hash: str) -> Any:
    try:
        entry = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):  # missing, unreadable, cut short, not JSON
        return None
    if (
        not isinstance(entry, dict)
        or entry.get("format") != FORMAT
        or entry.get("parser") != key
        or entry.get("text") != text_hash
        or not isinstance(entry.get("value"), dict)
    ):
        return None
    return entry["value"]


def _write(path: Path, entry: dict[str, Any]) -> None:
    try:
        encoded = json.dumps(entry, allow_nan=False)
    except (TypeError, ValueError):  # a date, a non-text key, NaN: JSON would change it
        return
    if json.loads(encoded)["value"] != entry["value"]:  # e.g. a number as a mapping key
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".parsing-", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(encoded)
            Path(temporary).replace(path)  # readers see the old file or the whole new one
        except BaseException:
            with contextlib.suppress(OSError):
                Path(temporary).unlink()
            raise
    except OSError:  # a read-only or full data folder: the parse is still right, only slower
        return
