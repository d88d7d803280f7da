"""`create_app`: the FastAPI application around a wired `App` (see engine.bootstrap).

The routers are the API's (`api/`) and the pages' (`ui/`); errors map to HTTP in
`problems.py`, security headers come from `security.py`. The worker's duties (timers,
delivery) are not started here but by `engine.web.server`, so tests can serve the app alone.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from engine.bootstrap import App
from engine.web import problems
from engine.web.api import approvals, health, incidents
from engine.web.pages import HERE, error_page
from engine.web.public import ROUTERS as PUBLIC_ROUTERS
from engine.web.security import SecurityHeaders
from engine.web.ui import (
    admin,
    admin_subscribers,
    admin_users,
    decision,
    declare,
    home,
    incident_page,
    login,
    pending,
)

API_DESCRIPTION = """\
driftplan runs an outage communication plan. Authenticate with `Authorization: Bearer TOKEN`
(`driftplan users token PERSON` makes one) or a browser session. Errors are RFC 9457 problem
details. Every POST accepts an `Idempotency-Key` header: a repeat with the same key and body
returns the first response.
"""


def create_app(app: App) -> FastAPI:
    """The web application serving `app`'s use cases."""
    web = FastAPI(
        title="driftplan",
        version="1",
        description=API_DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    web.state.driftplan = app
    problems.install(web, error_page)
    for router in (incidents.router, approvals.router, health.router):
        web.include_router(router, prefix="/api/v1")
    for router in (
        login.router,
        pending.router,
        decision.router,
        home.router,
        declare.router,
        incident_page.router,
        admin.router,
        admin_subscribers.router,
        admin_users.router,
        *PUBLIC_ROUTERS,
    ):
        web.include_router(router)
    web.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    web.add_middleware(SecurityHeaders, https=app.settings.public_url.startswith("https://"))
    return web
