"""The real console, headless, against the lab: its state changes as JSON lines.

    python -m dsnwatch.tui.observed

The fault run starts this in a process of its own with the lab's configuration (and
`DSNWATCH_STORE` pointing at a store of its own). Each line on standard output is
one state the console showed for a source: `{"t": ..., "source": ..., "state": ...}`
with `source` a log source (dovecot, postfix) or `imap`. It ends, letting the app
store what it still holds, when standard input closes.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time

from dsnwatch.config import load_config
from dsnwatch.mailbox import Progress, ProgressCallback, ReportCallback, StateCallback
from dsnwatch.store import Store
from dsnwatch.tui.app import DsnwatchApp
from dsnwatch.tui.launch import sources_from_config
from dsnwatch.tui.sources import Sources, Watcher


def emit(source: str, state: str, detail: str = "") -> None:
    """One state line, stamped with the wall clock the fault run also uses."""
    line = {"t": time.time(), "source": source, "state": state, "detail": detail[:200]}
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


class ObservedApp(DsnwatchApp):
    """The console as it is, saying aloud each state it shows in its header."""

    def _follower_state(self, source: str, state: str, detail: str) -> None:
        super()._follower_state(source, state, detail)
        emit(source, state, detail)

    def _mailbox_state(self, state: str, detail: str) -> None:
        super()._mailbox_state(state, detail)
        emit("imap", state, detail)


def observed_sources() -> Sources:
    """The real sources of the lab, with the mailbox's sync progress also said aloud."""
    sources = sources_from_config(load_config(lab=True))
    factory = sources.watcher
    if factory is not None:
        real = factory

        def watcher(
            store: Store,
            on_report: ReportCallback,
            on_state: StateCallback,
            on_progress: ProgressCallback,
        ) -> Watcher:
            def progress(p: Progress) -> None:
                emit("imap-progress", "syncing", f"{p.done}/{p.total}")
                on_progress(p)

            return real(store, on_report, on_state, progress)

        sources.watcher = watcher
    return sources


async def run(stop: threading.Event) -> None:
    """Run the app until `stop` is set, then let its sources finish."""
    app = ObservedApp(observed_sources())
    async with app.run_test(headless=True, size=(120, 40)) as pilot:
        emit("console", "started")
        while not stop.is_set():
            await pilot.pause(0.2)
        app.shutdown_sources()
        await pilot.pause(0.5)
    emit("console", "stopped")


def main() -> int:
    stop = threading.Event()

    def wait_for_eof() -> None:
        for _line in sys.stdin:
            pass
        stop.set()

    threading.Thread(target=wait_for_eof, daemon=True).start()
    asyncio.run(run(stop))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
