"""The admin pages' directory part, `/admin`: people, the plan's roles and sub-regions, contact
lists with members; importing a YAML directory or a CSV list (`POST /admin/importera`) and
exporting them (`/admin/katalog.yaml`, `/admin/listor/{name}.csv`).

Only people whose role the plan grants `may: [manage_directory]` get here: the service's
`*_as` methods refuse everyone else, and the page shows that refusal (403). An import with
errors changes nothing and the page lists every `file:line: problem`, as the CLI does.
Also home to what the admin pages share (`admin_page`, `refused`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from engine.errors import DirectoryError, DriftplanError, NotAuthorized, NotFound
from engine.service.directory_admin import MAX_UPLOAD
from engine.web.auth import Caller, OptionalCallerDep, ServiceDep, posted_form, service_of
from engine.web.pages import language_of, operator_page, templates
from engine.web.ui.admin_words import admin_words
from engine.web.ui.command_flow import refusal_page
from engine.web.ui.forms import has_control

router = APIRouter(include_in_schema=False)

# Confirmations after a redirect, by a fixed key (never text taken from the URL).
NOTICES = {
    "importerad": "imported",
    "tillagd": "subscriber_added",
    "redan": "subscriber_already",
    "borttagen": "subscriber_removed",
    "losenord": "password_set",
    "aterkallad": "revoked",
}


def _admin_link(request: Request, caller: Caller | None) -> str:
    """Where base.html's admin link goes for this person ("" when they hold no admin
    permission): the directory, or the sign-in pages for someone who may manage only those."""
    if caller is None:
        return ""
    held = service_of(request).accounts.permissions(caller.person_id)
    if "manage_directory" in held:
        return "/admin"
    return "/admin/anvandare" if held else ""


templates.env.globals["admin_link"] = _admin_link


def sign_in(path: str) -> RedirectResponse:
    return RedirectResponse(f"/logga-in?next={path}", status_code=303)


def refused(request: Request, caller: Caller, err: DriftplanError) -> HTMLResponse:
    """The service's refusal as a page (403 for someone who is no administrator)."""
    return refusal_page(request, caller, err, "/")


def admin_page(
    request: Request, caller: Caller, name: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    """An admin page in the person's language with the admin words and a notice."""
    words = admin_words(language_of(request))
    notice = NOTICES.get(request.query_params.get("klart", ""))
    values = {
        "w": words,
        "notice": getattr(words, notice) if notice else "",
        "caller": caller,
        "csrf": caller.csrf,
        **context,
    }
    return operator_page(request, name, values, status)


def _directory_page(
    request: Request, caller: Caller, errors: list[str] | None = None, status: int = 200
) -> HTMLResponse:
    service = service_of(request)
    try:
        view = service.directory.view_as(caller.person_id, language_of(request))
    except NotAuthorized as err:
        return refused(request, caller, err)
    titles = {r["id"]: r["title"] for r in view["roles"]}
    regions = {r["id"]: r["title"] for r in view["subregions"]}
    people = [
        {
            **p,
            "role_titles": [titles.get(r, r) for r in p["roles"]],
            "subregion_title": regions.get(p["subregion"] or "", p["subregion"] or ""),
        }
        for p in view["people"]
    ]
    return admin_page(
        request,
        caller,
        "admin.html",
        {
            "people": people,
            "roles": [{**r, "deputy_title": titles.get(r["deputy_of"], "")} for r in view["roles"]],
            "subregions": view["subregions"],
            "lists": view["lists"],
            "errors": errors or [],
            "admin_tab": "katalog",
            "may_users": service.accounts.may(caller.person_id, "manage_users"),
        },
        status,
    )


@router.get("/admin")
def directory(request: Request, caller: OptionalCallerDep) -> Response:
    """The directory as stored, with the plan's roles and sub-regions."""
    if caller is None:
        return sign_in("/admin")
    return _directory_page(request, caller)


@router.post("/admin/importera")
async def import_upload(
    request: Request, caller: OptionalCallerDep, service: ServiceDep
) -> Response:
    """Import an uploaded directory (YAML) or contact list (CSV); errors show on the page."""
    if caller is None or caller.session is None:
        return sign_in("/admin")
    form = await posted_form(request, caller)
    words = admin_words(language_of(request))
    upload = form.get("fil")
    csv_list = str(form.get("lista", "")).strip()
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _directory_page(request, caller, [words.no_file], 422)
    data = await upload.read(MAX_UPLOAD + 1)
    try:
        service.directory.import_upload_as(
            caller.person_id, data, upload.filename, csv_list=csv_list
        )
    except NotAuthorized as err:
        return refused(request, caller, err)
    except DirectoryError as err:
        return _directory_page(request, caller, str(err).splitlines(), 422)
    return RedirectResponse("/admin?klart=importerad", status_code=303)


def _download(text: str, media_type: str, filename: str) -> Response:
    return Response(
        text.encode("utf-8"),
        media_type=f"{media_type}; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/admin/katalog.yaml")
def export_yaml(request: Request, caller: OptionalCallerDep, service: ServiceDep) -> Response:
    """The directory as a file that imports back to the same."""
    if caller is None:
        return sign_in("/admin")
    try:
        text = service.directory.export_yaml_as(caller.person_id)
    except NotAuthorized as err:
        return refused(request, caller, err)
    return _download(text, "application/yaml", "katalog.yaml")


@router.get("/admin/listor/{name}.csv")
def export_csv(
    request: Request, name: str, caller: OptionalCallerDep, service: ServiceDep
) -> Response:
    """One contact list as CSV (email, name)."""
    if caller is None:
        return sign_in("/admin")
    if has_control(name):
        raise NotFound(f"No contact list {name!r}.")
    try:
        text = service.directory.export_csv_as(caller.person_id, name)
    except NotAuthorized as err:
        return refused(request, caller, err)
    return _download(text, "text/csv", f"{name}.csv")
