"""`driftplan audit verify`: check the hash chain of the event log."""

from __future__ import annotations

import typer

from engine.cli.common import DataOpt, app_from, err_console, out_console, run
from engine.store.audit import verify as verify_chain
from engine.texts import t

app = typer.Typer(no_args_is_help=True, help="Check the tamper-evident event log.")


@app.command("verify")
def verify(incident_id: str | None = typer.Argument(None), data: DataOpt = None) -> None:
    """Check the hash chain of the event log; names the first altered event (exit 1)."""

    def body() -> int:
        application = app_from(data)
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
