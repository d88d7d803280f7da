"""`driftplan audit verify` and the other administrative commands."""

from __future__ import annotations

import typer

from engine.cli import DataOpt, _app, audit_app, err_console, out_console, run
from engine.texts import t


@audit_app.command("verify")
def verify(incident_id: str | None = typer.Argument(None), data: DataOpt = None) -> None:
    """Check the hash chain of the event log; names the first altered event (exit 1)."""
    from engine.store.audit import verify as verify_chain  # noqa: PLC0415

    def body() -> int:
        application = _app(data)
        report = verify_chain(application.database, application.audit_key, incident_id)
        language = application.settings.lang
        if report.intact:
            out_console.print(t("audit_ok", language, count=report.incidents_checked))
            return 0
        err_console.print(t("audit_bad", language))
        for finding in report.findings:
            err_console.print(f"  {finding}")
        return 1

    raise typer.Exit(run(body))
