"""The plans an installation runs: loaded from the workflows folder, and pinned per incident.

New incidents use the current file of their plan; a running incident keeps the definition it
started with, rebuilt from the snapshot stored with it (by sha256), so editing the YAML never
changes an incident in flight.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from engine.definition.channel_settings import ChannelSettings, PathRoots
from engine.definition.definition import Definition
from engine.definition.loader import definition_from_snapshot, load_definition
from engine.errors import DefinitionError, NotFound
from engine.service.parsed_plans import ParsedPlans


class PlanLibrary:
    """Finds plans by document name in a folder, and caches definitions by sha256."""

    def __init__(
        self,
        folder: str | Path,
        *,
        known_kinds: Iterable[str] | None = None,
        declarations: Mapping[str, ChannelSettings] | None = None,
        roots: PathRoots | None = None,
        parsed: Path | None = None,
    ) -> None:
        """`parsed` is where pinned plans' parses are kept (`engine.service.parsed_plans`);
        without it each process parses them itself."""
        self.folder = Path(folder)
        self._parsed = ParsedPlans(parsed)
        # Listed when a plan file is first checked, not before: naming the installed kinds
        # scans the installed distributions' entry points (a lazy iterable, from
        # engine.bootstrap), and a command on a running incident uses its pinned plan only.
        self._known_kinds_source = known_kinds
        self._known_kinds: list[str] | None = None
        # Channel settings are judged by the kinds' declarations (engine.ports.ChannelKinds).
        self._declarations = declarations
        self._roots = roots
        self._by_sha: dict[str, Definition] = {}
        # path -> (fingerprint of the folder's files, the definition or why it is invalid)
        self._loaded: dict[Path, tuple[tuple[Any, ...], Definition | DefinitionError]] = {}
        self._lock = threading.Lock()
        # One parse at a time: web requests that all find the plan changed (or not yet read)
        # wait for the first one's result instead of each parsing and checking it again.
        self._load_lock = threading.Lock()

    def files(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.glob("*.yaml") if p.is_file())

    def current(self, name: str | None = None) -> Definition:
        """The plan named `name` (its `document.name`), or the only plan there is."""
        loaded: list[Definition] = []
        problems: list[str] = []
        for path in self.files():
            try:
                definition = self._load(path)
            except DefinitionError as exc:
                problems.append(str(exc))
                continue
            if name is None or definition.name == name:
                loaded.append(definition)
        if name is not None and not loaded:
            known = ", ".join(self.names()) or "(none)"
            extra = ("\n" + "\n".join(problems)) if problems else ""
            raise NotFound(f"No plan named '{name}' in {self.folder}. Plans: {known}.{extra}")
        if not loaded:
            extra = ("\n" + "\n".join(problems)) if problems else ""
            raise NotFound(
                f"No valid plan in {self.folder} (set DRIFTPLAN_WORKFLOWS to the folder that "
                f"holds your plan's .yaml file).{extra}"
            )
        if len(loaded) > 1:
            names = ", ".join(d.name for d in loaded)
            raise NotFound(f"Several plans are installed ({names}); name one with --workflow.")
        definition = loaded[0]
        with self._lock:
            self._by_sha.setdefault(definition.sha256, definition)
        return definition

    def names(self) -> list[str]:
        names = []
        for path in self.files():
            try:
                names.append(self._load(path).name)
            except DefinitionError:
                names.append(f"{path.name} (invalid)")
        return names

    def _fingerprint(self) -> tuple[Any, ...]:
        """Name, size and change time of every file under the plans folder (the plans and
        the templates beside them): a few dozen `stat` calls, instead of parsing and checking
        the plan and rendering its templates on every command and web request."""
        marks = []
        for file in sorted(self.folder.rglob("*")):
            try:
                info = file.stat()
            except OSError:  # removed while we looked: the next call sees the new state
                continue
            marks.append((str(file), info.st_size, info.st_mtime_ns))
        return tuple(marks)

    def _load(self, path: Path) -> Definition:
        """The plan in `path`, loaded again only when a file in the folder changed."""
        fingerprint = self._fingerprint()
        found = self._cached_load(path, fingerprint)
        if found is not None:
            return found
        with self._load_lock:
            # Another thread may have loaded it while this one waited.
            found = self._cached_load(path, fingerprint)
            return found if found is not None else self._parse(path, fingerprint)

    def _cached_load(self, path: Path, fingerprint: tuple[Any, ...]) -> Definition | None:
        """The definition loaded from `path` with this fingerprint (its error raised), or None."""
        with self._lock:
            hit = self._loaded.get(path)
        if hit is None or hit[0] != fingerprint:
            return None
        if isinstance(hit[1], DefinitionError):
            raise hit[1]
        return hit[1]

    def _parse(self, path: Path, fingerprint: tuple[Any, ...]) -> Definition:
        try:
            definition = load_definition(
                path,
                known_kinds=self._kind_names(),
                declarations=self._declarations,
                roots=self._roots,
            )
        except DefinitionError as exc:
            with self._lock:
                self._loaded[path] = (fingerprint, exc)
            raise
        with self._lock:
            self._loaded[path] = (fingerprint, definition)
        return definition

    def _kind_names(self) -> list[str] | None:
        if self._known_kinds is None and self._known_kinds_source is not None:
            self._known_kinds = list(self._known_kinds_source)
        return self._known_kinds

    def cached(self, sha256: str) -> Definition | None:
        """The definition with this hash if this process has it already."""
        return self._by_sha.get(sha256)

    def pinned(self, sha256: str, snapshot: Mapping[str, Any] | None) -> Definition:
        """The definition an incident started with, from cache or its stored snapshot."""
        found = self._by_sha.get(sha256)
        if found is not None:
            return found
        if snapshot is None:
            raise NotFound(f"The plan version {sha256[:12]} of this incident is not stored.")
        definition = definition_from_snapshot(snapshot, parse=self._parsed.parse)
        with self._lock:
            self._by_sha[sha256] = definition
        return definition
