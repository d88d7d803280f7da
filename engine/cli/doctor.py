"""`driftplan doctor`: what is unsafe about this installation (checks: engine.service.doctor)."""

from __future__ import annotations

import typer

from engine.cli.common import (
    DataOpt,
    JsonOpt,
    LangOpt,
    emit_json,
    escape,
    out_console,
    run,
    settings_from,
    t,
)

app = typer.Typer()


@app.command("doctor")
def doctor(data: DataOpt = None, as_json: JsonOpt = False, lang: LangOpt = None) -> None:
    """Check the installation (audit key, file modes, public URL, anchors, schema); exit 1 when
    something is unsafe. Changes nothing."""
    from engine.bootstrap import doctor as examine

    def body() -> int:
        settings = settings_from(data, lang)
        problems = examine(settings)
        language = settings.lang
        if as_json:
            emit_json({"safe": not problems, "problems": [p.as_dict(language) for p in problems]})
        elif not problems:
            out_console.print(t("doctor_ok", language))
        else:
            out_console.print(t("doctor_found", language))
            for problem in problems:
                out_console.print(f"  - {escape(problem.text(language))}")
        return 1 if problems else 0

    raise typer.Exit(run(body))
