"""Pinned plans' parses kept as JSON (`engine.service.parsed_plans`, issue #13): a kept parse
is exactly the parse, and anything that does not match it (another text, another parser, a
damaged file, a value JSON would change) is parsed again."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest
import yaml

from engine.definition.loader import definition_from_snapshot, load_definition
from engine.definition.yaml_loader import load_checked_yaml
from engine.service import parsed_plans as parsed_cache
from engine.service.parsed_plans import ParsedPlans

ROOT = Path(__file__).resolve().parents[2]
PLAN = (ROOT / "workflows" / "samsa_outage.yaml").read_text("utf-8")


def no_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on a parse fails the test: values must come from the kept files."""

    def refuse(text: str) -> object:
        raise AssertionError("parsed again")

    monkeypatch.setattr(parsed_cache, "load_checked_yaml", refuse)


def kept(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.json"))


def test_a_kept_parse_is_the_parse_and_is_used_by_the_next_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = load_checked_yaml(PLAN)
    assert ParsedPlans(tmp_path).parse(PLAN) == expected
    [file] = kept(tmp_path)
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    no_parsing(monkeypatch)
    assert ParsedPlans(tmp_path).parse(PLAN) == expected


def test_a_changed_plan_is_parsed_again(tmp_path: Path) -> None:
    ParsedPlans(tmp_path).parse(PLAN)
    changed = PLAN.replace("  version: 1\n", "  version: 2\n", 1)
    assert changed != PLAN
    assert ParsedPlans(tmp_path).parse(changed)["document"]["version"] == 2
    assert len(kept(tmp_path)) == 2


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"{not json",
        b"[[[[" * 100_000,
        b"\xff\xfe",
        b'{"format": 1}',
        b"[]",
    ],
    ids=["empty", "not-json", "deep", "not-utf8", "no-value", "a-list"],
)
def test_a_damaged_file_is_ignored_and_written_again(tmp_path: Path, damage: bytes) -> None:
    ParsedPlans(tmp_path).parse(PLAN)
    [file] = kept(tmp_path)
    whole = file.read_bytes()
    file.write_bytes(damage)
    assert ParsedPlans(tmp_path).parse(PLAN) == load_checked_yaml(PLAN)
    assert file.read_bytes() == whole


def test_a_file_for_another_text_is_not_used(tmp_path: Path) -> None:
    """A file whose content says it is another text's parse (copied or renamed) is not used."""
    other = "document: {name: other}\n"
    ParsedPlans(tmp_path).parse(PLAN)
    ParsedPlans(tmp_path).parse(other)
    named = {f.name.split(".")[0]: f for f in kept(tmp_path)}
    plan_file, other_file = (named[hashlib.sha256(t.encode()).hexdigest()] for t in (PLAN, other))
    other_file.write_bytes(plan_file.read_bytes())
    assert ParsedPlans(tmp_path).parse(other) == {"document": {"name": "other"}}


def test_another_parser_does_not_reuse_a_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another PyYAML (or loader source, or driftplan) keys its parses apart."""
    ParsedPlans(tmp_path).parse(PLAN)
    parsed_cache.parser_key.cache_clear()
    monkeypatch.setattr(yaml, "__version__", "99.0")
    try:
        calls: list[str] = []

        def counted(text: str) -> object:
            calls.append(text)
            return load_checked_yaml(text)

        monkeypatch.setattr(parsed_cache, "load_checked_yaml", counted)
        assert ParsedPlans(tmp_path).parse(PLAN) == load_checked_yaml(PLAN)
        assert calls == [PLAN]
        assert len(kept(tmp_path)) == 2
    finally:
        parsed_cache.parser_key.cache_clear()


@pytest.mark.parametrize(
    "text",
    ["document: {name: x, day: 2025-03-04}\n", "document: {name: x}\n1: one\n", "a: .nan\n"],
    ids=["date", "number-key", "nan"],
)
def test_values_json_would_change_are_not_kept(tmp_path: Path, text: str) -> None:
    value = ParsedPlans(tmp_path).parse(text)
    assert repr(value) == repr(load_checked_yaml(text))
    assert kept(tmp_path) == []


def test_an_unwritable_folder_still_parses(tmp_path: Path) -> None:
    """A file where the folder should be (unlike a read-only folder, this stops root too, as
    CI runs)."""
    (tmp_path / "kept").write_text("a file, not a folder")
    assert ParsedPlans(tmp_path / "kept").parse(PLAN) == load_checked_yaml(PLAN)


def test_a_plan_rebuilt_through_kept_parses_is_the_same_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = load_definition(ROOT / "workflows" / "samsa_outage.yaml")
    plain = definition_from_snapshot(loaded.snapshot)
    ParsedPlans(tmp_path).parse(loaded.snapshot["plan"])
    no_parsing(monkeypatch)
    cached = definition_from_snapshot(loaded.snapshot, parse=ParsedPlans(tmp_path).parse)
    assert cached.workflow == plain.workflow == loaded.workflow
    assert cached.sha256 == plain.sha256 == loaded.sha256
    assert cached.templates == plain.templates
