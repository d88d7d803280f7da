"""The context every whole-plan check works in: the plan, where its YAML nodes are, the
problems found so far, and which names the plan's sections use (for "unused" warnings)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from engine.definition.channel_settings import ChannelSettings, PathRoots
from engine.definition.checks.paths import PathKey, dotted
from engine.definition.definition import Definition
from engine.definition.schema import Workflow
from engine.errors import Problem

# The plural used in "Known <plural>: ..." for each kind of name a plan defines.
PLURALS = {
    "role": "roles",
    "audience": "audiences",
    "channel": "channels",
    "template": "templates",
    "field": "fields",
    "subregion": "subregions",
    "state": "states",
    "trigger": "triggers",
}


def choices(values: Iterable[str]) -> str:
    """A sorted, comma-separated list of valid choices for an error message."""
    listed = sorted(set(values))
    return ", ".join(listed) if listed else "(none)"


@dataclass
class Context:
    """What every check needs: the plan, where its nodes are, and what has been found so far."""

    definition: Definition
    known_kinds: frozenset[str] | None = None
    # Each kind's settings and where paths may point; None when the caller does not know them.
    declarations: Mapping[str, ChannelSettings] | None = None
    roots: PathRoots | None = None
    problems: list[Problem] = field(default_factory=list)
    used: dict[str, set[str]] = field(default_factory=dict)

    @property
    def workflow(self) -> Workflow:
        return self.definition.workflow

    def known(self, kind: str) -> Iterable[str]:
        """The names the plan defines for `kind` (one of `PLURALS`)."""
        wf = self.workflow
        sections: Mapping[str, Iterable[str]] = {
            "role": wf.roles,
            "audience": wf.audiences,
            "channel": wf.channels,
            "template": wf.templates,
            "field": wf.fields,
            "subregion": wf.subregions,
            "state": wf.states,
            "trigger": {t.trigger for t in wf.transitions},
        }
        return sections[kind]

    def report(
        self, path: PathKey, message: str, *, severity: str = "error", key: bool = False
    ) -> None:
        line, col = self.definition.positions.at(path, key=key)
        self.problems.append(
            Problem(self.definition.source, line, col, message, severity, dotted(path))
        )

    def error(self, path: PathKey, message: str, *, key: bool = False) -> None:
        self.report(path, message, key=key)

    def warning(self, path: PathKey, message: str, *, key: bool = False) -> None:
        self.report(path, message, severity="warning", key=key)

    def ref(self, kind: str, name: str, path: PathKey) -> bool:
        """Record that `path` uses `name` of `kind`; report it if the plan does not define it."""
        self.used.setdefault(kind, set()).add(name)
        known = self.known(kind)
        if name in known:
            return True
        # Point at the item, but name the list it sits in: that is what the author edits.
        where = dotted(path[:-1] if path and isinstance(path[-1], int) else path)
        self.error(
            path, f"unknown {kind} '{name}' in {where}. Known {PLURALS[kind]}: {choices(known)}"
        )
        return False

    def refs(self, kind: str, names: Iterable[str], path: PathKey) -> None:
        for index, name in enumerate(names):
            self.ref(kind, name, (*path, index))
