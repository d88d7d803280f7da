"""The shape of the code: no import cycles between modules, no module over 400 lines.

The import graph of the packages `engine` and `channels` is built by grimp (installed with
import-linter) from the source, without importing it. Its strongly connected components are found
here (Tarjan); each one with more than one module, or a module importing itself, is a cycle.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from itertools import pairwise
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("engine", "channels")
MAX_LINES = 400
# Generated Alembic revisions are written once and never edited; they are not designed modules.
NOT_COUNTED = (ROOT / "engine" / "store" / "migrations" / "versions",)

Graph = Mapping[str, Iterable[str]]


def strongly_connected(graph: Graph) -> list[list[str]]:
    """Tarjan's strongly connected components of `graph` (module -> modules it imports).

    Iterative, so a deep import chain cannot exhaust Python's recursion limit. Each component is
    sorted and the list is sorted; single modules are components too.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(sorted(graph[root])))]
        while work:
            node, successors = work[-1]
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = len(index)
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(graph.get(succ, ())))))
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
    return sorted(components)


def cycles_of(graph: Graph) -> list[list[str]]:
    """One shortest cycle through each import inside a cycle, as [a, b, ..., a], deduplicated.

    Every import that lies on some cycle is shown on one, so fixing what the list shows fixes the
    component; listing every elementary cycle instead could grow exponentially.
    """
    found: set[tuple[str, ...]] = set()
    for component in strongly_connected(graph):
        members = set(component)
        for start in component:
            for first in sorted(set(graph.get(start, ())) & members):
                path = _shortest_path(graph, members, first, start)
                cycle = [start, *path]
                turn = cycle[:-1].index(min(cycle[:-1]))  # canonical rotation: smallest first
                ring = cycle[:-1][turn:] + cycle[:-1][:turn]
                found.add((*ring, ring[0]))
    return sorted(list(cycle) for cycle in found)


def _shortest_path(graph: Graph, members: set[str], source: str, target: str) -> list[str]:
    """Breadth-first shortest path source ~> target inside `members` (both ends included)."""
    previous: dict[str, str | None] = {source: None}
    queue = deque([source])
    while queue:
        node = queue.popleft()
        if node == target:
            break
        for succ in sorted(set(graph.get(node, ())) & members):
            if succ not in previous:
                previous[succ] = node
                queue.append(succ)
    path: list[str] = []
    step: str | None = target
    while step is not None:
        path.append(step)
        step = previous[step]
    return path[::-1]


def import_graph(*, exclude_type_checking_imports: bool) -> grimp.ImportGraph:
    """The graph of `engine` and `channels`; cache_dir=None writes no .grimp_cache here."""
    return grimp.build_graph(
        *PACKAGES,
        exclude_type_checking_imports=exclude_type_checking_imports,
        cache_dir=None,
    )


def as_mapping(graph: grimp.ImportGraph) -> dict[str, set[str]]:
    """Module -> the modules of our packages it imports directly, anywhere in its source."""
    return {
        module: set(graph.find_modules_directly_imported_by(module)) for module in graph.modules
    }


def source_file(module: str) -> Path:
    """The file a module of ours is read from (a package is its __init__.py)."""
    base = ROOT.joinpath(*module.split("."))
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def describe_cycle(
    cycle: list[str], graph: grimp.ImportGraph, is_typing_only: Callable[[str, str], bool]
) -> str:
    """`a -> b -> a`, then each import that closes it, where it is and whether typing-only."""
    lines = [" -> ".join(cycle)]
    for importer, imported in pairwise(cycle):
        tag = "  [under if TYPE_CHECKING]" if is_typing_only(importer, imported) else ""
        for detail in graph.get_import_details(importer=importer, imported=imported):
            where = source_file(importer).relative_to(ROOT)
            lines.append(
                f"    {where}:{detail['line_number']}: {detail['line_contents'].strip()}{tag}"
            )
    return "\n".join(lines)


# ------------------------------------------------------------------------------- the checks


def test_there_is_no_import_cycle_between_modules() -> None:
    """No module of engine or channels imports, through any chain, a module that imports it back.

    Every import counts: at the top, inside a function (a "lazy" import only postpones the cycle
    to run time), and under `if TYPE_CHECKING:`. The last is a choice: a cycle that only typing
    closes still means neither module can be read, changed or moved without the other, and the
    usual mend (a Protocol or a small shared module lower down) is just as available. Excluding
    them (grimp's `exclude_type_checking_imports=True`) would not make the rule meaningless, so
    the stricter rule holds; the failure message marks typing-only imports.
    """
    graph = import_graph(exclude_type_checking_imports=False)
    assert {module.partition(".")[0] for module in graph.modules} == set(PACKAGES)
    runtime = as_mapping(import_graph(exclude_type_checking_imports=True))

    def is_typing_only(importer: str, imported: str) -> bool:
        return imported not in runtime.get(importer, set())

    imports = as_mapping(graph)
    tangles = [c for c in strongly_connected(imports) if len(c) > 1 or c[0] in imports[c[0]]]
    cycles = cycles_of(imports)
    report = [f"{len(tangles)} group(s) of modules importing each other:"]
    report += [f"  {{{', '.join(tangle)}}}" for tangle in tangles]
    report += [f"{len(cycles)} cycle(s), one through each import that closes one:"]
    report += [describe_cycle(cycle, graph, is_typing_only) for cycle in cycles]
    assert not cycles, "\n".join(report)


def test_no_module_is_over_400_lines() -> None:
    """No Python module under engine/ or channels/ (but generated migrations) exceeds 400 lines."""
    lengths = {
        path.relative_to(ROOT).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if not any(path.is_relative_to(skipped) for skipped in NOT_COUNTED)
    }
    assert {name.partition("/")[0] for name in lengths} == set(PACKAGES)
    assert not any("migrations/versions" in name for name in lengths)
    oversized = {name: n for name, n in lengths.items() if n > MAX_LINES}
    report = "\n".join(f"    {name}: {n} lines" for name, n in sorted(oversized.items()))
    assert not oversized, f"{len(oversized)} module(s) over {MAX_LINES} lines:\n{report}"


# ------------------------------------------------------------------ the cycle finder itself


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"a"}}, [["a", "b", "a"]]),
        ({"a": {"a"}}, [["a", "a"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c", "a"]]),
        (
            {"hub": {"x", "y"}, "x": {"hub"}, "y": {"hub"}, "z": {"hub"}},
            [["hub", "x", "hub"], ["hub", "y", "hub"]],
        ),
        (
            {"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"e"}, "e": {"c"}, "f": {"a", "c"}},
            [["a", "b", "a"], ["c", "d", "e", "c"]],
        ),
        ({"a": {"b", "c"}, "b": {"c"}, "c": {"a"}}, [["a", "b", "c", "a"], ["a", "c", "a"]]),
    ],
    ids=["chain", "pair", "self", "ring-and-tail", "hub", "two-components", "chord"],
)
def test_the_cycle_finder_finds_exactly_the_cycles(
    graph: dict[str, set[str]], expected: list[list[str]]
) -> None:
    """The Tarjan-based finder reports each cycle once, through every import that closes one."""
    assert cycles_of(graph) == expected


def test_tarjan_groups_modules_that_reach_each_other() -> None:
    """Components are the maximal sets of mutually reachable modules, singletons included."""
    graph = {"a": {"b"}, "b": {"c", "d"}, "c": {"a"}, "d": {"e"}, "e": {"d"}, "f": set()}
    assert strongly_connected(graph) == [["a", "b", "c"], ["d", "e"], ["f"]]


def test_a_long_import_chain_does_not_hit_the_recursion_limit() -> None:
    """The search is iterative: a 5,000-module ring is one component, found without recursion."""
    ring = {f"m{i:05}": {f"m{(i + 1) % 5000:05}"} for i in range(5000)}
    [component] = strongly_connected(ring)
    assert len(component) == 5000
