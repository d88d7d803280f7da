"""`driftplan serve`: the web service (API, pages, decision links) and the worker, in one
process (the loop is `engine.web.server`)."""

from __future__ import annotations

from typing import Annotated

import typer

from engine.cli.common import DataOpt, LangOpt, cli_origin, out_console, run, settings_from, t

app = typer.Typer()


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    data: DataOpt = None,
    lang: LangOpt = None,
) -> None:
    """Run the web service and the worker (timers and delivery) until stopped."""
    from engine.bootstrap import build
    from engine.cli.collection import started

    def body() -> None:
        # FastAPI and uvicorn are imported by this command only: every other command would pay
        # for them at start-up.
        from engine.errors import ConfigurationError
        from engine.web.server import check_public_url, is_loopback, serve

        settings = settings_from(data, lang)
        if not settings.public_url and is_loopback(host):
            # On a developer's machine the listening address is where links point.
            settings.public_url = f"http://{host}:{port}"
        if not settings.public_url:
            raise ConfigurationError(
                t("serve_needs_public_url", "en", host=host),
                sv=t("serve_needs_public_url", "sv", host=host),
            )
        check_public_url(settings.public_url)  # before anything is created on disk
        application = build(settings, origin={**cli_origin(), "via": "web"})
        started()
        language = application.settings.lang
        url = application.settings.public_url or f"http://{host}:{port}"
        try:
            serve(
                application,
                host=host,
                port=port,
                on_ready=lambda: out_console.print(
                    t("serve_ready", language, url=url, data=settings.data),
                    markup=False,
                ),
            )
        finally:
            application.close()

    run(body)
