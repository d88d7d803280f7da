"""The directory: the example covers the SAMSA plan, and every broken file is located exactly."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.definition.loader import parse_definition
from engine.definition.schema import Workflow
from engine.directory.parse import Directory, load_directory, parse_directory
from engine.domain.model import StoredRecipient
from engine.errors import DirectoryError
from engine.service.addressing import Addressing, PersonView, dedupe

ROOT = Path(__file__).resolve().parents[2]
PLAN = ROOT / "workflows" / "samsa_outage.yaml"
EXAMPLE = ROOT / "examples" / "directory.yaml"


def addressing_of(directory: Directory) -> Addressing:
    """Who is who in a parsed directory, as the engine addresses messages (no deputies)."""
    people = [
        PersonView(p.id, p.name, p.email, tuple(p.roles), p.subregion)
        for p in directory.people.values()
    ]
    lists = {
        name: [StoredRecipient(m.address, m.name, m.person_id) for m in members.members]
        for name, members in directory.lists.items()
    }
    return Addressing(people, lists, {}, lambda roles: roles)


@pytest.fixture(scope="module")
def workflow() -> Workflow:
    return parse_definition(PLAN.read_bytes(), str(PLAN), base=PLAN.parent, check=False).workflow


def parse(text: str, workflow: Workflow, *, base: Path | None = None) -> Directory:
    """Parse against the SAMSA plan's roles, sub-regions, scoped roles and lists."""
    return parse_directory(
        text,
        "dir.yaml",
        base=base,
        roles=set(workflow.roles),
        subregions=set(workflow.subregions),
        scoped_roles={n for n, r in workflow.roles.items() if r.scope == "subregion"},
    )


def test_example_directory_covers_every_role_and_subregion(workflow: Workflow) -> None:
    """The shipped example has someone for every role and a decider in every sub-region."""
    directory = load_directory(EXAMPLE, workflow=workflow)
    addressing = addressing_of(directory)
    for role in workflow.roles:
        assert addressing.with_roles([role]), f"nobody has role {role}"
    for subregion in workflow.subregions:
        assert addressing.with_roles(["subregional_decider"], subregions=[subregion])
    for audience in ("support_it", "working_groups", "involved_parties", "suppliers"):
        assert addressing.for_audience(workflow, audience), audience
    assert len(directory.lists["support_it"].members) == 6
    assert all(
        a.endswith(("example.se", "example.org"))
        for a in [p.email for p in directory.people.values()]
        + [m.address for lst in directory.lists.values() for m in lst.members]
    )


def test_example_lists_keep_names_and_organisations(workflow: Workflow) -> None:
    """CSV and YAML members keep their names and organisations; person members their id."""
    directory = load_directory(EXAMPLE, workflow=workflow)
    first = directory.lists["support_it"].members[0]
    assert (first.address, first.name, first.organisation) == (
        "it-support@kommun1.example.se",
        "Kommun 1 IT-support",
        "Kommun 1",
    )
    working = directory.lists["working_groups"].members  # semicolon-separated, Swedish headers
    assert working[1].name == "Arbetsgrupp SIP"
    assert directory.lists["suppliers"].members[0].person_id == "cerner.support"


@dataclass(frozen=True)
class Broken:
    """A broken directory, a fragment of the error and the line it must name."""

    name: str
    text: str
    message: str
    line: int


P = "people:\n"
ANNA = "  - {id: anna, name: Anna Andersson, email: anna@example.se, roles: [operator]}\n"
BROKEN = [
    Broken("unknown top-level key", "peple: []\n", "unknown key 'peple' in the directory", 1),
    Broken(
        "unknown person key",
        P + ANNA + "  - {id: bo, name: Bo Ek, mail: bo@example.se}\n",
        "unknown key 'mail' in person #2",
        3,
    ),
    Broken("missing id", P + ANNA + "  - {name: Bo Ek, email: bo@example.se}\n", "has no id", 3),
    Broken(
        "missing name", P + "  - {id: bo, email: bo@example.se}\n", "person 'bo' has no name", 2
    ),
    Broken("missing email", P + ANNA + "  - {id: bo, name: Bo Ek}\n", "'bo' has no email", 3),
    Broken(
        "invalid email",
        P + ANNA + "  - id: bo\n    name: Bo Ek\n    email: bo.example.se\n",
        "invalid e-mail address 'bo.example.se' of person 'bo'",
        5,
    ),
    Broken(
        "header injection in email",
        P + '  - {id: bo, name: Bo Ek, email: "bo@example.se\\nBcc: x@example.org"}\n',
        "invalid e-mail address",
        2,
    ),
    Broken(
        "duplicate id",
        P + ANNA + "  - {id: anna, name: Anna Berg, email: berg@example.se}\n",
        "duplicate person id 'anna' (first on line 2)",
        3,
    ),
    Broken(
        "duplicate email, other case",
        P + ANNA + "  - {id: bo, name: Bo Ek, email: ANNA@example.se}\n",
        "duplicate e-mail address 'ANNA@example.se' (first on line 2)",
        3,
    ),
    Broken(
        "unknown role",
        P + "  - id: bo\n    name: Bo Ek\n    email: bo@example.se\n    roles: [operater]\n",
        "unknown role 'operater' of person 'bo'. Roles of the plan: admin, council_chair",
        5,
    ),
    Broken(
        "unknown sub-region",
        P + "  - {id: bo, name: Bo Ek, email: bo@example.se, roles: [subregional_decider], "
        "subregion: halland}\n",
        "unknown sub-region 'halland' of person 'bo'. Sub-regions: fyrbodal, goteborg",
        2,
    ),
    Broken(
        "scoped role without sub-region",
        P
        + ANNA
        + "  - {id: bo, name: Bo Ek, email: bo@example.se, roles: [subregional_decider]}\n",
        "role 'subregional_decider', which is per sub-region, but no subregion",
        3,
    ),
    Broken(
        "phone read as a number",
        P + "  - {id: bo, name: Bo Ek, email: bo@example.se, phone: 0701234567}\n",
        "phone of person 'bo' must be text, got 117782903 (quote it)",  # YAML 1.1 octal
        2,
    ),
    Broken(
        "list member names an unknown person",
        P + ANNA + "lists:\n  support_it:\n    - person: anna\n    - person: bo\n",
        "member #2 of list 'support_it' names unknown person 'bo'",
        6,
    ),
    Broken(
        "list member with a bad address",
        "lists:\n  support_it:\n    - {address: it-support, name: IT}\n",
        "invalid e-mail address 'it-support' of member #1 of list 'support_it'",
        3,
    ),
    Broken(
        "list member with both forms",
        P + ANNA + "lists:\n  x:\n    - {person: anna, address: a@example.se}\n",
        "unknown key 'address' in member #1 of list 'x'",
        5,
    ),
    Broken("people not a list", "people:\n  anna: {}\n", "people must be a list", 2),
    Broken(
        "duplicate YAML key",
        P + "  - {id: bo, name: Bo Ek, email: bo@example.se}\nlists: {}\nlists: {}\n",
        "duplicate key 'lists'",
        4,
    ),
    Broken(
        "csv without a folder",
        "lists:\n  support_it: {csv: lists/x.csv}\n",
        "given as text without a folder",
        2,
    ),
]


@pytest.mark.parametrize("case", BROKEN, ids=[c.name for c in BROKEN])
def test_broken_directory_is_refused_at_the_right_line(workflow: Workflow, case: Broken) -> None:
    """Each broken directory raises DirectoryError naming the problem and its line."""
    with pytest.raises(DirectoryError) as caught:
        parse(case.text, workflow)
    lines = str(caught.value).splitlines()
    matching = [line for line in lines if case.message in line]
    assert matching, f"{case.message!r} not in {lines}"
    assert matching[0].startswith(f"dir.yaml:{case.line}: "), matching[0]


def test_every_problem_is_reported_at_once(workflow: Workflow) -> None:
    """One error lists every problem, one per line, not just the first."""
    text = (
        P
        + "  - {id: bo, name: Bo Ek, email: nope}\n"
        + "  - {id: cy, name: Cy Ek, email: cy@example.se, roles: [boss]}\n"
    )
    with pytest.raises(DirectoryError) as caught:
        parse(text, workflow)
    lines = str(caught.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("dir.yaml:2: invalid e-mail")
    assert lines[1].startswith("dir.yaml:3: unknown role 'boss'")


def test_lists_the_plan_needs_must_exist(workflow: Workflow) -> None:
    """Loading against the plan requires every list its audiences name."""
    with pytest.raises(DirectoryError, match="list 'suppliers' is used by the plan's audiences"):
        parse_directory(
            "lists:\n  support_it: []\n  working_groups: []\n  involved_parties: []\n",
            "dir.yaml",
            required_lists={n for a in workflow.audiences.values() for n in a.lists},
        )


def write_csv(tmp_path: Path, text: str | bytes) -> Path:
    (tmp_path / "lists").mkdir()
    target = tmp_path / "lists" / "support_it.csv"
    target.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return target


CSV_LIST = "lists:\n  support_it: {csv: lists/support_it.csv}\n"


@pytest.mark.parametrize(
    ("csv_text", "message"),
    [
        ("email,name\na@example.se,A\nb.example.se,B\n", "support_it.csv:3: invalid e-mail"),
        ("email,name\na@example.se,A\n\nc@example.se,C,extra\n", "support_it.csv:4: expected 2"),
        ("email,name\n,Ingen adress\n", "support_it.csv:2: no e-mail address"),
        ("name,organisation\nA,Kommun\n", "support_it.csv:1: no email column"),
        ("email,nmae\na@example.se,A\n", "support_it.csv:1: unknown column(s) nmae"),
        ("", "support_it.csv:1: the file is empty"),
        ("email\nå@example.se\n".encode("latin-1"), "support_it.csv:1: not UTF-8"),
    ],
)
def test_csv_problems_name_the_csv_line(
    workflow: Workflow, tmp_path: Path, csv_text: str | bytes, message: str
) -> None:
    """A bad CSV list is refused with the CSV file's own line number."""
    write_csv(tmp_path, csv_text)
    with pytest.raises(DirectoryError) as caught:
        parse(CSV_LIST, workflow, base=tmp_path)
    assert message in str(caught.value)


def test_csv_import_accepts_excel_exports(workflow: Workflow, tmp_path: Path) -> None:
    """A BOM, semicolons, Swedish headers and repeated rows are what Excel gives; all work."""
    text = "\ufeffE-post;Namn;Organisation\nA@example.se;Kommun A;A\na@example.se;Igen;A\n"
    write_csv(tmp_path, text)
    members = parse(CSV_LIST, workflow, base=tmp_path).lists["support_it"].members
    assert [(m.address, m.name, m.organisation) for m in members] == [
        ("A@example.se", "Kommun A", "A")
    ]


def test_csv_outside_the_directory_folder_is_refused(workflow: Workflow, tmp_path: Path) -> None:
    """A list cannot import a file from outside the directory file's folder."""
    inner = tmp_path / "dir"
    inner.mkdir()
    (tmp_path / "secret.csv").write_text("email\na@example.se\n", encoding="utf-8")
    with pytest.raises(DirectoryError, match="must lie inside the directory file's folder"):
        parse("lists:\n  x: {csv: ../secret.csv}\n", workflow, base=inner)


def test_recipients_merge_roles_and_lists_once_per_address(workflow: Workflow) -> None:
    """An audience's people and list members are merged, each address once, ignoring case."""
    text = (
        P + "  - {id: cerner, name: Cerner Support, email: support@cerner.example.org, "
        "roles: [supplier_support]}\n"
        + "lists:\n  suppliers:\n    - {address: SUPPORT@cerner.example.org, name: Dubblett}\n"
        + "    - {address: avtal@cerner.example.org, name: Avtal}\n"
    )
    directory = parse(text, workflow)
    recipients = dedupe(addressing_of(directory).for_audience(workflow, "suppliers"))
    assert [(r.address, r.person_id) for r in recipients] == [
        ("support@cerner.example.org", "cerner"),
        ("avtal@cerner.example.org", None),
    ]


def test_people_with_roles_filters_by_subregion(workflow: Workflow) -> None:
    """Deciders are found per sub-region; other sub-regions' deciders are left out."""
    directory = load_directory(EXAMPLE, workflow=workflow)
    addressing = addressing_of(directory)
    found = addressing.with_roles(["subregional_decider"], subregions=["fyrbodal", "goteborg"])
    assert sorted(directory.people[p.person_id or ""].subregion or "" for p in found) == [
        "fyrbodal",
        "goteborg",
    ]
    chairs = addressing.with_roles(["council_chair", "council_vice_chair"])
    assert {p.person_id for p in chairs} == {"margareta.lund", "olof.strand"}


def test_a_flawed_person_does_not_cause_follow_on_errors(workflow: Workflow) -> None:
    """A list naming a person whose phone is wrong reports the phone, not an unknown person."""
    text = (
        P
        + '  - {id: bo, name: Bo Ek, email: bo@example.se, phone: "ring mig"}\n'
        + "lists:\n  x:\n    - person: bo\n"
    )
    with pytest.raises(DirectoryError) as caught:
        parse(text, workflow)
    assert str(caught.value) == "dir.yaml:2: invalid phone number 'ring mig' of person 'bo'"
