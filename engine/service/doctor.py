"""`driftplan doctor`: what is unsafe about an installation, and how to fix it.

The composition root gathers the facts (`engine.bootstrap.doctor`: where the audit key comes
from, the database's schema revision) without creating or migrating anything; `examine` judges
them, plus the modes of the data folder and its files, the public URL and the plans' audit
anchors. Every problem is unsafe for production; the audit key beside the data is fine for
trying driftplan out, and the message says so.
"""

from __future__ import annotations

import ipaddress
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from engine.definition.loader import load_definition
from engine.errors import DefinitionError
from engine.service.plans import PlanLibrary
from engine.texts import t


@dataclass(frozen=True)
class Installation:
    """The facts doctor judges."""

    data_dir: Path
    key_kind: str  # "environment", "file" (DRIFTPLAN_AUDIT_KEY_FILE) or "default"
    key_path: Path | None
    database_files: Sequence[Path]  # the SQLite file and its WAL files; none on PostgreSQL
    public_url: str
    plans: PlanLibrary
    schema: tuple[str | None, str] | None  # (current revision, head); None: unreachable
    schema_error: str = ""


@dataclass(frozen=True)
class DoctorProblem:
    """One unsafe thing: a text code (`doctor_<code>` in engine.texts) and its values."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def text(self, language: str) -> str:
        return t(f"doctor_{self.code}", language, **self.params)

    def as_dict(self, language: str) -> dict[str, Any]:
        """The JSON shape of `driftplan doctor --json`."""
        values = {k: str(v) for k, v in self.params.items()}
        return {"check": self.code, "message": self.text(language), **values}


def examine(installation: Installation) -> list[DoctorProblem]:
    """Every unsafe thing found, in a fixed order (key, files, URL, plans, schema)."""
    return [
        *_key(installation),
        *_files(installation),
        *_public_url(installation.public_url),
        *_plans(installation.plans),
        *_schema(installation),
    ]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _looser(path: Path, allowed: int) -> DoctorProblem | None:
    """A problem when `path` grants more than `allowed` (0700 folder, 0600 file)."""
    if not path.exists():
        return None
    mode = _mode(path)
    if mode & ~allowed & 0o777 == 0:
        return None
    code = "folder_mode" if path.is_dir() else "file_mode"
    return DoctorProblem(code, {"path": path, "mode": f"{mode:04o}", "wanted": f"{allowed:04o}"})


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def _key(installation: Installation) -> list[DoctorProblem]:
    path = installation.key_path
    if installation.key_kind == "environment" or path is None:
        return []
    found: list[DoctorProblem] = []
    if installation.key_kind == "file" and not path.exists():
        found.append(DoctorProblem("key_missing", {"path": path}))
    if _inside(path, installation.data_dir):
        found.append(DoctorProblem("key_beside_data", {"path": path}))
    loose = _looser(path, 0o600)
    if loose is not None:
        found.append(loose)
    return found


def _files(installation: Installation) -> list[DoctorProblem]:
    if not installation.data_dir.exists():
        return [DoctorProblem("data_missing", {"path": installation.data_dir})]
    found = [_looser(installation.data_dir, 0o700)]
    found += [_looser(path, 0o600) for path in installation.database_files]
    return [problem for problem in found if problem is not None]


def _public_url(url: str) -> list[DoctorProblem]:
    if not url:
        return [DoctorProblem("public_url_unset")]
    parts = urlsplit(url)
    if parts.scheme == "https" or _loopback(parts.hostname or ""):
        return []
    return [DoctorProblem("public_url_plain", {"url": url})]


def _loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _plans(plans: PlanLibrary) -> list[DoctorProblem]:
    files = plans.files()
    if not files:
        return [DoctorProblem("no_plans", {"path": plans.folder})]
    found: list[DoctorProblem] = []
    for path in files:
        try:
            definition = load_definition(path)
        except DefinitionError:
            found.append(DoctorProblem("plan_invalid", {"path": path}))
            continue
        audit = definition.workflow.audit
        if audit is None or audit.anchor is None:
            found.append(DoctorProblem("no_anchor", {"plan": definition.name, "path": path}))
    return found


def _schema(installation: Installation) -> list[DoctorProblem]:
    if installation.schema is None:
        return [DoctorProblem("database_unreachable", {"error": installation.schema_error})]
    current, head = installation.schema
    if current is None:
        return [DoctorProblem("schema_missing")]
    if current == head:
        return []
    return [DoctorProblem("schema_old", {"current": current, "head": head})]
