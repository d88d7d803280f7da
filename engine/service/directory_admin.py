"""Import and show the directory: validated by engine.directory.parse, stored by the store.

Roles and sub-regions are checked against every installed plan, so a typo in a role is caught
when the directory is imported, not when a decision is needed at 3 a.m.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.directory.parse import parse_directory
from engine.domain.model import Person as StoredPerson
from engine.errors import DirectoryError
from engine.ports import Recipient
from engine.service.plans import PlanLibrary
from engine.service.workspace import Workspace


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

    def import_file(self, file: Path) -> dict[str, int]:
        """Validate the whole file first; only a valid directory replaces the stored one."""
        try:
            text = file.read_bytes()
        except OSError as exc:
            raise DirectoryError(f"{file}: cannot read: {exc.strerror or exc}") from None
        roles, subregions, scoped = _plan_vocabulary(self.workspace.plans)
        directory = parse_directory(
            text,
            str(file),
            base=file.parent,
            roles=roles or None,
            subregions=subregions or None,
            scoped_roles=scoped,
        )
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
