"""`driftplan validate` and `driftplan diagram` as functions: output text, JSON and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.bootstrap import default_channels
from engine.definition.report import run_diagram, run_validate
from engine.errors import DefinitionError
from tests.plan_fixtures import VALID_PLAN, broken, line_of

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
SAMSA = WORKFLOWS / "samsa_outage.yaml"
# The built-in channel kinds: what these tests check plans against.
BUILTIN_KINDS = frozenset({"email", "newsletter", "banner", "news", "webhook", "calendar"})


def _write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_valid_plan_exits_zero_with_a_summary(tmp_path: Path) -> None:
    """A valid plan gives exit code 0 and only the summary line."""
    path = _write(tmp_path, "ok.yaml", VALID_PLAN)
    code, output = run_validate(
        [path], as_json=False, known_kinds=BUILTIN_KINDS, workflows=WORKFLOWS
    )
    assert code == 0
    assert output == "1 plan checked, all valid: 0 errors, 0 warnings"


def test_invalid_plan_exits_one_with_located_errors(tmp_path: Path) -> None:
    """Each problem is printed as path:line:col: error: message, then the summary."""
    text = broken("dest: reserve\n", "dest: reserv\n")
    path = _write(tmp_path, "bad.yaml", text)
    code, output = run_validate(
        [path], as_json=False, known_kinds=BUILTIN_KINDS, workflows=WORKFLOWS
    )
    assert code == 1
    line = line_of(text, "dest: reserv")
    assert output.splitlines() == [
        f"{path}:{line}:11: error: unknown state 'reserv' in transitions[1].dest. "
        "Known states: closed, outage, reserve",
        "1 plan checked, 1 invalid: 1 error, 0 warnings",
    ]


def test_warnings_are_shown_and_do_not_fail(tmp_path: Path) -> None:
    """An unused role is printed as a warning and the plan still counts as valid."""
    text = broken(
        "  chair: {title: Ordförande}\n", "  chair: {title: Ordförande}\n  x: {title: X}\n"
    )
    path = _write(tmp_path, "warn.yaml", text)
    code, output = run_validate(
        [path], as_json=False, known_kinds=BUILTIN_KINDS, workflows=WORKFLOWS
    )
    assert code == 0
    assert (
        f"{path}:{line_of(text, '  x:')}:3: warning: role 'x' is defined but never used" in output
    )
    assert output.endswith("1 plan checked, all valid: 0 errors, 1 warning")


def test_warnings_of_an_invalid_plan_are_kept(tmp_path: Path) -> None:
    """A plan with errors still shows its warnings, so one run reports everything."""
    text = broken(
        "  chair: {title: Ordförande}\n", "  chair: {title: Ordförande}\n  x: {title: X}\n"
    )
    text = broken("dest: reserve\n", "dest: reserv\n", text)
    path = _write(tmp_path, "both.yaml", text)
    code, output = run_validate(
        [path], as_json=False, known_kinds=BUILTIN_KINDS, workflows=WORKFLOWS
    )
    assert code == 1
    assert "warning: role 'x'" in output
    assert "error: unknown state 'reserv'" in output


def test_json_output_lists_every_file(tmp_path: Path) -> None:
    """--json gives files with path, valid and problems in Problem.as_dict() form."""
    good = _write(tmp_path, "good.yaml", VALID_PLAN)
    bad = _write(tmp_path, "bad.yaml", broken("any_of: [decider]", "any_of: [decidr]"))
    code, output = run_validate(
        [good, bad], as_json=True, known_kinds=BUILTIN_KINDS, workflows=WORKFLOWS
    )
    assert code == 1
    files = json.loads(output)["files"]
    assert [(f["path"], f["valid"]) for f in files] == [(good, True), (bad, False)]
    assert files[0]["problems"] == []
    problem = files[1]["problems"][0]
    assert set(problem) == {"path", "line", "column", "severity", "location", "message"}
    assert problem["severity"] == "error"
    assert problem["location"] == "transitions[1].gate.any_of[0]"


def test_unreadable_and_unparsable_files_are_invalid(tmp_path: Path) -> None:
    """A missing file and broken YAML are reported as errors, not crashes."""
    missing = str(tmp_path / "missing.yaml")
    garbage = _write(tmp_path, "garbage.yaml", "a: [unclosed\n")
    code, output = run_validate(
        [missing, garbage], as_json=False, known_kinds=BUILTIN_KINDS, workflows=WORKFLOWS
    )
    assert code == 1
    assert f"{missing}:1:1: error: cannot read plan" in output
    assert f"{garbage}:2:1: error: YAML:" in output
    assert output.endswith("2 plans checked, 2 invalid: 2 errors, 0 warnings")


def test_default_paths_come_from_the_workflows_folder(tmp_path: Path) -> None:
    """Without paths, every *.yaml in the workflows folder is validated, sorted by name."""
    _write(tmp_path, "b.yaml", VALID_PLAN)
    _write(tmp_path, "a.yaml", VALID_PLAN)
    _write(tmp_path, "notes.txt", "not a plan")
    code, output = run_validate([], as_json=True, known_kinds=BUILTIN_KINDS, workflows=tmp_path)
    assert code == 0
    paths = [f["path"] for f in json.loads(output)["files"]]
    assert paths == [str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")]


def test_no_plans_found_is_an_error(tmp_path: Path) -> None:
    """An empty workflows folder is a failure that says where it looked."""
    code, output = run_validate([], as_json=False, known_kinds=BUILTIN_KINDS, workflows=tmp_path)
    assert code == 1
    assert (
        output
        == f"error: no plans found: {tmp_path}/ holds no *.yaml file; name the plans to check"
    )


def test_unknown_channel_kind_is_reported(tmp_path: Path) -> None:
    """Channel kinds are checked against the kinds passed in."""
    path = _write(tmp_path, "kind.yaml", broken("kind: email\n", "kind: pigeon\n"))
    code, output = run_validate(
        [path], as_json=False, known_kinds={"banner", "email"}, workflows=WORKFLOWS
    )
    assert code == 1
    assert "unknown channel kind 'pigeon' for channel 'mail'. Known kinds: banner, email" in output


def test_installed_kinds_cover_the_builtin_channels() -> None:
    """The kinds the CLI checks plans against (the registry's names) include every built-in."""
    assert set(default_channels().names()) >= BUILTIN_KINDS


def test_samsa_plan_validates_with_zero_errors() -> None:
    """The repository's SAMSA plan passes validation with the installed channel kinds."""
    code, output = run_validate(
        [str(SAMSA)], as_json=True, known_kinds=default_channels().names(), workflows=WORKFLOWS
    )
    problems = json.loads(output)["files"][0]["problems"]
    assert [p for p in problems if p["severity"] == "error"] == []
    assert code == 0


def test_diagram_formats(tmp_path: Path) -> None:
    """`diagram` draws Mermaid by default and DOT on request."""
    path = _write(tmp_path, "plan.yaml", VALID_PLAN)
    assert run_diagram(path, known_kinds=BUILTIN_KINDS).startswith("flowchart TD\n")
    assert run_diagram(path, "dot", known_kinds=BUILTIN_KINDS).startswith('digraph "mini_outage" {')
    assert "approved by" in run_diagram(path, "mermaid", known_kinds=BUILTIN_KINDS, language="en")


def test_diagram_of_an_invalid_plan_raises(tmp_path: Path) -> None:
    """An invalid plan is not drawn: the CLI gets the DefinitionError to report."""
    path = _write(tmp_path, "bad.yaml", broken("dest: reserve\n", "dest: reserv\n"))
    with pytest.raises(DefinitionError, match="unknown state 'reserv'"):
        run_diagram(path, known_kinds=BUILTIN_KINDS)


def test_diagram_rejects_an_unknown_format(tmp_path: Path) -> None:
    """A format other than mermaid or dot is refused with the valid choices."""
    path = _write(tmp_path, "plan.yaml", VALID_PLAN)
    with pytest.raises(ValueError, match="choose one of mermaid, dot"):
        run_diagram(path, "svg", known_kinds=BUILTIN_KINDS)
