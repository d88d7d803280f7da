"""Import and show the directory: validated by engine.directory.parse, stored by the store.

Roles and sub-regions are checked against every installed plan, so a typo in a role is caught
when the directory is imported, not when a decision is needed at 3 a.m.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.directory.parse import parse_directory
from engine.errors import DirectoryError
from engine.ports import Recipient
from engine.store.records import Person as StoredPerson

if TYPE_CHECKING:
    from engine.bootstrap import App


def _plan_vocabulary(application: App) -> tuple[set[str], set[str], set[str]]:
    roles: set[str] = set()
    subregions: set[str] = set()
    scoped: set[str] = set()
    for path in application.plans.files():
        try:
            from engine.definition.loader import load_definition  # noqa: PLC0415

            workflow = load_definition(path).workflow
        except Exception:  # noqa: S112  (an invalid plan is reported by `validate`)
            continue
        roles |= set(workflow.roles)
        subregions |= set(workflow.subregions)
        scoped |= {n for n, r in workflow.roles.items() if r.scope == "subregion"}
    return roles, subregions, scoped


def import_directory(application: App, file: Path) -> dict[str, int]:
    """Validate the whole file first; only a valid directory replaces the stored one."""
    try:
        text = file.read_bytes()
    except OSError as exc:
        raise DirectoryError(f"{file}: cannot read: {exc.strerror or exc}") from None
    roles, subregions, scoped = _plan_vocabulary(application)
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
            Recipient(address=m.address, name=m.name, person_id=m.person_id) for m in lst.members
        ]
        for name, lst in directory.lists.items()
    }
    with application.database.unit_of_work() as uow:
        uow.directory.replace(people, lists)
        uow.commit()
    return {"people": len(directory.people), "lists": len(directory.lists)}


def directory_snapshot(application: App) -> dict[str, Any]:
    with application.database.unit_of_work() as uow:
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
                {"address": m.address, "name": m.name, "person_id": m.person_id} for m in members
            ]
            for name, members in uow.directory.lists().items()
        }
    return {"people": people, "lists": lists}
