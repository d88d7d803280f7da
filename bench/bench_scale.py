"""Benchmark how CLI commands and the idle worker scale from 10 to 10,000 stored incidents.

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_scale.py [--large 10000] [--runs 5]
[--idle 10] [--strict]``.

Two data folders (SQLite) are filled through the service in-process with the SAMSA plan and the
example directory: one with 10 incidents, one with `--large` (default 10,000). Every incident is
declared (so each has its open `update_due` timer: 10,000 open timers in the large folder) and
one in ten is restored, so both open and closed incidents exist. Then, per folder, in cold
processes of the installed `driftplan` script: `incident list`, `incident show ID` and
`incident fire ID post_update` (medians of `--runs` after a warm-up), and the worker's idle CPU:
`driftplan worker` runs for a settling period, then its CPU time (from /proc/PID/stat) is read
over `--idle` seconds, as a share of one core. The outbox is emptied before, so the worker only
keeps its timers and polls. Target from issue #13: each measurement on the large folder <= 1.2x
the same on the small one (for CPU: the large folder's share <= 1.2x the small's + 0.2 points,
since both are near zero). Filling 10,000 incidents takes a few minutes.
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


def timed(args: list[str], env: dict[str, str], runs: int) -> float:
    subprocess.run(args, env=env, check=True, capture_output=True)
    samples = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        subprocess.run(args, env=env, check=True, capture_output=True)
        samples.append((time.perf_counter_ns() - start) / 1e9)
    return statistics.median(samples)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def idle_cpu(env: dict[str, str], seconds: float) -> float:
    """The worker's CPU share of one core over `seconds`, after it settled."""
    worker = subprocess.Popen(
        [DRIFTPLAN, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        time.sleep(8)  # start-up: imports, the leader lock, scheduling every open timer
        before, start = cpu_seconds(worker.pid), time.monotonic()
        time.sleep(seconds)
        return (cpu_seconds(worker.pid) - before) / (time.monotonic() - start)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)


def measure(data: Path, incident: str, runs: int, idle: float) -> dict[str, float]:
    env = environment(data)
    fire = [DRIFTPLAN, "incident", "fire", incident, "post_update", "--as", OPERATOR]
    return {
        "incident list": timed([DRIFTPLAN, "incident", "list"], env, runs),
        "incident show": timed([DRIFTPLAN, "incident", "show", incident], env, runs),
        "incident fire": timed([*fire, "--set", "details=Felsökning pågår"], env, runs),
        "worker idle CPU": idle_cpu(env, idle),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--large", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--idle", type=float, default=10.0)
    parser.add_argument("--strict", action="store_true")
    options = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as folder:
        for size in (options.small, options.large):
            data = Path(folder) / f"data-{size}"
            print(f"filling {size} incidents ...", flush=True)
            incident = fill(data, size)
            results[size] = measure(data, incident, options.runs, options.idle)
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
