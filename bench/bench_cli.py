"""Benchmark how long CLI commands take in cold processes, against `python -c pass`.

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_cli.py [--runs 9] [--strict] [--profile]
[--compiled] [--floor]``.

Every measurement starts a new interpreter, as an operator's shell does: the bare baseline is
`python -c pass` with the venv's interpreter; ours are the installed `driftplan` script running
`--help`, `incident --help`, `validate` (the SAMSA plan), `diagram`, `incident list` and
`incident fire ID post_update` on a data folder prepared first (SQLite, the example directory,
one declared incident). Medians of `--runs` after one warm-up each (the OS file cache is warm
for both sides). Targets from issue #13: `--help` (and `incident --help`) <= 5x and the fire
<= 12x the bare interpreter. With `--profile` (or on a miss) the imports of the missed command
are listed by cumulative time (`python -X importtime`), since start-up cost is mostly imports.

The processes inherit the environment. Where it sets PYTHONDONTWRITEBYTECODE (as this
project's containers do), the engine's own modules are compiled from source in every process,
which an installed package never does; `--compiled` gives the measured processes a bytecode
cache in a temporary folder instead (PYTHONPYCACHEPREFIX; the warm-up run fills it), as an
installation has. `--floor` adds what the fire cannot avoid importing (Typer, pydantic,
SQLAlchemy with its SQLite dialect, Jinja, YAML; not rich, since the fire prints its one line
without it) as one more bare process, with the garbage collector off while importing and
nothing to collect at exit, as `driftplan` does.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DRIFTPLAN = str(BIN / "driftplan")
TARGETS = {"--help": 5.0, "incident --help": 5.0, "incident fire post_update": 12.0}
# The libraries an `incident fire` needs whatever the engine does (`--floor`), imported with
# the garbage collector handled as the command line does (engine.cli.collection).
FLOOR = (
    "import gc; gc.disable(); "
    "import typer.main, pydantic, sqlalchemy.dialects.sqlite, jinja2, yaml; "
    "gc.freeze()"
)
DECLARE = [
    "--set", "started_at=now",
    "--set", "scope=Ingen åtkomst till SAMSA i Fyrbodal",
    "--set", "expected_resolution=okänd",
    "--set", "affected_subregions=fyrbodal",
]  # fmt: skip


FIRE = ["post_update", "--as", "anna.andersson", "--set", "details=Felsökning pågår"]


def environment(data: Path, bytecode: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTPLAN_")}
    if bytecode is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(bytecode)
    env.update(
        DRIFTPLAN_DATA=str(data),
        DRIFTPLAN_WORKFLOWS=str(ROOT / "workflows"),
        DRIFTPLAN_AUDIT_KEY="11" * 32,
        DRIFTPLAN_LANG="sv",
    )
    return env


def run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr or done.stdout}")
    return done.stdout


def timed(args: list[str], env: dict[str, str], runs: int) -> float:
    """Median wall seconds of `runs` cold runs of `args` (after one warm-up)."""
    run(args, env)
    samples = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        run(args, env)
        samples.append((time.perf_counter_ns() - start) / 1e9)
    return statistics.median(samples)


def importtime(args: list[str], env: dict[str, str], top: int = 15) -> None:
    """Print the `top` slowest imports (cumulative) of the command `args`."""
    script = "import sys; from engine.cli.app import main; sys.argv = sys.argv[1:]; main()"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", script, "driftplan", *args[1:]],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    rows = []
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, column, name = line.split("|", 2)
            if column.strip().isdigit():
                rows.append((int(column), name.rstrip()))
    for cumulative, name in sorted(rows, reverse=True)[:top]:
        print(f"      {cumulative / 1000:8.1f} ms  {name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--strict", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--compiled", action="store_true", help="cache bytecode (see above)")
    parser.add_argument("--floor", action="store_true", help="time the fire's libraries")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-cli-") as folder:
        bytecode = Path(folder) / "pycache" if options.compiled else None
        env = environment(Path(folder) / "data", bytecode)
        run([DRIFTPLAN, "init"], env)
        run([DRIFTPLAN, "directory", "import", str(ROOT / "examples" / "directory.yaml")], env)
        declared = run(
            [DRIFTPLAN, "incident", "declare", "--as", "anna.andersson", *DECLARE, "--json"], env
        )
        incident = json.loads(declared)["id"]
        commands = {
            "--help": [DRIFTPLAN, "--help"],
            "incident --help": [DRIFTPLAN, "incident", "--help"],
            "validate": [DRIFTPLAN, "validate", str(ROOT / "workflows" / "samsa_outage.yaml")],
            "diagram": [DRIFTPLAN, "diagram", str(ROOT / "workflows" / "samsa_outage.yaml")],
            "incident list": [DRIFTPLAN, "incident", "list"],
            "incident fire post_update": [DRIFTPLAN, "incident", "fire", incident, *FIRE],
        }
        bare = timed([sys.executable, "-c", "pass"], env, options.runs)
        compiled = "bytecode cached" if options.compiled else "environment as inherited"
        print(
            f"cold processes, median of {options.runs} (python {sys.version.split()[0]}, "
            f"{compiled})"
        )
        print(f"  {'python -c pass':28s} {bare * 1000:8.1f} ms")
        if options.floor:
            seconds = timed([sys.executable, "-c", FLOOR], env, options.runs)
            print(
                f"  {'floor: the libraries':28s} {seconds * 1000:8.1f} ms  {seconds / bare:6.1f}x"
            )
        missed = []
        for label, args in commands.items():
            seconds = timed(args, env, options.runs)
            ratio = seconds / bare
            target = TARGETS.get(label)
            verdict = ""
            if target is not None:
                ok = ratio <= target
                verdict = f"target <= {target:g}x {'PASS' if ok else 'FAIL'}"
                if not ok:
                    missed.append(label)
            print(f"  {label:28s} {seconds * 1000:8.1f} ms  {ratio:6.1f}x  {verdict}")
        for label in commands if options.profile else missed:
            print(f"  slowest imports of `{label}`:")
            importtime(commands[label], env)
    return 1 if options.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
