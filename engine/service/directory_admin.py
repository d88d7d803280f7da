"""Import, show and export the directory: validated by engine.directory.parse, stored by the
store; and the administrators' view of subscribers.

Roles and sub-regions are checked against every installed plan, so a typo in a role is caught
when the directory is imported, not when a decision is needed at 3 a.m. An import is checked
whole before anything is written, and written in one transaction: a file with one error changes
nothing.

The `*_as` methods serve the web's admin pages: each first asks `Accounts.authorize` whether
the person holds a role with `may: [manage_directory]`. The plain ones are the CLI's (the
server administrator's tool). An upload is either a whole directory (YAML; `csv:` lists cannot
be resolved without a folder, so an uploaded directory writes its lists out) or one contact
list as CSV, which replaces that list only.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import yaml

from engine.definition.schema import NAME_RE, localized
from engine.directory.csv_lists import parse_csv
from engine.directory.parse import Directory, parse_directory
from engine.domain.model import Person as StoredPerson
from engine.domain.model import Subscriber
from engine.errors import DirectoryError, DriftplanError, NotFound
from engine.ports import Recipient
from engine.service.accounts import Accounts
from engine.service.plans import PlanLibrary
from engine.service.subscriptions import Subscriptions
from engine.service.workspace import Workspace

MANAGE = "manage_directory"
MAX_UPLOAD = 5 * 1024 * 1024  # a directory of thousands of people is far below this


def _plan_vocabulary(plans: PlanLibrary) -> tuple[set[str], set[str], set[str]]:
    roles: set[str] = set()
    subregions: set[str] = set()
    scoped: set[str] = set()
    for path in plans.files():
        try:
            from engine.definition.loader import load_definition  # noqa: PLC0415

            workflow = load_definition(path).workflow
        except Exception:  # noqa: S112  (an invalid plan is reported by `validate`)
            continue
        roles |= set(workflow.roles)
        subregions |= set(workflow.subregions)
        scoped |= {n for n, r in workflow.roles.items() if r.scope == "subregion"}
    return roles, subregions, scoped


class DirectoryAdmin:
    """Import and show the directory, each in one transaction."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.accounts = Accounts(workspace)
        self.subscriptions = Subscriptions(workspace)

    def import_file(self, file: Path) -> dict[str, int]:
        """Validate the whole file first; only a valid directory replaces the stored one."""
        try:
            text = file.read_bytes()
        except OSError as exc:
            raise DirectoryError(f"{file}: cannot read: {exc.strerror or exc}") from None
        return self._import(text, str(file), file.parent)

    def _import(self, text: bytes, source: str, base: Path | None) -> dict[str, int]:
        roles, subregions, scoped = _plan_vocabulary(self.workspace.plans)
        directory = parse_directory(
            text,
            source,
            base=base,
            roles=roles or None,
            subregions=subregions or None,
            scoped_roles=scoped,
        )
        return self._store(directory)

    def _store(self, directory: Directory) -> dict[str, int]:
        people = [
            StoredPerson(
                id=p.id,
                name=p.name,
                email=p.email,
                phone=p.phone,
                roles=list(p.roles),
                subregion=p.subregion,
            )
            for p in directory.people.values()
        ]
        lists = {
            name: [
                Recipient(address=m.address, name=m.name, person_id=m.person_id)
                for m in lst.members
            ]
            for name, lst in directory.lists.items()
        }
        with self.workspace.store.unit_of_work() as uow:
            uow.directory.replace(people, lists)
            uow.commit()
        return {"people": len(directory.people), "lists": len(directory.lists)}

    def snapshot(self) -> dict[str, Any]:
        """People and contact lists as stored (the JSON shape of `directory show`)."""
        with self.workspace.store.unit_of_work(read_only=True) as uow:
            people = [
                {
                    "id": p.id,
                    "name": p.name,
                    "email": p.email,
                    "phone": p.phone,
                    "roles": list(p.roles),
                    "subregion": p.subregion,
                }
                for p in uow.directory.people()
            ]
            lists = {
                name: [
                    {"address": m.address, "name": m.name, "person_id": m.person_id}
                    for m in members
                ]
                for name, members in uow.directory.lists().items()
            }
        return {"people": people, "lists": lists}

    # ------------------------------------------------------------------ the admin pages
    def view_as(self, actor_id: str, language: str) -> dict[str, Any]:
        """The stored directory with the current plan's roles and sub-regions (titles in
        `language`), for an administrator."""
        self.accounts.authorize(actor_id, MANAGE)
        shown = self.snapshot()
        roles: list[dict[str, Any]] = []
        subregions: list[dict[str, str]] = []
        try:
            workflow = self.workspace.plans.current(None).workflow
        except DriftplanError:
            workflow = None  # people and lists still show; `validate` reports the plan
        if workflow is not None:
            roles = [
                {
                    "id": name,
                    "title": localized(role.title, language) or name,
                    "deputy_of": role.deputy_of or "",
                    "scope": role.scope or "",
                    "may": list(role.may),
                }
                for name, role in workflow.roles.items()
            ]
            subregions = [
                {"id": name, "title": localized(sub.title, language) or name}
                for name, sub in workflow.subregions.items()
            ]
        return {**shown, "roles": roles, "subregions": subregions}

    def import_upload_as(
        self, actor_id: str, data: bytes, filename: str, *, csv_list: str = ""
    ) -> dict[str, int]:
        """Import an uploaded file: a whole directory (YAML), or with `csv_list` one contact
        list (CSV) that replaces that list. DirectoryError lists every `file:line: problem`."""
        self.accounts.authorize(actor_id, MANAGE)
        source = Path(filename).name or "upload"
        if len(data) > MAX_UPLOAD:
            raise DirectoryError(f"{source}:1: the file is larger than {MAX_UPLOAD} bytes")
        if not csv_list:
            if source.lower().endswith(".csv"):
                raise DirectoryError(
                    f"{source}:1: a CSV file is one contact list: give the name of the list "
                    "it replaces (or upload a whole directory as YAML)"
                )
            return self._import(data, source, None)
        if not re.match(NAME_RE, csv_list):
            raise DirectoryError(
                f"{source}:1: list name '{csv_list}' must be lowercase letters, digits and _"
            )
        problems: list[str] = []
        members = {
            row.address.casefold(): Recipient(address=row.address, name=row.name)
            for row in parse_csv(data, source, problems)
        }
        if problems:
            raise DirectoryError("\n".join(problems))
        with self.workspace.store.unit_of_work() as uow:
            people = uow.directory.people()
            lists: dict[str, list[Recipient]] = dict(uow.directory.lists())
            lists[csv_list] = list(members.values())
            uow.directory.replace(people, lists)
            uow.commit()
        return {"people": len(people), "lists": len(lists), "members": len(members)}

    def export_yaml_as(self, actor_id: str) -> str:
        """The stored directory as a directory file (YAML) that imports back to the same."""
        self.accounts.authorize(actor_id, MANAGE)
        shown = self.snapshot()
        people = []
        for p in shown["people"]:
            person = {k: p[k] for k in ("id", "name", "email") if p[k]}
            if p["phone"]:
                person["phone"] = p["phone"]
            person["roles"] = p["roles"]
            if p["subregion"]:
                person["subregion"] = p["subregion"]
            people.append(person)
        lists = {
            name: [
                {"person": m["person_id"]}
                if m["person_id"]
                else {k: m[k] for k in ("address", "name") if m[k]}
                for m in members
            ]
            for name, members in shown["lists"].items()
        }
        text: str = yaml.safe_dump(
            {"people": people, "lists": lists}, allow_unicode=True, sort_keys=False
        )
        return text

    def export_csv_as(self, actor_id: str, list_name: str) -> str:
        """One contact list as CSV (email, name), the shape a CSV import takes back."""
        self.accounts.authorize(actor_id, MANAGE)
        lists = self.snapshot()["lists"]
        if list_name not in lists:
            known = ", ".join(sorted(lists)) or "(none)"
            raise NotFound(
                f"No contact list '{list_name}'. Lists: {known}.",
                sv=f"Listan '{list_name}' finns inte. Listor: {known}.",
            )
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["email", "name"])
        for m in lists[list_name]:
            writer.writerow([m["address"], m["name"]])
        return out.getvalue()

    def subscribers_as(self, actor_id: str) -> tuple[list[str], list[Subscriber]]:
        """The audiences that take subscribers, and every subscriber."""
        self.accounts.authorize(actor_id, MANAGE)
        return self.subscriptions.audiences(), self.subscriptions.list()

    def subscribe_as(self, actor_id: str, *, audience: str, email: str, name: str) -> Subscriber:
        """Start a subscription on someone's behalf: pending until they confirm (double
        opt-in), exactly as when they subscribe themselves."""
        self.accounts.authorize(actor_id, MANAGE)
        return self.subscriptions.subscribe(audience=audience, email=email, name=name)

    def unsubscribe_as(self, actor_id: str, subscriber_id: str) -> Subscriber:
        """End a subscription (as its own unsubscribe link would)."""
        self.accounts.authorize(actor_id, MANAGE)
        found = next((s for s in self.subscriptions.list() if s.id == subscriber_id), None)
        if found is None:
            raise NotFound(
                f"No subscriber '{subscriber_id}'.",
                sv=f"Prenumeranten '{subscriber_id}' finns inte.",
            )
        return self.subscriptions.unsubscribe(found.unsubscribe_token)
