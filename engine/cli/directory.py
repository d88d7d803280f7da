"""`driftplan directory ...`: load the directory file and show what it holds."""

from __future__ import annotations

from pathlib import Path

from engine.cli.commands import Commands
from engine.cli.common import (
    DataOpt,
    JsonOpt,
    LangOpt,
    app_from,
    emit_json,
    new_table,
    out_console,
    run,
    t,
)

commands = Commands("directory")


@commands.command("import")
def directory_import(file: Path, data: DataOpt = None) -> None:
    """Validate and load a directory file (people, roles, contact lists)."""

    def body() -> None:
        application = app_from(data)
        summary = application.service.directory.import_file(file)
        out_console.print(t("directory_imported", application.settings.lang, **summary))

    run(body)


@commands.command("show")
def directory_show(data: DataOpt = None, as_json: JsonOpt = False, lang: LangOpt = None) -> None:
    """Print the people and contact lists in the directory."""

    def body() -> None:
        application = app_from(data, lang)
        snapshot = application.service.directory.snapshot()
        if as_json:
            emit_json(snapshot)
            return
        language = application.settings.lang
        table = new_table(title=t("people", language))
        for col in ("id", "name", "email", "roles", "subregion"):
            table.add_column(t(col, language))
        for p in snapshot["people"]:
            table.add_row(
                p["id"], p["name"], p["email"], ", ".join(p["roles"]), p.get("subregion") or ""
            )
        out_console.print(table)
        lists = new_table(title=t("lists", language))
        lists.add_column(t("list", language))
        lists.add_column(t("members", language))
        for name, members in snapshot["lists"].items():
            lists.add_row(name, str(len(members)))
        out_console.print(lists)

    run(body)


# The whole group, every command (`engine.cli.app.main` builds only the one invoked).
app = commands.app()
