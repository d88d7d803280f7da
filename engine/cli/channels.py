"""`driftplan channels`: each plan channel, live or writing to the file outbox, and why.

The channel kinds and how a channel's `${NAME}` settings resolve are the installation's
(`App.channels`, the registry injected by `engine.bootstrap`); the environment they resolve
against is the one the settings were read with. A channel that can never work (a plan setting
the rules refuse, a `file://` webhook, a folder outside the data folder and publish root) is
shown as refused, with the reason: every message to it fails for good.
"""

from __future__ import annotations

from typing import Any

import typer

from engine.cli.common import (
    DataOpt,
    JsonOpt,
    LangOpt,
    app_from,
    emit_json,
    escape,
    new_table,
    out_console,
    run,
    t,
)

app = typer.Typer()


@app.command("channels")
def channels_status(data: DataOpt = None, as_json: JsonOpt = False, lang: LangOpt = None) -> None:
    """Each channel of each plan: live, or the file outbox and what is missing to go live."""
    from engine.definition.loader import load_definition
    from engine.errors import ConfigurationError
    from engine.ports import ChannelStatus

    def body() -> None:
        application = app_from(data, lang)
        environ = application.settings.environ
        kinds = application.channels.factories()
        rows: list[dict[str, Any]] = []
        for path in application.plans.files():
            definition = load_definition(path)
            for name, spec in definition.workflow.channels.items():
                try:
                    settings = application.channels.resolve(spec.kind, spec.settings, environ)
                except ConfigurationError as exc:
                    status = ChannelStatus(live=False, target="", refused=str(exc))
                else:
                    settings.setdefault("channel", name)
                    status = kinds[spec.kind].status(
                        settings, data_dir=str(application.settings.data)
                    )
                missing = sorted(
                    set(status.missing) | set(application.channels.unset(spec.settings, environ))
                )
                rows.append(
                    {
                        "plan": definition.name,
                        "channel": name,
                        "kind": spec.kind,
                        "live": status.live,
                        "target": status.target,
                        "missing": missing,
                        "refused": status.refused,
                    }
                )
        if as_json:
            emit_json(rows)
            return
        language = application.settings.lang
        table = new_table()
        for col in ("plan", "channel", "channel_kind", "mode", "target", "missing"):
            table.add_column(t(col, language), no_wrap=col == "id")
        for r in rows:
            mode = t("live", language) if r["live"] else t("file_outbox", language)
            if r["refused"]:
                mode = t("event_refused", language)
            table.add_row(
                *(escape(str(v)) for v in (r["plan"], r["channel"], r["kind"])),
                mode,
                escape(r["target"]),
                escape(", ".join(r["missing"])),
            )
        out_console.print(table)
        for r in rows:
            if r["refused"]:
                out_console.print(f"{escape(r['channel'])}: {escape(r['refused'])}")

    run(body)
