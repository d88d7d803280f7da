"""Benchmark the fan-out of one declaration to 5,000 e-mail recipients through the outbox.

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_fanout.py [--recipients N] [--strict]``
(``--profile`` always prints a profile).

Setup, all in this process: a real SMTP sink (aiosmtpd on 127.0.0.1 whose handler only counts),
an application on a temporary SQLite file with the SAMSA plan, and a directory whose support_it
list has N addresses (default 5,000). It prints

  * bare: a plain smtplib loop over one connection, one message per recipient (the same bytes
    every time: no per-recipient MIME), to the same sink — the baseline, measured twice in this
    run (before and after ours) and the faster one kept;
  * ours: `Dispatcher.deliver_due()` after a declaration — MIME (serialised once per message),
    SMTP, and recording 5,000 per-recipient results on the message and in the event log;
  * the ratio ours/bare in messages per second and PASS/FAIL against the target (>= 0.7);
  * declare: how long the declaration itself takes (rendering + 5,000 recipients into the outbox);
  * banner: the time from calling `declare` to `publish_dir/banner.json` being written by a
    dispatcher polling like `driftplan worker` (every --interval seconds), and whether the
    banner had to wait behind the 5,000-recipient e-mail in the outbox.

Exit code 0 unless --strict and the ratio misses the target. Below target (or with --profile)
the script prints a cProfile of one more delivery, sorted by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import shutil
import smtplib
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from aiosmtpd.controller import Controller  # noqa: E402

from engine.bootstrap import App, build  # noqa: E402
from engine.domain.model import MessageStatus  # noqa: E402
from engine.service.delivery import Dispatcher  # noqa: E402
from engine.settings import Settings  # noqa: E402

TARGET = 0.7
OPERATOR = "anna.andersson"
DECLARE = {
    "started_at": "now",
    "scope": "Ingen åtkomst till SAMSA i hela regionen",
    "expected_resolution": "okänd",
    "affected_subregions": "fyrbodal",
}
MAIL_FROM = "SAMSA driftinformation <drift@gits.example.se>"


class CountingHandler:
    """Accepts everything and only counts recipients: the sink costs as little as possible."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(  # noqa: N802  (aiosmtpd's hook name)
        self,
        server: Any,
        session: Any,
        envelope: Any,
    ) -> str:
        self.count += len(envelope.rcpt_tos)
        return "250 OK"


@contextmanager
def sink() -> Iterator[tuple[CountingHandler, int]]:
    """A running SMTP sink on a free loopback port."""
    handler = CountingHandler()
    with socket.socket() as probe:  # aiosmtpd's start-up check cannot use port 0
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def addresses(n: int) -> list[str]:
    return [f"it-support{i:05d}@kommun{i % 49:02d}.example.se" for i in range(n)]


def write_directory(folder: Path, n: int) -> Path:
    """The example directory with a support_it list of `n` addresses."""
    example = ROOT / "examples" / "directory.yaml"
    raw = yaml.safe_load(example.read_text("utf-8"))
    raw["lists"]["support_it"] = [
        {"address": a, "name": f"Support {i}", "organisation": f"Kommun {i % 49}"}
        for i, a in enumerate(addresses(n))
    ]
    shutil.copytree(example.parent / "lists", folder / "lists", dirs_exist_ok=True)
    path = folder / "directory.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    return path


def bare_loop(port: int, recipients: list[str], handler: CountingHandler) -> float:
    """Seconds for a plain smtplib loop: one connection, one message per recipient."""
    mail = EmailMessage()
    mail["From"] = MAIL_FROM
    mail["To"] = "undisclosed-recipients:;"
    mail["Subject"] = "Driftstörning i SAMSA"
    # About the size of the real notice: ~1 KB of text plus its HTML alternative.
    text = "\n".join(
        ["SAMSA används dygnet runt; informationen är viktig för vårdövergången."] * 14
    )
    mail.set_content(text)
    mail.add_alternative(f"<html><body><p>{text}</p></body></html>", subtype="html")
    data = mail.as_bytes(policy=policy.SMTP)  # CRLF line ends, as SMTP requires
    start_count = handler.count
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, local_hostname="bench", timeout=10) as smtp:
        for address in recipients:
            smtp.sendmail("drift@gits.example.se", [address], data)
    elapsed = time.perf_counter() - started
    assert handler.count - start_count == len(recipients)
    return elapsed


def make_app(folder: Path, n: int) -> App:
    application = build(Settings(data=folder / "data", workflows=ROOT / "workflows"))
    application.service.directory.import_file(write_directory(folder, n))
    return application


def dispatcher_for(application: App, port: int) -> Dispatcher:
    environ = {
        "DRIFTPLAN_SMTP_HOST": "127.0.0.1",
        "DRIFTPLAN_SMTP_PORT": str(port),
        "DRIFTPLAN_MAIL_FROM": MAIL_FROM,
    }
    return build(
        application.settings, clock=application.clock, migrate=False, channel_environ=environ
    ).dispatcher


def outbox_order(application: App, incident_id: str) -> list[str]:
    """The channels of the incident's messages in the order the dispatcher claims them."""
    with application.database.unit_of_work(read_only=True) as uow:
        return [m.channel for m in uow.messages.list(incident_id)]


def ours(application: App, port: int, n: int) -> tuple[float, float, list[str]]:
    """(declare seconds, deliver seconds, claim order) for one declaration."""
    started = time.perf_counter()
    incident_id = application.service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    declared = time.perf_counter() - started
    dispatcher = dispatcher_for(application, port)
    started = time.perf_counter()
    summary = dispatcher.deliver_due()
    delivered = time.perf_counter() - started
    dispatcher.close()
    assert summary.dead == summary.retrying == 0, summary
    with application.database.unit_of_work(read_only=True) as uow:
        mail = next(m for m in uow.messages.list(incident_id) if m.channel == "support_email")
    assert mail.status == MessageStatus.SENT and len(mail.recipients) == n
    return declared, delivered, outbox_order(application, incident_id)


def banner_latency(application: App, port: int, interval: float) -> tuple[float, list[str]]:
    """Seconds from calling declare to banner.json being (re)written by a polling dispatcher."""
    banner = application.settings.data / "public" / "banner.json"
    before = banner.stat().st_mtime_ns if banner.exists() else 0
    dispatcher = dispatcher_for(application, port)
    stop = threading.Event()

    def worker() -> None:  # what `driftplan worker` does, with a configurable interval
        while not stop.is_set():
            dispatcher.deliver_due()
            stop.wait(interval)

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    started = time.perf_counter()
    incident_id = application.service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    while not (banner.exists() and banner.stat().st_mtime_ns != before):
        time.sleep(0.001)
    latency = time.perf_counter() - started
    order = outbox_order(application, incident_id)
    stop.set()
    thread.join()
    dispatcher.close()
    return latency, order


def profile(application: App, port: int) -> str:
    """The top of a cProfile of one declaration's delivery, by own time."""
    application.service.declare(actor_id=OPERATOR, values=DECLARE)
    dispatcher = dispatcher_for(application, port)
    profiler = cProfile.Profile()
    profiler.enable()
    dispatcher.deliver_due()
    profiler.disable()
    dispatcher.close()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(18)
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=5000)
    parser.add_argument(
        "--interval",
        type=float,
        default=0.1,
        help="dispatcher polling interval for the banner measurement (s)",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 below target")
    parser.add_argument("--profile", action="store_true", help="always print a profile")
    args = parser.parse_args()
    n = args.recipients

    folder = Path(tempfile.mkdtemp(prefix="bench-fanout-"))
    try:
        with sink() as (handler, port):
            application = make_app(folder, n)
            bare_first = bare_loop(port, addresses(n), handler)
            declared, delivered, order = ours(application, port, n)
            bare_second = bare_loop(port, addresses(n), handler)
            bare = min(bare_first, bare_second)
            latency, banner_order = banner_latency(application, port, args.interval)
            ratio = (n / delivered) / (n / bare)
            verdict = "PASS" if ratio >= TARGET else "FAIL"
            print(f"recipients            {n}")
            print(
                f"bare smtplib loop     {bare:7.3f} s  {n / bare:8.0f} msg/s "
                f"(runs: {bare_first:.3f} s, {bare_second:.3f} s)"
            )
            print(f"dispatcher            {delivered:7.3f} s  {n / delivered:8.0f} msg/s")
            print(f"ratio ours/bare       {ratio:7.2f}   target >= {TARGET}  {verdict}")
            print(f"declare (to outbox)   {declared:7.3f} s")
            waited = banner_order.index("login_page") > banner_order.index("support_email")
            print(
                f"declare -> banner     {latency:7.3f} s  (poll {args.interval} s; banner "
                f"{'waited behind' if waited else 'went before'} the e-mail; "
                f"claim order {', '.join(banner_order)})"
            )
            print(f"first run claim order {', '.join(order)}")
            if ratio < TARGET or args.profile:
                print("\nprofile of one more delivery (own time):")
                print(profile(application, port))
            application.database.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 1 if args.strict and ratio < TARGET else 0


if __name__ == "__main__":
    raise SystemExit(main())
