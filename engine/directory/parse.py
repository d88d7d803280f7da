"""The directory: people, their roles and sub-regions, and contact lists — parsed and validated.

A plan names roles ("council_chair") and lists ("support_it"); the directory says who and which
addresses those are. This module only parses and checks a directory file; storing it is the
store's job. Every problem is reported at once, as `file:line: message`, in one
`DirectoryError`, so an administrator can fix a file in one pass.

Format (YAML)::

    people:
      - id: anna.andersson            # letters, digits, . _ - ; unique
        name: Anna Andersson
        email: anna.andersson@example.se   # unique (case-insensitive)
        phone: "+46 70 000 00 01"     # optional; quote it, or YAML may read it as a number
        roles: [operator]             # roles of the plan
        subregion: fyrbodal           # required for roles with `scope: subregion`
    lists:
      support_it:                     # a list of members ...
        - {address: it-support@kommun1.example.se, name: Kommun 1 IT, organisation: Kommun 1}
        - person: anna.andersson      # ... members may be people from above
      working_groups:
        csv: lists/working_groups.csv # ... or a CSV file beside the directory file

A CSV list has a header row with an `email` column (also `e-post`), optional `name` (`namn`) and
`organisation` columns, separated by commas or semicolons, in UTF-8. Duplicate addresses within
one list are kept once (exports from other systems often repeat rows).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.definition.schema import NAME_RE, Workflow
from engine.definition.yaml_loader import Positions, load_yaml
from engine.directory.csv_lists import parse_csv
from engine.domain.addresses import EMAIL_RE, ID_RE, PHONE_RE
from engine.errors import DefinitionError, DirectoryError

PERSON_KEYS = ("id", "name", "email", "phone", "roles", "subregion")
MEMBER_KEYS = ("address", "name", "organisation")
YamlPath = tuple[str | int, ...]  # a place in the YAML data, for Positions.at


@dataclass(frozen=True)
class Person:
    """Someone who can act in or be told about an incident."""

    id: str
    name: str
    email: str
    phone: str = ""
    roles: tuple[str, ...] = ()
    subregion: str | None = None


@dataclass(frozen=True)
class Member:
    """One address on a contact list; `person_id` is set when it came from `people`."""

    address: str
    name: str = ""
    person_id: str | None = None
    organisation: str = ""


@dataclass(frozen=True)
class ContactList:
    """A named list of addresses, e.g. the support/IT organisations' list."""

    name: str
    members: list[Member]


@dataclass
class Directory:
    """People by id and contact lists by name, in file order."""

    people: dict[str, Person] = field(default_factory=dict)
    lists: dict[str, ContactList] = field(default_factory=dict)


def _choices(values: Iterable[str]) -> str:
    return ", ".join(sorted(values)) or "(none)"


@dataclass
class _Parser:
    """Walks the YAML data, collecting every problem with its line."""

    positions: Positions
    base: Path | None
    roles: Collection[str] | None
    subregions: Collection[str] | None
    scoped_roles: Collection[str]
    problems: list[str] = field(default_factory=list)

    def problem(self, path: YamlPath, message: str, *, key: bool = False) -> None:
        line, _ = self.positions.at(path, key=key)
        self.problems.append(f"{self.positions.source}:{line}: {message}")

    def unknown_keys(
        self, item: Mapping[str, Any], path: YamlPath, allowed: Collection[str], what: str
    ) -> None:
        for key in item:
            if key not in allowed:
                self.problem(
                    (*path, key),
                    f"unknown key '{key}' in {what}. Known keys: {', '.join(allowed)}",
                    key=True,
                )

    def text(
        self,
        item: Mapping[str, Any],
        key: str,
        path: YamlPath,
        what: str,
        *,
        required: bool = False,
    ) -> str:
        value = item.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.problem(path, f"{what} has no {key}")
            return ""
        if not isinstance(value, str):
            hint = " (quote it)" if key == "phone" else ""
            self.problem((*path, key), f"{key} of {what} must be text, got {value!r}{hint}")
            return ""
        return value.strip()

    def email(self, value: str, path: YamlPath, what: str) -> bool:
        if value and not (len(value) <= 254 and EMAIL_RE.match(value)):
            self.problem(path, f"invalid e-mail address {value!r} of {what}")
            return False
        return bool(value)

    def people(self, raw: Any) -> dict[str, Person]:
        people: dict[str, Person] = {}
        first_line: dict[str, int] = {}
        emails: dict[str, int] = {}
        if not isinstance(raw, list):
            self.problem(("people",), "people must be a list of persons")
            return people
        for index, item in enumerate(raw):
            path: YamlPath = ("people", index)
            if not isinstance(item, dict):
                self.problem(path, "each person must be a mapping with id, name and email")
                continue
            person = self.person(item, path, index)
            if person is None:
                continue
            line = self.positions.at(path)[0]
            if person.id in people:
                self.problem(
                    (*path, "id"),
                    f"duplicate person id '{person.id}' (first on line {first_line[person.id]})",
                )
                continue
            if person.email.casefold() in emails:
                self.problem(
                    (*path, "email"),
                    f"duplicate e-mail address '{person.email}' "
                    f"(first on line {emails[person.email.casefold()]})",
                )
            emails.setdefault(person.email.casefold(), line)
            first_line[person.id] = line
            people[person.id] = person
        return people

    def person(self, item: Mapping[str, Any], path: YamlPath, index: int) -> Person | None:
        """The person, even if some of its values are wrong (those are reported), so that
        list members naming it do not add misleading "unknown person" errors."""
        self.unknown_keys(item, path, PERSON_KEYS, f"person #{index + 1}")
        pid = self.text(item, "id", path, f"person #{index + 1}", required=True)
        if pid and not ID_RE.match(pid):
            self.problem((*path, "id"), f"person id {pid!r} may hold only letters, digits, . _ -")
        what = f"person '{pid or index + 1}'"
        name = self.text(item, "name", path, what, required=True)
        email = self.text(item, "email", path, what, required=True)
        self.email(email, (*path, "email"), what)
        phone = self.text(item, "phone", path, what)
        if phone and not PHONE_RE.match(phone):
            self.problem((*path, "phone"), f"invalid phone number {phone!r} of {what}")
        roles = self.person_roles(item.get("roles"), (*path, "roles"), what)
        subregion = self.text(item, "subregion", path, what) or None
        if subregion and self.subregions is not None and subregion not in self.subregions:
            self.problem(
                (*path, "subregion"),
                f"unknown sub-region '{subregion}' of {what}. "
                f"Sub-regions: {_choices(self.subregions)}",
            )
        for role in roles:
            if role in self.scoped_roles and not subregion:
                self.problem(
                    path, f"{what} has role '{role}', which is per sub-region, but no subregion"
                )
        return Person(pid, name, email, phone, tuple(roles), subregion) if pid else None

    def person_roles(self, raw: Any, path: YamlPath, what: str) -> list[str]:
        if raw is None:
            return []
        items = [raw] if isinstance(raw, str) else raw
        if not isinstance(items, list) or not all(isinstance(r, str) for r in items):
            self.problem(path, f"roles of {what} must be a list of role names")
            return []
        for i, role in enumerate(items):
            if self.roles is not None and role not in self.roles:
                self.problem(
                    (*path, i),
                    f"unknown role '{role}' of {what}. Roles of the plan: {_choices(self.roles)}",
                )
        return list(items)

    def lists(self, raw: Any, people: Mapping[str, Person]) -> dict[str, ContactList]:
        lists: dict[str, ContactList] = {}
        if not isinstance(raw, dict):
            self.problem(
                ("lists",), "lists must be a mapping of list name to members or {csv: file}"
            )
            return lists
        for name, body in raw.items():
            path: YamlPath = ("lists", name)
            if not re.match(NAME_RE, name):
                self.problem(
                    path, f"list name '{name}' must be lowercase letters, digits and _", key=True
                )
            if isinstance(body, dict):
                self.unknown_keys(body, path, ("csv",), f"list '{name}'")
                members = list(self.csv_members(body.get("csv"), (*path, "csv"), name))
            elif isinstance(body, list):
                members = list(self.yaml_members(body, path, name, people))
            else:
                self.problem(path, f"list '{name}' must be a list of members or {{csv: file}}")
                continue
            unique: dict[str, Member] = {}
            for member in members:
                unique.setdefault(member.address.casefold(), member)
            lists[name] = ContactList(name, list(unique.values()))
        return lists

    def yaml_members(
        self,
        raw: list[Any],
        path: YamlPath,
        list_name: str,
        people: Mapping[str, Person],
    ) -> Iterator[Member]:
        for index, item in enumerate(raw):
            where = (*path, index)
            what = f"member #{index + 1} of list '{list_name}'"
            if not isinstance(item, dict):
                self.problem(where, f"{what} must be {{address: ..., name: ...}} or {{person: id}}")
                continue
            if "person" in item:
                self.unknown_keys(item, where, ("person",), what)
                pid = item["person"]
                person = people.get(pid) if isinstance(pid, str) else None
                if person is None:
                    self.problem((*where, "person"), f"{what} names unknown person {pid!r}")
                    continue
                yield Member(person.email, person.name, person.id)
                continue
            self.unknown_keys(item, where, MEMBER_KEYS, what)
            address = self.text(item, "address", where, what, required=True)
            if self.email(address, (*where, "address"), what):
                yield Member(
                    address,
                    self.text(item, "name", where, what),
                    None,
                    self.text(item, "organisation", where, what),
                )

    def csv_members(self, raw: Any, path: YamlPath, list_name: str) -> Iterator[Member]:
        if not isinstance(raw, str) or not raw.strip():
            self.problem(path, f"csv of list '{list_name}' must be a file path")
            return
        if self.base is None:
            self.problem(
                path,
                f"list '{list_name}' imports {raw!r}, but the directory was "
                "given as text without a folder to find files in",
            )
            return
        target = (self.base / raw).resolve()
        if self.base.resolve() not in target.parents:
            self.problem(path, f"csv file {raw!r} must lie inside the directory file's folder")
            return
        try:
            data = target.read_bytes()
        except OSError as exc:
            self.problem(path, f"cannot read csv file {raw!r}: {exc.strerror or exc}")
            return
        for row in parse_csv(data, str(self.base / raw), self.problems):
            yield Member(row.address, row.name, None, row.organisation)


def parse_directory(
    text: str | bytes,
    source: str,
    *,
    base: Path | None = None,
    roles: Collection[str] | None = None,
    subregions: Collection[str] | None = None,
    scoped_roles: Collection[str] = (),
    required_lists: Collection[str] = (),
) -> Directory:
    """Parse and validate a directory; raises `DirectoryError` listing every problem.

    `roles`, `subregions` and `scoped_roles` come from the plan (None: anything goes);
    `required_lists` are the lists the plan's audiences use, which must exist.
    """
    try:
        raw, positions = load_yaml(text, source)
    except DefinitionError as exc:
        raise DirectoryError(
            "\n".join(f"{p.path}:{p.line}: {p.message}" for p in exc.problems)
        ) from None
    parser = _Parser(positions, base, roles, subregions, scoped_roles)
    if not isinstance(raw, dict):
        raise DirectoryError(f"{source}:1: a directory is a mapping with people and lists")
    parser.unknown_keys(raw, (), ("people", "lists"), "the directory")
    people = parser.people(raw.get("people", []))
    lists = parser.lists(raw.get("lists", {}), people)
    for name in sorted(set(required_lists) - set(lists)):
        parser.problem(
            ("lists",),
            f"list '{name}' is used by the plan's audiences but is not defined",
            key=True,
        )
    if parser.problems:
        raise DirectoryError("\n".join(parser.problems))
    return Directory(people, lists)


def load_directory(path: str | Path, *, workflow: Workflow | None = None) -> Directory:
    """Read and validate the directory file at `path`, against `workflow` when given."""
    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise DirectoryError(f"{path}:1: cannot read directory: {exc.strerror or exc}") from None
    if workflow is None:
        return parse_directory(data, str(path), base=file.parent)
    return parse_directory(
        data,
        str(path),
        base=file.parent,
        roles=set(workflow.roles),
        subregions=set(workflow.subregions),
        scoped_roles={n for n, r in workflow.roles.items() if r.scope == "subregion"},
        required_lists={n for a in workflow.audiences.values() for n in a.lists},
    )
