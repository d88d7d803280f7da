"""The `driftplan` root command: every command group attached in one place, and `main`.

Each group is a module with its own `typer.Typer`. The top-level commands (validate, diagram,
init, exercise, channels, worker, serve, doctor) come from groups attached without a name,
which Typer merges into the root; the others are attached as subcommand groups. The order here
is the order `driftplan --help` lists them in.
"""

from __future__ import annotations

import typer

from engine.cli import (
    audit,
    channels,
    directory,
    doctor,
    exercise,
    incident,
    incident_timeline,
    outbox,
    plans,
    serve,
    subscribers,
    users,
)
from engine.cli import worker as worker_command
from engine.cli.usage import run_app

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="driftplan – run an outage communication plan."
)
app.add_typer(plans.app)  # validate, diagram, init
app.add_typer(exercise.app)
app.add_typer(channels.app)
app.add_typer(worker_command.app)
app.add_typer(serve.app)
app.add_typer(doctor.app)
# log, note and report join the incident group (a nameless group merges its commands).
incident.app.add_typer(incident_timeline.app)
app.add_typer(incident.app, name="incident")
app.add_typer(directory.app, name="directory")
app.add_typer(audit.app, name="audit")
app.add_typer(outbox.app, name="outbox")
app.add_typer(subscribers.app, name="subscribers")
app.add_typer(users.app, name="users")


def main() -> None:
    """Console-script entry point: usage errors in the user's language (`engine.cli.usage`)."""
    run_app(app)
