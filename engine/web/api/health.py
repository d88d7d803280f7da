"""`GET /api/v1/health`: is the database reachable, is this process the timer leader, and how
much waits in the outbox. Open to everyone (load balancers ask it); it tells no personal data.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from engine.web.auth import service_of

router = APIRouter(tags=["health"])


@router.get("/health", summary="Health of this process and its database")
def health(request: Request) -> JSONResponse:
    leader = getattr(request.app.state, "leader", None)
    body: dict[str, Any] = {"status": "ok", "leader": leader() if callable(leader) else None}
    try:
        body.update(service_of(request).outbox.health())
    except Exception as exc:  # an unreachable database is the answer, not a crash
        body.update(status="unavailable", database="unreachable", error=type(exc).__name__)
        return JSONResponse(body, 503)
    body["database"] = "ok"
    return JSONResponse(body)
