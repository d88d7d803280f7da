"""Who may fire what, where: every (state, trigger, role) of the SAMSA plan through the service.

The expected answer is read from the plan's YAML with a plain YAML parser — the trigger's
`source` decides whether it applies in the state, `allowed` plus the gate's roles (each role
with the roles it deputises for) decide who may fire it, and the gate's roles and scope decide
whether the person firing also decides it at once — never from driftplan's own evaluator.
Each case fires as a person who holds exactly one role.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.bootstrap import App, build
from engine.errors import NotAuthorized, TransitionNotAllowed
from engine.settings import Settings
from tests.conftest import TEST_AUDIT_KEY

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / "workflows"
PLAN = yaml.safe_load((WORKFLOWS / "samsa_outage.yaml").read_text(encoding="utf-8"))
EXAMPLES = REPO / "examples"
NEW = "(new)"  # the state before an incident exists: only initial triggers apply

OPERATOR = "anna.andersson"
DECLARE_VALUES = {
    "started_at": "now",
    "scope": "Ingen åtkomst till SAMSA",
    "expected_resolution": "okänd",
}
FOLLOW_UP_VALUES = {
    "feedback_summary": "Återkoppling",
    "evaluation_summary": "Utvärdering",
    "lessons_learned": "Lärdomar",
}
# How the right people bring an incident into each state (fired in order after declaring).
# The partial reserve routine covers Skaraborg, so that every other sub-region can be added.
PATHS: dict[str, list[tuple[str, str, dict[str, str]]]] = {
    "outage": [],
    "partial_reserve": [("enter_partial_reserve", "eva.holm", {"reserve_subregions": "skaraborg"})],
    "total_reserve": [("enter_total_reserve", "margareta.lund", {})],
    "restored": [("restore", OPERATOR, {"resolved_at": "now"})],
    "follow_up": [
        ("restore", OPERATOR, {"resolved_at": "now"}),
        ("start_follow_up", OPERATOR, {}),
        ("record_follow_up", OPERATOR, FOLLOW_UP_VALUES),
    ],
    "closed": [
        ("restore", OPERATOR, {"resolved_at": "now"}),
        ("start_follow_up", OPERATOR, {}),
        ("record_follow_up", OPERATOR, FOLLOW_UP_VALUES),
        ("close", OPERATOR, {}),
    ],
    "withdrawn": [("withdraw", OPERATOR, {"withdrawal_reason": "Anmäld av misstag"})],
}


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


TRANSITIONS = {t["trigger"]: t for t in PLAN["transitions"]}
ROLES: dict[str, dict[str, Any]] = PLAN["roles"]
STATES = list(PLAN["states"])
FINAL = {name for name, s in PLAN["states"].items() if (s or {}).get("final")}
FIRST_SUBREGION = next(iter(PLAN["subregions"]))
assert len(TRANSITIONS) == len(PLAN["transitions"]), "one transition per trigger in this plan"
assert set(PATHS) == set(STATES), "every state of the plan needs a path here"


def effective_roles(role: str) -> set[str]:
    """The role and every role it deputises for (`deputy_of`, transitively)."""
    out = {role}
    current = ROLES[role].get("deputy_of")
    while current and current not in out:
        out.add(current)
        current = ROLES[current].get("deputy_of")
    return out


def sources(t: dict[str, Any]) -> list[str]:
    if t.get("initial"):
        return [NEW]
    listed = _listed(t.get("source"))
    return [s for s in STATES if s not in FINAL] if listed == ["*"] else listed


@dataclass(frozen=True)
class Case:
    state: str
    trigger: str
    role: str

    @property
    def id(self) -> str:
        return f"{self.state}-{self.trigger}-{self.role}"


def expected(case: Case, subregion: str | None) -> str:
    """The answer the plan gives: done, pending_approval, NotAuthorized or TransitionNotAllowed."""
    t = TRANSITIONS[case.trigger]
    if case.state not in sources(t):
        return "TransitionNotAllowed"
    mine = effective_roles(case.role)
    gate = t.get("gate")
    any_of = set(_listed(gate.get("any_of"))) if gate else set()
    all_of = set(_listed(gate.get("all_of"))) if gate else set()
    if not mine & (set(_listed(t.get("allowed"))) | any_of | all_of):
        return "NotAuthorized"
    if gate is None:
        return "done"
    decides_all = (not any_of or bool(mine & any_of)) and all_of <= mine
    # A scoped gate needs the decider's own sub-region; the cases ask for exactly that one.
    in_scope = gate.get("scope") is None or subregion is not None
    return "done" if decides_all and in_scope else "pending_approval"


def cases() -> Iterator[Case]:
    for trigger, t in TRANSITIONS.items():
        for state in [NEW] if t.get("initial") else STATES:
            for role in ROLES:
                yield Case(state, trigger, role)


CASES = list(cases())


def trigger_values(case: Case, subregion: str | None) -> dict[str, str]:
    """Valid data for the trigger: the plan's required fields, and a sub-region to decide on
    (the person's own when their role is scoped, else one not yet in the reserve routine)."""
    if case.trigger == "declare":
        return dict(DECLARE_VALUES)
    values = {
        "post_update": {"details": "Felsökning pågår"},
        "restore": {"resolved_at": "now"},
        "record_follow_up": {"lessons_learned": "Lärdomar"},
        "withdraw": {"withdrawal_reason": "Anmäld av misstag"},
    }.get(case.trigger, {})
    if case.trigger in ("enter_partial_reserve", "add_reserve_subregion"):
        values = {"reserve_subregions": subregion or "goteborg"}
    return values


@dataclass
class Installation:
    app: App
    people: dict[str, tuple[str, str | None]]  # role -> (person id, sub-region)
    probes: dict[str, str]  # state -> an incident in it, shared by refused cases

    def incident_in(self, state: str) -> str:
        incident = self.app.service.declare(actor_id=OPERATOR, values=DECLARE_VALUES).incident_id
        for trigger, actor, values in PATHS[state]:
            self.app.service.fire(
                incident_id=incident, trigger=trigger, actor_id=actor, values=values
            )
        assert self.app.service.show(incident)["state"] == state
        return incident


def _directory(tmp: Path) -> tuple[Path, dict[str, tuple[str, str | None]]]:
    """The example directory, plus a person for every plan role that nobody holds alone."""
    folder = tmp / "directory"
    shutil.copytree(EXAMPLES, folder)
    path = folder / "directory.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    people: dict[str, tuple[str, str | None]] = {}
    for person in document["people"]:
        if len(person["roles"]) == 1:
            people.setdefault(person["roles"][0], (person["id"], person.get("subregion")))
    for role, spec in ROLES.items():
        if role not in people:
            subregion = FIRST_SUBREGION if spec.get("scope") == "subregion" else None
            person = {
                "id": f"only.{role}",
                "name": f"Only {role}",
                "email": f"only.{role}@example.se",
                "roles": [role],
            }
            if subregion:
                person["subregion"] = subregion
            document["people"].append(person)
            people[role] = (person["id"], subregion)
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path, people


@pytest.fixture(scope="module")
def installation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installation]:
    """One SQLite database for every case, with probe incidents in each state."""
    tmp = tmp_path_factory.mktemp("matrix")
    directory, people = _directory(tmp)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DRIFTPLAN_AUDIT_KEY", TEST_AUDIT_KEY.hex())
        patch.delenv("DRIFTPLAN_DATABASE_URL", raising=False)
        app = build(Settings(data=tmp / "data", workflows=WORKFLOWS, database_url=None))
        try:
            app.service.directory.import_file(directory)
            setup = Installation(app, people, {})
            setup.probes = {state: setup.incident_in(state) for state in STATES}
            yield setup
        finally:
            app.database.dispose()


def _outcome(
    app: App, case: Case, person: str, values: dict[str, str], incident: str | None
) -> tuple[str, Any]:
    try:
        if incident is None:
            result = app.service.declare(actor_id=person, values=values)
        else:
            result = app.service.fire(
                incident_id=incident, trigger=case.trigger, actor_id=person, values=values
            )
    except (NotAuthorized, TransitionNotAllowed) as refused:
        return type(refused).__name__, refused
    return result.result, result


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_plan_decides_who_may_fire_each_trigger_in_each_state(
    installation: Installation, case: Case
) -> None:
    """A person with one role gets what the plan says for this trigger in this state: done,
    pending a decision, NotAuthorized (logged as a refusal) or TransitionNotAllowed."""
    app = installation.app
    person, subregion = installation.people[case.role]
    scoped = ROLES[case.role].get("scope") == "subregion"
    want = expected(case, subregion if scoped else None)
    values = trigger_values(case, subregion if scoped else None)

    if case.state == NEW:
        with app.database.unit_of_work(read_only=True) as uow:
            before = len(uow.incidents.list(include_closed=True))
        got, _ = _outcome(app, case, person, values, None)
        assert got == want
        with app.database.unit_of_work(read_only=True) as uow:
            created = len(uow.incidents.list(include_closed=True)) - before
        assert created == (1 if want == "done" else 0)
        return

    refused = want in ("NotAuthorized", "TransitionNotAllowed")
    incident = installation.probes[case.state] if refused else installation.incident_in(case.state)
    log_before = app.service.log(incident)
    got, result = _outcome(app, case, person, values, incident)
    assert got == want, result
    after = app.service.show(incident)
    log = app.service.log(incident)
    new_events = [(e["kind"], e["actor"], e["trigger"]) for e in log[len(log_before) :]]

    t = TRANSITIONS[case.trigger]
    if want == "NotAuthorized":
        assert new_events == [("refused", person, case.trigger)]
        assert log[-1]["data"]["error"] == "NotAuthorized"
    if refused:
        assert after["state"] == case.state
        if want == "TransitionNotAllowed":
            assert new_events == []
        return
    if want == "pending_approval":
        assert after["state"] == case.state
        assert [a["trigger"] for a in after["pending_approvals"]] == [case.trigger]
        assert new_events == [("approval_requested", person, case.trigger)]
        return
    assert after["state"] == (case.state if t.get("internal") else t["dest"])
    assert after["pending_approvals"] == []
    assert (new_events[0][1], new_events[0][2]) == (person, case.trigger)
