"""`driftplan exercise`: rehearse a plan from a script, with a live timeline and a summary.

The run itself is engine.exercise.runner; `engine.cli.exercise_report` turns its observations
into lines on the terminal (virtual time stamps, offset from the start) and its result into the
summary tables an exercise leader wants: how long until each audience was informed, which
reminders fired, and how long each decision took. This module is the command and its options.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from engine.cli.common import DataOpt, LangOpt, escape, out_console, run, settings_from

if TYPE_CHECKING:
    # Imported when an exercise runs, not by every CLI call: they pull in APScheduler.
    from engine.exercise.runner import Observation
    from engine.settings import Settings

# Script paths (e.g. `directory: examples/directory.yaml`) may be relative to the repository.
REPO_ROOT = Path(__file__).resolve().parents[2]

app = typer.Typer()


def _plan_location(plan: str | None, settings: Settings) -> tuple[Path, str | None]:
    """(workflows folder, plan name) from a plan file, a plan name, or the installed plans."""
    if plan and Path(plan).is_file():
        from engine.definition.loader import load_definition

        return Path(plan).resolve().parent, load_definition(plan).name
    return settings.workflows.resolve(), plan


@app.command("exercise")
def exercise(
    script: Annotated[
        Path,
        typer.Option(
            "--script",
            help="Exercise script (YAML), e.g. examples/exercise-total-outage.yaml.",
        ),
    ],
    plan: Annotated[
        str | None, typer.Argument(help="Plan file or name (default: the installed plan)")
    ] = None,
    speed: Annotated[
        float | None, typer.Option(help="Virtual seconds per real second (scales the script).")
    ] = None,
    data: DataOpt = None,
    keep: Annotated[bool, typer.Option("--keep", help="Keep the exercise's data folder.")] = False,
    allow_real: Annotated[
        bool,
        typer.Option(
            "--allow-real-recipients",
            help="Use the configured channels instead of the file outbox.",
        ),
    ] = False,
    lang: LangOpt = None,
) -> None:
    """Rehearse a plan: run a script on virtual time; every message is marked ÖVNING."""
    from engine.definition.schema import localized

    if speed is not None and speed <= 0:
        raise typer.BadParameter("must be positive", param_hint="--speed")

    def body() -> int:
        import shutil
        import tempfile
        from zoneinfo import ZoneInfo

        from engine.cli.exercise_report import Timeline, prepare, print_summary, word
        from engine.exercise.runner import ExerciseRunner
        from engine.exercise.script import load_script

        prepare()
        settings = settings_from(None, lang)
        language = settings.lang
        parsed = load_script(script, repo_root=REPO_ROOT)
        workflows, plan_name = _plan_location(plan or parsed.plan, settings)
        if plan_name and plan_name != parsed.plan:
            parsed = type(parsed)(**{**parsed.__dict__, "plan": plan_name})
        folder = data or Path(tempfile.mkdtemp(prefix="driftplan-exercise-"))
        remove = data is None and not keep
        try:
            timeline: Timeline | None = None

            def observe(seen: Observation) -> None:
                nonlocal timeline
                if timeline is None:
                    zone = ZoneInfo(
                        runner.app.plans.current(parsed.plan).workflow.document.timezone
                    )
                    timeline = Timeline(runner.start, zone, language)
                timeline(seen)

            runner = ExerciseRunner(
                parsed,
                data_dir=folder,
                workflows=workflows,
                speed=speed,
                allow_real_recipients=allow_real,
                observer=observe,
            )
            out_console.rule(f"[bold]{word('title', language)}: {escape(parsed.title)}[/]")
            out_console.print(f"[dim]{word('data', language)}: {folder}[/]")
            try:
                result = runner.run()
            finally:
                runner.close()
            out_console.rule(characters="─")
            workflow = runner.app.plans.current(parsed.plan).workflow
            zone = ZoneInfo(workflow.document.timezone)
            audiences = {
                name: localized(audience.title, language) or name
                for name, audience in workflow.audiences.items()
            }
            print_summary(result, language, runner.speeds, zone, audiences, workflow=workflow)
            return 1 if result.problems else 0
        finally:
            if remove:
                shutil.rmtree(folder, ignore_errors=True)
            else:
                out_console.print(f"{word('kept', language)} {folder}")

    raise typer.Exit(run(body))
