"""Benchmark how CLI commands and the idle worker scale from 10 to 10,000 stored incidents.

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_scale.py [--large 10000] [--runs 5]
[--idle 20] [--settle 15] [--keep DIR] [--strict]``.

Two data folders (SQLite) are filled through the service in-process with the SAMSA plan and the
example directory: one with 10 incidents, one with `--large` (default 10,000). Every incident is
declared (so each has its open `update_due` timer: 10,000 open timers in the large folder) and
one in ten is restored, so both open and closed incidents exist. Then, in cold processes of
the installed `driftplan` script: `incident list`, `incident show ID` and `incident fire ID
post_update` (medians of `--runs` after a warm-up), and the worker's idle CPU: `driftplan
worker` runs for `--settle` seconds (start-up schedules every open timer), then its CPU time
(from /proc/PID/stat) is read over `--idle` seconds, as a share of one core. The outbox is
emptied before, so the worker only keeps its timers and polls. Both folders are filled first
and then measured turn about (small, large, small, large, ...), so that a neighbour's load
falls on both sides alike. Target from issue #13: each measurement on the large folder <= 1.2x
the same on the small one (for CPU: the large folder's share <= 1.2x the small's + 0.2 points,
since both are near zero). Filling 10,000 incidents and delivering their 55,000 messages once
takes about half an hour here: `--keep DIR` fills DIR once and reuses it on later runs.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine.bootstrap import build  # noqa: E402
from engine.settings import Settings  # noqa: E402

DRIFTPLAN = str(Path(sys.executable).parent / "driftplan")
TARGET = 1.2
OPERATOR = "anna.andersson"
DECLARE = {
    "started_at": "now",
    "scope": "Ingen åtkomst till SAMSA i Fyrbodal",
    "expected_resolution": "okänd",
    "affected_subregions": "fyrbodal",
}
TICKS = os.sysconf("SC_CLK_TCK")


def environment(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTPLAN_")}
    env.update(
        DRIFTPLAN_DATA=str(data),
        DRIFTPLAN_WORKFLOWS=str(ROOT / "workflows"),
        DRIFTPLAN_AUDIT_KEY="11" * 32,
        DRIFTPLAN_LANG="sv",
    )
    return env


def fill(data: Path, count: int) -> str:
    """Declare `count` incidents (every tenth restored), empty the outbox; return an open id."""
    env = environment(data)
    subprocess.run([DRIFTPLAN, "init"], env=env, check=True, capture_output=True)
    subprocess.run(
        [DRIFTPLAN, "directory", "import", str(ROOT / "examples" / "directory.yaml")],
        env=env,
        check=True,
        capture_output=True,
    )
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        app = build(Settings.load())
        last = ""
        started = time.monotonic()
        for i in range(count):
            incident = app.service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
            if i % 10 == 9:
                app.service.fire(
                    incident_id=incident,
                    trigger="restore",
                    actor_id=OPERATOR,
                    values={"resolved_at": "now"},
                )
            else:
                last = incident
            if (i + 1) % 1000 == 0:
                rate = (i + 1) / (time.monotonic() - started)
                print(f"    {i + 1} incidents ({rate:.0f}/s)", flush=True)
        app.close()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    # Delivered once here, so the worker measured later has nothing to send.
    subprocess.run(
        [DRIFTPLAN, "outbox", "deliver", "--once"],
        env=env,
        check=True,
        capture_output=True,
        timeout=3600,
    )
    return last


def timed_pair(
    commands: dict[int, list[str]], envs: dict[int, dict[str, str]], runs: int
) -> dict[int, float]:
    """Median seconds per folder size of one command, the sizes run turn about."""
    for size, args in commands.items():  # warm-up
        subprocess.run(args, env=envs[size], check=True, capture_output=True)
    samples: dict[int, list[float]] = {size: [] for size in commands}
    for _ in range(runs):
        for size, args in commands.items():
            start = time.perf_counter_ns()
            subprocess.run(args, env=envs[size], check=True, capture_output=True)
            samples[size].append((time.perf_counter_ns() - start) / 1e9)
    return {size: statistics.median(values) for size, values in samples.items()}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def idle_cpu(env: dict[str, str], seconds: float, settle: float) -> float:
    """The worker's CPU share of one core over `seconds`, after `settle` seconds."""
    worker = subprocess.Popen(
        [DRIFTPLAN, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        time.sleep(settle)  # start-up: imports, the leader lock, scheduling every open timer
        before, start = cpu_seconds(worker.pid), time.monotonic()
        time.sleep(seconds)
        return (cpu_seconds(worker.pid) - before) / (time.monotonic() - start)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)


def measure(
    folders: dict[int, tuple[Path, str]], runs: int, idle: float, settle: float
) -> dict[int, dict[str, float]]:
    """Every measurement for every folder, the folders turn about."""
    envs = {size: environment(data) for size, (data, _) in folders.items()}
    commands = {
        "incident list": {size: [DRIFTPLAN, "incident", "list"] for size in folders},
        "incident show": {
            size: [DRIFTPLAN, "incident", "show", incident]
            for size, (_, incident) in folders.items()
        },
        "incident fire": {
            size: [
                *(DRIFTPLAN, "incident", "fire", incident, "post_update", "--as", OPERATOR),
                *("--set", "details=Felsökning pågår"),
            ]
            for size, (_, incident) in folders.items()
        },
    }
    results: dict[int, dict[str, float]] = {size: {} for size in folders}
    for what, pair in commands.items():
        for size, value in timed_pair(pair, envs, runs).items():
            results[size][what] = value
    shares: dict[int, list[float]] = {size: [] for size in folders}
    for _ in range(2):
        for size in folders:
            shares[size].append(idle_cpu(envs[size], idle, settle))
    for size, values in shares.items():
        results[size]["worker idle CPU"] = statistics.mean(values)
    return results


def filled(folder: Path, size: int) -> tuple[Path, str]:
    """The data folder for `size` incidents in `folder`, filled unless it already is."""
    data = folder / f"data-{size}"
    marker = folder / f"data-{size}.incident"
    if marker.exists():
        print(f"reusing {data} ({size} incidents)", flush=True)
        return data, marker.read_text().strip()
    print(f"filling {size} incidents ...", flush=True)
    incident = fill(data, size)
    marker.write_text(incident)
    return data, incident


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--large", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--idle", type=float, default=20.0)
    parser.add_argument("--settle", type=float, default=15.0)
    parser.add_argument("--keep", type=Path, help="fill this folder once and reuse it")
    parser.add_argument("--strict", action="store_true")
    options = parser.parse_args()
    sizes = (options.small, options.large)
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as scratch:
        folder = options.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        folders = {size: filled(folder, size) for size in sizes}
        results = measure(folders, options.runs, options.idle, options.settle)
    small, large = results[options.small], results[options.large]
    missed = []
    print(f"\n{'':18s} {options.small:>10} {options.large:>10}   ratio")
    for what in small:
        a, b = small[what], large[what]
        if what == "worker idle CPU":
            ok = b <= a * TARGET + 0.002
            print(f"{what:18s} {a * 100:9.2f}% {b * 100:9.2f}%   {b / max(a, 1e-9):5.2f}x", end="")
        else:
            ok = b <= a * TARGET
            print(f"{what:18s} {a * 1000:8.0f}ms {b * 1000:8.0f}ms   {b / a:5.2f}x", end="")
        print(f"  target <= {TARGET}x {'PASS' if ok else 'FAIL'}")
        if not ok:
            missed.append(what)
    print(json.dumps({"small": small, "large": large}))
    return 1 if options.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
