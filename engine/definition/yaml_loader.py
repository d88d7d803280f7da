"""Safe YAML loading that remembers where every value came from.

The plan loader needs three things PyYAML's defaults do not give: no code execution (a SafeLoader
subclass, no Python tags), YAML 1.1's `on`/`off`/`yes`/`no` kept as strings (a channel called
`on` must not become `True`), and a line and column for every node so that each error can say
`path:line:col`. It also refuses duplicate keys, oversized files and alias bombs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from engine.errors import DefinitionError

MAX_BYTES = 1024 * 1024
MAX_ALIASES = 100
MAX_NODES = 200_000

PathKey = tuple[str | int, ...]
_PLAIN_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}


@dataclass
class Positions:
    """Maps a path inside the document (("states", "outage", "on_enter", 0)) to (line, col)."""

    source: str
    spots: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    key_spots: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    built: int = 0  # values built so far; caps what aliases can expand to

    def at(self, path: PathKey, *, key: bool = False) -> tuple[int, int]:
        """The position of the value at `path`, or of its nearest ancestor that has one.

        With `key=True` the position of the mapping key itself is preferred, which is where a
        reader looks for "unknown key" errors.
        """
        probe = tuple(path)
        while True:
            if key and probe in self.key_spots:
                return self.key_spots[probe]
            if probe in self.spots:
                return self.spots[probe]
            if not probe:
                return (1, 1)
            probe = probe[:-1]


# YAML 1.1 booleans we accept: only true/false in their usual spellings. Everything else that
# PyYAML would turn into a bool (on, off, yes, no, y, n) stays a string.
_BOOL_RE = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")


class _PlanLoader(yaml.SafeLoader):
    """SafeLoader without the surprising implicit booleans, Python tags or duplicate keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._alias_count = 0
        self._node_count = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            self._alias_count += 1
            if self._alias_count > MAX_ALIASES:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise ConstructorError(
                    None, None, f"more than {MAX_ALIASES} aliases (alias expansion is capped)", mark
                )
        self._node_count += 1
        if self._node_count > MAX_NODES:
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise ConstructorError(None, None, "document too large", mark)
        return super().compose_node(parent, index)


# Replace the implicit resolvers so that only our narrow boolean pattern resolves to bool.
_PlanLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}
_PlanLoader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL_RE, list("tTfF"))


def _reject_unknown_tag(loader: yaml.SafeLoader, suffix: str, node: Node) -> Any:
    raise ConstructorError(
        None, None, f"tag '{node.tag}' is not allowed in a plan (plain YAML only)", node.start_mark
    )


_PlanLoader.add_multi_constructor("!", _reject_unknown_tag)
_PlanLoader.add_multi_constructor("tag:yaml.org,2002:python/", _reject_unknown_tag)

# libyaml's parser when PyYAML was built with it (the wheels are): about 8× faster than the
# pure-Python composer `load_yaml` needs for positions.
_FastBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _CheckedPlanLoader(_FastBase):  # type: ignore[valid-type,misc]
    """The same scalars as `_PlanLoader` (narrow booleans, no tags), for text already checked."""


_CheckedPlanLoader.yaml_implicit_resolvers = _PlanLoader.yaml_implicit_resolvers
_CheckedPlanLoader.add_multi_constructor("!", _reject_unknown_tag)
_CheckedPlanLoader.add_multi_constructor("tag:yaml.org,2002:python/", _reject_unknown_tag)


def _build(node: Node, path: PathKey, positions: Positions, depth: int = 0) -> Any:
    """Turn a composed node tree into plain Python values, recording positions on the way."""
    if depth > 100:
        raise ConstructorError(None, None, "nesting deeper than 100 levels", node.start_mark)
    positions.built += 1
    if positions.built > MAX_NODES:
        # Aliases share nodes, so a small file can expand exponentially ("billion laughs").
        raise ConstructorError(
            None, None, f"document expands to more than {MAX_NODES} values", node.start_mark
        )
    positions.spots[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, MappingNode | SequenceNode) and node.tag not in _PLAIN_TAGS:
        raise ConstructorError(
            None,
            None,
            f"tag '{node.tag}' is not allowed in a plan (plain YAML only)",
            node.start_mark,
        )
    if isinstance(node, MappingNode):
        result: dict[str, Any] = {}
        loader = _PlanLoader("")
        loader.flatten_mapping(node)  # resolves `<<` merge keys
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise ConstructorError(
                    None, None, "mapping keys must be plain scalars", key_node.start_mark
                )
            key = str(loader.construct_object(key_node))
            if key in result:
                first = positions.key_spots.get((*path, key), (0, 0))
                raise ConstructorError(
                    None,
                    None,
                    f"duplicate key '{key}' (first defined on line {first[0]})",
                    key_node.start_mark,
                )
            positions.key_spots[(*path, key)] = (
                key_node.start_mark.line + 1,
                key_node.start_mark.column + 1,
            )
            result[key] = _build(value_node, (*path, key), positions, depth + 1)
        return result
    if isinstance(node, SequenceNode):
        return [_build(item, (*path, i), positions, depth + 1) for i, item in enumerate(node.value)]
    loader = _PlanLoader("")
    return loader.construct_object(node, deep=True)


def load_yaml(text: str | bytes, source: str) -> tuple[Any, Positions]:
    """Parse one YAML document safely; returns its value and the positions of its nodes.

    Raises `DefinitionError` with `source:line:col` for every problem, including files that are
    too large, not UTF-8, or contain more than one document.
    """
    if isinstance(text, bytes):
        if len(text) > MAX_BYTES:
            raise DefinitionError.single(
                source, 1, 1, f"file is {len(text)} bytes; a plan may be at most {MAX_BYTES}"
            )
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DefinitionError.single(source, 1, 1, f"not UTF-8 text ({exc.reason})") from None
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise DefinitionError.single(source, 1, 1, f"a plan may be at most {MAX_BYTES} bytes")
    positions = Positions(source)
    loader: _PlanLoader | None = None
    try:
        loader = _PlanLoader(text)
        node = loader.get_single_node()
        if node is None:
            raise DefinitionError.single(source, 1, 1, "the file is empty")
        value = _build(node, (), positions)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        raise DefinitionError.single(source, line, col, f"YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise DefinitionError.single(source, 1, 1, f"YAML: {exc}") from None
    except RecursionError:
        raise DefinitionError.single(source, 1, 1, "YAML nesting is too deep") from None
    finally:
        if loader is not None:
            loader.dispose()
    return value, positions


def load_checked_yaml(text: str) -> Any:
    """Parse plan text that `load_yaml` already accepted once (a stored snapshot), fast.

    An incident's pinned plan is rebuilt from its snapshot in every new process; the checks
    `load_yaml` makes (size, duplicate keys, aliases, positions for error messages) were made
    when the plan was first loaded and cannot fail differently now, so the C parser with the
    same scalar rules gives the same values in an eighth of the time.
    """
    return yaml.load(text, Loader=_CheckedPlanLoader)  # noqa: S506 - a SafeLoader subclass
