"""The fast loader for checked plan text (`load_checked_yaml`) reads exactly what `load_yaml` reads.

Pinned plans are rebuilt from their snapshots with the C parser; if the two loaders ever
disagreed on a scalar, an incident would run a different plan from the one that was checked.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.definition.loader import definition_from_snapshot, load_definition
from engine.definition.yaml_loader import load_checked_yaml, load_yaml

ROOT = Path(__file__).resolve().parents[2]
PLANS = sorted(
    p
    for folder in ("workflows", "examples")
    for p in (ROOT / folder).rglob("*.yaml")
    if p.read_text(encoding="utf-8").lstrip().startswith(("document:", "#"))
)

TRICKY = """\
flags: [on, off, yes, no, y, n, On, NO]
booleans: [true, false, True, FALSE]
numbers: [1, 1.5, 0x10, 1_000, 012]
times: [2026-11-30, 2026-11-30T14:00:00+01:00, "14:00", 14:00]
nothing: [~, null, ""]
base: &base {a: 1, b: two}
merged: {<<: *base, c: three}
text: |
  line one
  line två
"""


@pytest.mark.parametrize("path", PLANS, ids=lambda p: p.name)
def test_every_plan_reads_the_same_with_both_loaders(path: Path) -> None:
    """Each shipped plan gives identical values from the checked fast path and the full loader."""
    text = path.read_text(encoding="utf-8")
    assert load_checked_yaml(text) == load_yaml(text, str(path))[0]


def test_tricky_scalars_read_the_same() -> None:
    """YAML 1.1 booleans stay strings, and numbers, dates, nulls and merge keys agree."""
    fast = load_checked_yaml(TRICKY)
    assert fast == load_yaml(TRICKY, "tricky.yaml")[0]
    assert fast["flags"] == ["on", "off", "yes", "no", "y", "n", "On", "NO"]
    assert fast["merged"] == {"a": 1, "b": "two", "c": "three"}


def test_a_tag_is_refused_by_the_fast_loader_too() -> None:
    """A Python tag never constructs an object, even in text claimed to be checked."""
    with pytest.raises(Exception, match="not allowed"):
        load_checked_yaml("x: !!python/object/apply:os.system ['true']\n")


def test_a_snapshot_rebuilds_the_same_definition() -> None:
    """The SAMSA plan rebuilt from its snapshot has the same workflow, digest and templates."""
    loaded = load_definition(ROOT / "workflows" / "samsa_outage.yaml")
    rebuilt = definition_from_snapshot(loaded.snapshot)
    assert rebuilt.workflow == loaded.workflow
    assert rebuilt.sha256 == loaded.sha256
    assert rebuilt.templates == loaded.templates
