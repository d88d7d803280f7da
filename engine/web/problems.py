"""Errors to HTTP, in one place: RFC 9457 problem details for the API, a Swedish page for people.

Every deliberate error (`engine.errors`) has one status here; anything else is a 500 whose
details stay in the server log.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine import errors

log = logging.getLogger(__name__)

PROBLEM_TYPE = "tag:driftplan,2026:problem/"

# Most specific first: the first class an error is an instance of decides.
STATUSES: list[tuple[type[errors.DriftplanError], int, str]] = [
    (errors.NotAuthenticated, 401, "not-authenticated"),
    (errors.NotAuthorized, 403, "forbidden"),
    (errors.LinkRefused, 403, "link-refused"),
    (errors.NotFound, 404, "not-found"),
    (errors.Conflict, 409, "conflict"),
    (errors.TransitionNotAllowed, 409, "wrong-state"),
    (errors.ApprovalError, 409, "approval-closed"),
    (errors.UnknownTrigger, 422, "unknown-trigger"),
    (errors.MissingField, 422, "missing-field"),
    (errors.InvalidField, 422, "invalid-field"),
    (errors.ConditionFailed, 422, "condition-failed"),
    (errors.CommandError, 422, "refused"),
    (errors.MessageError, 422, "message-incomplete"),
    (errors.DirectoryError, 422, "invalid-directory"),
    (errors.DefinitionError, 500, "plan-invalid"),
    (errors.ConfigurationError, 503, "not-configured"),
    (errors.DriftplanError, 500, "error"),
]

TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}


_PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "detail_sv": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these problem statuses (application/problem+json)."""
    return {
        status: {
            "description": TITLES.get(status, "Error"),
            "content": {"application/problem+json": {"schema": _PROBLEM_SCHEMA}},
        }
        for status in statuses
    }


def status_of(err: errors.DriftplanError) -> tuple[int, str]:
    """The HTTP status and problem slug of a deliberate error."""
    for cls, status, slug in STATUSES:
        if isinstance(err, cls):
            return status, slug
    return 500, "error"  # pragma: no cover (DriftplanError is last in the table)


def problem(
    status: int,
    slug: str,
    detail: str,
    *,
    detail_sv: str = "",
    instance: str = "",
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """An `application/problem+json` response."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + slug,
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if detail_sv:
        body["detail_sv"] = detail_sv
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status, headers=headers, media_type="application/problem+json")


def _field_of(err: errors.DriftplanError) -> dict[str, Any]:
    if isinstance(err, errors.InvalidField):
        return {"errors": [{"field": err.field, "message": str(err)}]}
    if isinstance(err, errors.MissingField):
        return {"errors": [{"field": f, "message": "required"} for f in err.fields]}
    if isinstance(err, errors.UnknownTrigger):
        return {"errors": [{"field": "trigger", "message": str(err)}]}
    return {}


def problem_for(err: errors.DriftplanError, instance: str) -> JSONResponse:
    """The problem details of a deliberate error."""
    status, slug = status_of(err)
    headers = {"WWW-Authenticate": 'Bearer realm="driftplan"'} if status == 401 else None
    return problem(
        status,
        slug,
        str(err),
        detail_sv=err.sv or "",
        instance=instance,
        headers=headers,
        **_field_of(err),
    )


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def install(app: FastAPI, page: Any) -> None:
    """Register the handlers; `page(request, status, text)` renders an error page for people."""

    async def on_driftplan(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, errors.DriftplanError)
        status, _ = status_of(exc)
        if status >= 500:
            log.error("%s %s failed: %s", request.method, request.url.path, exc)
        if not is_api(request):
            return page(request, status, exc.text("sv"))  # type: ignore[no-any-return]
        return problem_for(exc, request.url.path)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        fields = [
            {
                "field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"),
                "message": e.get("msg", ""),
            }
            for e in exc.errors()
        ]
        names = ", ".join(f["field"] or "(body)" for f in fields)
        if not is_api(request):
            return page(request, 422, f"Formuläret är inte rätt ifyllt: {names}.")  # type: ignore[no-any-return]
        return problem(
            422,
            "invalid-request",
            f"The request is not valid: {names}. See /openapi.json for the expected shape.",
            detail_sv=f"Anropet är inte giltigt: {names}. Se /openapi.json för formen.",
            instance=request.url.path,
            errors=fields,
        )

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if not is_api(request):
            return page(request, exc.status_code, str(exc.detail))  # type: ignore[no-any-return]
        return problem(
            exc.status_code,
            "http",
            str(exc.detail),
            instance=request.url.path,
            headers=dict(exc.headers or {}),
        )

    async def on_crash(request: Request, exc: Exception) -> Response:
        log.exception("%s %s crashed", request.method, request.url.path, exc_info=exc)
        if not is_api(request):
            return page(request, 500, "Något gick fel hos driftplan. Försök igen om en stund.")  # type: ignore[no-any-return]
        return problem(
            500,
            "internal",
            "driftplan failed to answer; the server log has the details.",
            detail_sv="driftplan kunde inte svara; serverns logg har detaljerna.",
            instance=request.url.path,
        )

    app.add_exception_handler(errors.DriftplanError, on_driftplan)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_crash)
