"""The audit key: where it comes from, and reading (or, by default, generating) it.

In order: `DRIFTPLAN_AUDIT_KEY` (hex or text, in the environment), `DRIFTPLAN_AUDIT_KEY_FILE`
(a file holding the key in hex, which must exist: in production it lives outside the data
folder, e.g. on a mount the database's backups do not include), else `<data>/audit.key`,
generated on first use. The default sits beside the database with the same owner, which is
fine for trying driftplan out and not for production: whoever can edit the database can then
re-sign what they changed (`driftplan doctor` says so; the anchors of `engine.store.audit`
still catch it).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ConfigurationError

KEY_ENV = "DRIFTPLAN_AUDIT_KEY"
KEY_FILE_ENV = "DRIFTPLAN_AUDIT_KEY_FILE"
KEY_FILE = "audit.key"
_MIN_KEY_BYTES = 16
_HEX = re.compile(r"[0-9a-fA-F]+")


@dataclass(frozen=True)
class KeySource:
    """Where the audit key comes from: the environment, a configured file, or the default file
    in the data folder (`path` is None only for the environment)."""

    kind: str  # "environment", "file" or "default"
    path: Path | None = None


def key_source(
    data_dir: str | os.PathLike[str],
    environ: Mapping[str, str],
    key_file: str | os.PathLike[str] | None = None,
) -> KeySource:
    """Where `audit_key` would read the key from (nothing is read or created)."""
    if environ.get(KEY_ENV) is not None:
        return KeySource("environment")
    configured = key_file if key_file is not None else environ.get(KEY_FILE_ENV) or None
    if configured is not None:
        return KeySource("file", Path(configured))
    return KeySource("default", Path(data_dir) / KEY_FILE)


def audit_key(
    data_dir: str | os.PathLike[str],
    environ: Mapping[str, str],
    key_file: str | os.PathLike[str] | None = None,
) -> bytes:
    """The key that signs the event log (see the module docstring for where it comes from).

    The default file is generated on first use (32 random bytes, mode 0600) and reused
    afterwards. Creation is atomic: the key is written to a private temporary file and
    hard-linked into place, so two processes starting together agree on one key and nobody
    reads half a file.
    """
    source = key_source(data_dir, environ, key_file)
    if source.kind == "environment":
        value = environ[KEY_ENV].strip()
        key = (
            bytes.fromhex(value)
            if _HEX.fullmatch(value) and len(value) % 2 == 0
            else value.encode("utf-8")
        )
        if len(key) < _MIN_KEY_BYTES:
            raise ConfigurationError(
                f"{KEY_ENV} is too short ({len(key)} bytes); use at least {_MIN_KEY_BYTES} "
                "bytes, e.g. `python -c 'import secrets; print(secrets.token_hex())'`."
            )
        return key
    assert source.path is not None
    path = source.path
    if source.kind == "file" and not path.exists():
        raise ConfigurationError(
            f"{KEY_FILE_ENV} names {path}, which does not exist. Create the key there once: "
            f"`python -c 'import secrets; print(secrets.token_hex(32))' > {path}` and "
            f"`chmod 600 {path}` (and keep a copy with the backups, apart from the data).",
            sv=f"{KEY_FILE_ENV} pekar på {path}, som inte finns. Skapa nyckeln där en gång: "
            f"`python -c 'import secrets; print(secrets.token_hex(32))' > {path}` och "
            f"`chmod 600 {path}` (och spara en kopia med säkerhetskopiorna, skild från datat).",
        )
    if not path.exists():
        _generate(path)
    text = path.read_text(encoding="ascii").strip()
    if not _HEX.fullmatch(text) or len(text) % 2 or len(text) < 2 * _MIN_KEY_BYTES:
        raise ConfigurationError(
            f"The audit key file {path} is damaged. Restore it from backup; without it the "
            "event log cannot be verified."
        )
    return bytes.fromhex(text)


def _generate(path: Path) -> None:
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True)
    temporary = directory / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        # Another process may have won the race; then its key is the key.
        with contextlib.suppress(FileExistsError):
            path.hardlink_to(temporary)
    finally:
        temporary.unlink(missing_ok=True)
