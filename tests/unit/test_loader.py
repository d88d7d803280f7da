"""The plan loader under hostile input: it refuses safely, with a location, and never crashes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.definition.loader import load_definition, parse_definition
from engine.definition.yaml_loader import MAX_BYTES, load_yaml
from engine.errors import DefinitionError
from tests.conftest import examples
from tests.plan_fixtures import VALID_PLAN, parse

SAMSA = Path(__file__).resolve().parents[2] / "workflows" / "samsa_outage.yaml"


def _refusal(text: str | bytes) -> str:
    with pytest.raises(DefinitionError) as raised:
        load_yaml(text, "hostile.yaml")
    return str(raised.value)


def test_python_tags_are_refused_not_run(tmp_path: Path) -> None:
    """A python/object tag is an error at its line, and the code in it never runs."""
    marker = tmp_path / "ran"
    text = f"a: 1\nb: !!python/object/apply:os.system ['touch {marker}']\n"
    assert _refusal(text).startswith("hostile.yaml:2:4: error: YAML: ")
    assert "not allowed" in _refusal(text) or "could not determine a constructor" in _refusal(text)
    assert not marker.exists()


def test_custom_tags_are_refused() -> None:
    """Application-specific tags are refused too: plans are plain YAML."""
    assert "tag '!env' is not allowed" in _refusal("a: !env HOME\n")


def test_duplicate_keys_are_refused_at_the_second_key() -> None:
    """A key given twice is an error that points at the repeat and names the first line."""
    message = _refusal("states:\n  outage: {}\n  other: {}\n  outage: {}\n")
    assert message == (
        "hostile.yaml:4:3: error: YAML: duplicate key 'outage' (first defined on line 2)"
    )


def test_yaml11_booleans_stay_strings() -> None:
    """on/off/yes/no/y/n are kept as text; only true/false are booleans."""
    value, _ = load_yaml("a: on\nb: off\nc: yes\nd: no\ne: y\nf: n\ng: true\nh: False\n", "x")
    assert value == {
        "a": "on",
        "b": "off",
        "c": "yes",
        "d": "no",
        "e": "y",
        "f": "n",
        "g": True,
        "h": False,
    }


def test_a_channel_named_on_keeps_its_name() -> None:
    """A mapping key `on` stays the string 'on' (not True) so references to it still resolve."""
    value, _ = load_yaml("channels:\n  on: {kind: email}\n", "x")
    assert list(value["channels"]) == ["on"]


def test_alias_bomb_is_refused() -> None:
    """A billion-laughs document is refused before it expands."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    message = _refusal("\n".join(lines) + "\n")
    assert "aliases" in message or "expands to more than" in message


def test_oversized_file_is_refused() -> None:
    """A file over 1 MiB is refused without being parsed."""
    data = b"a: " + b"x" * MAX_BYTES + b"\n"
    assert _refusal(data) == (
        f"hostile.yaml:1:1: error: file is {len(data)} bytes; a plan may be at most {MAX_BYTES}"
    )


def test_non_utf8_is_refused() -> None:
    """Bytes that are not UTF-8 are a located error, not a UnicodeDecodeError."""
    assert "hostile.yaml:1:1: error: not UTF-8 text" in _refusal(b"title: caf\xe9\n")


def test_deep_nesting_is_refused() -> None:
    """Nesting hundreds of levels deep is an error, not a RecursionError."""
    assert "nesting" in _refusal("a: " + "[" * 500 + "]" * 500 + "\n")


def test_plan_that_is_not_a_mapping_is_refused() -> None:
    """A YAML list at the top is a plan error that says what a plan looks like."""
    with pytest.raises(DefinitionError, match="a plan is a mapping"):
        parse("- just\n- a list\n")


def test_missing_plan_file_is_a_definition_error(tmp_path: Path) -> None:
    """A path that does not exist gives a DefinitionError naming the file."""
    with pytest.raises(DefinitionError, match="cannot read plan"):
        load_definition(tmp_path / "absent.yaml")


def test_samsa_plan_loads_without_errors() -> None:
    """The SAMSA plan in the repository is valid."""
    definition = load_definition(SAMSA)
    assert definition.name == "samsa_outage"
    assert [w for w in definition.warnings if w.severity == "error"] == []


# --- property test: mutated plans fail only with located DefinitionErrors -----------------------

_PLANS = {"fixture": VALID_PLAN, "samsa": SAMSA.read_text(encoding="utf-8")}


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    """One of the plans with a few random line edits and byte-level damage."""
    name = draw(st.sampled_from(sorted(_PLANS)))
    lines = _PLANS[name].splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "indent", "dedent", "bytes"]))
        if op == "delete" and len(lines) > 1:
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "indent":
            lines[i] = " " * draw(st.integers(1, 6)) + lines[i]
        elif op == "dedent":
            lines[i] = lines[i].lstrip(" ")
        else:
            junk = draw(st.binary(min_size=1, max_size=8)).decode("latin-1")
            at = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:at] + junk + lines[i][at:]
    text = "".join(lines)
    # Half the time keep the damage as raw bytes (maybe not UTF-8), as a file on disk would be.
    raw = text.encode("latin-1", "replace") if draw(st.booleans()) else text.encode("utf-8")
    return name, raw


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_plans_fail_only_with_located_errors(case: tuple[str, bytes]) -> None:
    """Whatever the damage, loading succeeds or raises DefinitionError with located problems."""
    name, data = case
    base = SAMSA.parent if name == "samsa" else None
    try:
        if base is None:
            parse_definition(data, "mutant.yaml", files={})
        else:
            parse_definition(data, "mutant.yaml", base=base)
    except DefinitionError as exc:
        assert exc.problems
        line_count = data.count(b"\n") + 1
        for problem in exc.problems:
            assert 1 <= problem.line <= line_count + 1, str(problem)
            assert problem.column >= 1, str(problem)
            assert problem.path == "mutant.yaml"
