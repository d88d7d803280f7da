"""`driftplan serve`: the web service (API, pages, decision links) and the worker, in one
process (the loop is `engine.web.server`)."""

from __future__ import annotations

from typing import Annotated

import typer

from engine.bootstrap import build
from engine.cli.common import DataOpt, LangOpt, cli_origin, out_console, run, settings_from
from engine.errors import ConfigurationError

app = typer.Typer()

READY = {
    "sv": "driftplan är igång på {url} (data: {data}).\n"
    "Logga in: sätt ett lösenord med `driftplan users set-password PERSON` och gå till "
    "{url}/logga-in. API: {url}/docs, nyckel med `driftplan users token PERSON`.\n"
    "Stoppa med Ctrl+C.",
    "en": "driftplan is running at {url} (data: {data}).\n"
    "Sign in: set a password with `driftplan users set-password PERSON` and open "
    "{url}/logga-in. API: {url}/docs, a token with `driftplan users token PERSON`.\n"
    "Stop with Ctrl+C.",
}


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    data: DataOpt = None,
    lang: LangOpt = None,
) -> None:
    """Run the web service and the worker (timers and delivery) until stopped."""

    def body() -> None:
        # FastAPI and uvicorn are imported by this command only: every other command would pay
        # for them at start-up.
        from engine.web.server import check_public_url, is_loopback, serve  # noqa: PLC0415

        settings = settings_from(data, lang)
        if not settings.public_url and is_loopback(host):
            # On a developer's machine the listening address is where links point.
            settings.public_url = f"http://{host}:{port}"
        if not settings.public_url:
            raise ConfigurationError(
                f"Serving on {host} needs DRIFTPLAN_PUBLIC_URL: the https address people reach "
                "this service at (every link in a message starts with it).",
                sv=f"För att köra på {host} behövs DRIFTPLAN_PUBLIC_URL: https-adressen som "
                "människor når tjänsten på (varje länk i ett meddelande börjar med den).",
            )
        check_public_url(settings.public_url)  # before anything is created on disk
        application = build(settings, origin={**cli_origin(), "via": "web"})
        language = application.settings.lang
        url = application.settings.public_url or f"http://{host}:{port}"
        try:
            serve(
                application,
                host=host,
                port=port,
                on_ready=lambda: out_console.print(
                    READY.get(language, READY["sv"]).format(url=url, data=settings.data),
                    markup=False,
                ),
            )
        finally:
            application.close()

    run(body)
