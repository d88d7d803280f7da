"""Running a POST under its `Idempotency-Key`: the first response is kept and replayed.

The route hands over a callable that does the work and returns (status, JSON body); a
deliberate error becomes its problem response and is kept like any other answer, a crash
releases the key (the client may retry the same request).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from engine.errors import DriftplanError
from engine.service.idempotency import request_fingerprint
from engine.web.auth import Caller, service_of
from engine.web.problems import problem_for

REPLAYED = "Idempotent-Replayed"


def run_once(
    request: Request,
    caller: Caller,
    body: BaseModel | None,
    work: Callable[[], tuple[int, Any]],
    *,
    headers: Callable[[Any], dict[str, str]] | None = None,
) -> Response:
    """Run `work` once per (caller, Idempotency-Key); without a key, just run it."""
    key = request.headers.get("idempotency-key")
    instance = request.url.path

    def answer() -> tuple[int, str, JSONResponse]:
        try:
            status, payload = work()
        except DriftplanError as err:
            response = problem_for(err, instance)
            return response.status_code, bytes(response.body).decode(), response
        extra = headers(payload) if headers else None
        response = JSONResponse(payload, status, headers=extra)
        return status, bytes(response.body).decode(), response

    if key is None:
        return answer()[2]
    idempotency = service_of(request).idempotency
    canonical = body.model_dump_json().encode() if body is not None else b""
    fingerprint = request_fingerprint(request.method, instance, canonical)
    replay = idempotency.claim(caller.person_id, key, fingerprint)
    if replay is not None:
        media = "application/problem+json" if replay.status >= 400 else "application/json"
        extra = {REPLAYED: "true"}
        if headers is not None and replay.status < 400:
            extra |= headers(json.loads(replay.body))  # e.g. the Location of a declaration
        return Response(replay.body, replay.status, media_type=media, headers=extra)
    try:
        status, text, response = answer()
    except BaseException:
        idempotency.release(caller.person_id, key)
        raise
    if status >= 500:
        idempotency.release(caller.person_id, key)
    else:
        idempotency.finish(caller.person_id, key, status, text)
    return response
