"""The observers of the fault run: child processes whose state lines are timed here.

The console (headless) and `dsnwatch tail --json` run as child processes, as an
operator would run them; a thread reads each one's standard output, stamps the
state lines and keeps the events, so that recovery times and line counts come
from what the observer itself said.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# States in which a source is working; anything else is a disruption.
GOOD = frozenset({"following", "idle", "polling", "syncing", "started"})


@dataclass(slots=True, frozen=True)
class Stamped:
    """A state an observer reported, with when it was read."""

    t: float
    source: str
    state: str
    detail: str = ""


@dataclass(slots=True)
class Recovery:
    """How one observer came through one fault."""

    observer: str
    fault: str
    disturbed: list[str] = field(default_factory=list)  # sources that left a good state
    recovered: bool = False
    seconds: float | None = None  # fault to the last disturbed source back in a good state
    detail: str = ""


class Observer:
    """A child process that prints JSON lines: states (and, for tail, events)."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log = log
        self.states: list[Stamped] = []
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        err = self.log.open("a", encoding="utf-8")
        self._proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            env=self.env,
            text=True,
            bufsize=1,
        )
        err.close()
        self._reader = threading.Thread(target=self._read, name=f"observe-{self.name}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            now = time.time()
            try:
                item = json.loads(line)
            except ValueError:
                continue
            with self._lock:
                if item.get("type", "state") == "state":
                    self.states.append(
                        Stamped(
                            float(item.get("t", now)),
                            str(item.get("source", "")),
                            str(item.get("state", "")),
                            str(item.get("detail", "")),
                        )
                    )
                elif item.get("type") == "event":
                    self.events.append(item)

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self, timeout: float = 20.0) -> int | None:
        """Close its input (the console's cue to end), then terminate it if it lingers."""
        proc = self._proc
        if proc is None:
            return None
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        if self.name.startswith("tail"):
            # tail stops cleanly on SIGTERM, which (unlike SIGINT) a run in the background
            # of a script does not ignore.
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        if self._reader is not None:
            self._reader.join(5)
        return proc.returncode

    def snapshot(self) -> list[Stamped]:
        with self._lock:
            return list(self.states)

    def latest(self) -> dict[str, Stamped]:
        """Each source's most recent state."""
        out: dict[str, Stamped] = {}
        for item in self.snapshot():
            out[item.source] = item
        return out

    def ready(self, sources: tuple[str, ...]) -> bool:
        """Every one of `sources` is in a good state now."""
        latest = self.latest()
        return all(s in latest and latest[s].state in GOOD for s in sources)

    def recovery(self, fault: str, since: float, sources: tuple[str, ...]) -> Recovery:
        """What happened to `sources` since a fault began, as this observer told it."""
        result = Recovery(self.name, fault)
        back: list[float] = []
        pending: list[str] = []
        for source in sources:
            after = [s for s in self.snapshot() if s.source == source and s.t >= since]
            if not any(s.state not in GOOD for s in after):
                continue
            result.disturbed.append(source)
            last_bad = max(i for i, s in enumerate(after) if s.state not in GOOD)
            good = [s for s in after[last_bad + 1 :] if s.state in GOOD]
            if good:
                back.append(good[0].t)
            else:
                pending.append(source)
        latest = self.latest()
        down = [s for s in sources if s not in latest or latest[s].state not in GOOD]
        result.recovered = not pending and not down
        if back and result.recovered:
            result.seconds = max(back) - since
        if pending or down:
            result.detail = "not back: " + ", ".join(sorted(set(pending + down)))
        elif not result.disturbed:
            result.detail = "not disturbed"
        return result


def python_argv(*args: str) -> list[str]:
    """This interpreter running dsnwatch (the same install as the fault run)."""
    return [sys.executable, *args]


def child_env(store: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The fault run's environment with a store of the child's own."""
    env = dict(os.environ)
    env["DSNWATCH_STORE"] = str(store)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env
