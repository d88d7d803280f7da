"""`python -m tests.crash_sink PORT DELAY LOG`: an SMTP sink in its own process for the crash suite.

It accepts every copy after waiting DELAY seconds (a slow server: a killed worker is likely to
die with a copy in flight) and appends one line per accepted recipient to LOG:
`unix time <TAB> recipient <TAB> Message-ID <TAB> client port`, written before the 250 reply,
so a copy counts as soon as the server has taken it. It prints `ready` once it listens.
"""

from __future__ import annotations

import asyncio
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

_MESSAGE_ID = re.compile(rb"^Message-ID:\s*<?([^>\r\n]*)>?", re.IGNORECASE | re.MULTILINE)


class CountingSink:
    """Waits `delay` seconds per copy, then logs each recipient of it and answers 250."""

    def __init__(self, delay: float, log: Path) -> None:
        self.delay = delay
        self.log = log

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        found = _MESSAGE_ID.search(envelope.original_content or envelope.content)
        message_id = found.group(1).decode() if found else "?"
        port = session.peer[1] if session.peer else 0
        with self.log.open("a", encoding="utf-8") as out:
            for rcpt in envelope.rcpt_tos:
                out.write(f"{time.time():.6f}\t{rcpt}\t{message_id}\t{port}\n")
        return "250 OK"


def main() -> None:
    port, delay, log = int(sys.argv[1]), float(sys.argv[2]), Path(sys.argv[3])
    controller = Controller(CountingSink(delay, log), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    threading.Event().wait()  # until the test kills this process


if __name__ == "__main__":
    main()
