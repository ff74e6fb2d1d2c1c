"""Console figures: time to first paint, key latency under a log flood, memory after a million lines.

    python -m dsnwatch.tui.bench [--rate 50000] [--lines 1000000] [--lab] [--scaling]

Runs the real app headless over a synthetic follower that writes mailcow-shaped
lines at a fixed rate through the same queue, pump, correlator and store as the
real one. `--lab` also times the first paint against the lab's configuration.
`--scaling` adds the series over log rates (5,000 to 100,000 lines a second): key
latency, CPU and resident memory at each rate, each rate in a fresh process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from dsnwatch.bench.common import Figure
from dsnwatch.logs.follow import LogQueue
from dsnwatch.logs.readers import read_line
from dsnwatch.store import Store
from dsnwatch.tui.sources import Sources

_TEMPLATES = (
    "2026-12-03T16:00:{s:02d}.{n:09d}Z Dec  3 16:00:{s:02d} h postfix/smtp[4{s}]: {q}: to=<u{n}@remote.test>,"
    " relay=mx.remote.test[198.51.100.7]:25, delay=0.6, dsn=5.1.1, status=bounced (550 5.1.1 user unknown)",
    "2026-12-03T16:00:{s:02d}.{n:09d}Z Dec  3 16:00:{s:02d} h dovecot: lmtp(a@example.org)<1><s{n}>: sieve:"
    " msgid=<m{n}@example.org>: redirect action: forwarded to <dsn-monitor@example.org>",
    "2026-12-03T16:00:{s:02d}.{n:09d}Z Dec  3 16:00:{s:02d} h postfix/qmgr[9]: {q}: removed",
)


SCALING_RATES = (5_000, 20_000, 50_000, 100_000)


def rss_mb() -> float:
    """The process's resident memory now, in MB (Linux), else its peak."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


class Flood:
    """A follower that writes `rate` lines a second until `total` lines or stopped."""

    def __init__(self, queue: LogQueue, rate: int, total: int) -> None:
        self.queue = queue
        self.rate = rate
        self.total = total
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="flood", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        batch = max(1, self.rate // 100)  # a hundred bursts a second
        started = time.perf_counter()
        while not self._stop.is_set() and self.sent < self.total:
            for _ in range(min(batch, self.total - self.sent)):
                n = self.sent
                line = _TEMPLATES[n % 3].format(s=(n // 1000) % 60, n=n, q=f"{n:010X}")
                self.queue.put(read_line(line))
                self.sent += 1
            ahead = self.sent / self.rate - (time.perf_counter() - started)
            if ahead > 0:
                time.sleep(ahead)


def flood_sources(tmp: Path, rate: int, total: int, holder: dict[str, Flood]) -> Sources:
    def followers(queue: LogQueue) -> Flood:
        flood = Flood(queue, rate, total)
        holder["flood"] = flood
        return flood

    return Sources(
        server="bench",
        open_store=lambda: Store(tmp / "bench.sqlite"),
        monitor="dsn-monitor@example.org",
        followers=followers,
        watcher=None,
    )


async def first_paint(sources: Sources) -> float:
    """Seconds from creating the app to its first screen drawn, headless.

    The sources start after that first screen (their connections then fill it in),
    so this is what a person sees first, not the time until every source has answered.
    """
    from dsnwatch.tui.app import DsnwatchApp

    started = time.perf_counter()
    app = DsnwatchApp(sources)
    painted = asyncio.Event()
    async with app.run_test(size=(80, 24)):
        app.call_after_refresh(painted.set)
        await painted.wait()
        elapsed = time.perf_counter() - started
        app.shutdown_sources()
    return elapsed


async def key_latency(tmp: Path, rate: int, presses: int) -> dict[str, float]:
    """Milliseconds from a key press to its effect while `rate` lines a second arrive."""
    from dsnwatch.tui.app import DsnwatchApp

    holder: dict[str, Flood] = {}
    app = DsnwatchApp(flood_sources(tmp, rate, 10**9, holder))
    timings: list[float] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(1.0)  # the flood is running
        view = app.log_view
        start_lines = view.received
        start_time = time.perf_counter()
        start_cpu = time.process_time()
        for _ in range(presses):
            before = view.following
            t0 = time.perf_counter()
            # As a terminal would send it: one key event into the app's queue.
            app.simulate_key("space")
            while view.following == before:
                await asyncio.sleep(0.001)
            app.screen._compositor.render_update(full=True)  # the repaint the key causes
            timings.append((time.perf_counter() - t0) * 1000)
            await asyncio.sleep(0.1)
        wall = time.perf_counter() - start_time
        shown_rate = (view.received - start_lines) / wall
        cores = (time.process_time() - start_cpu) / wall
        resident = rss_mb()
        holder["flood"].stop()
        app.shutdown_sources()
    timings.sort()
    return {
        "median_ms": statistics.median(timings),
        "p95_ms": timings[int(len(timings) * 0.95) - 1],
        "max_ms": timings[-1],
        "lines_per_s_shown": shown_rate,
        "cpu_cores": cores,  # the whole process: the synthetic follower's reading included
        "rss_mb": resident,
    }


def at_rate(rate: int, presses: int) -> dict[str, float]:
    """`key_latency` at one rate in a fresh process, so no rate inherits another's memory."""
    command = [sys.executable, "-m", "dsnwatch.tui.bench", "--one-rate", str(rate)]
    done = subprocess.run(
        [*command, "--presses", str(presses)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"the run at {rate:,} lines/s failed: {why}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def scaling(rates: tuple[int, ...] = SCALING_RATES, presses: int = 20) -> list[dict[str, float]]:
    """Key latency, CPU and memory at each offered log rate."""
    return [{"rate": rate, **at_rate(rate, presses)} for rate in rates]


def scaling_table(rows: list[dict[str, float]]) -> list[str]:
    """The series as Markdown table lines."""
    lines = [
        "| log lines/s offered | lines/s shown | key to effect, median | p95 | max"
        " | CPU (cores) | resident memory |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['rate']:,.0f} | {row['lines_per_s_shown']:,.0f} | {row['median_ms']:.0f} ms"
            f" | {row['p95_ms']:.0f} ms | {row['max_ms']:.0f} ms | {row['cpu_cores']:.2f}"
            f" | {row['rss_mb']:.0f} MB |"
        )
    return lines


async def memory_after(tmp: Path, lines: int, rate: int) -> dict[str, float]:
    """Resident memory once `lines` lines have passed through the console."""
    from dsnwatch.tui.app import DsnwatchApp

    before = rss_mb()
    holder: dict[str, Flood] = {}
    app = DsnwatchApp(flood_sources(tmp, rate, lines, holder))
    started = time.perf_counter()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.log_view
        while view.received < lines:
            await pilot.pause(0.2)
        elapsed = time.perf_counter() - started
        after = rss_mb()
        app.shutdown_sources()
    return {"rss_mb": after, "rss_growth_mb": after - before, "seconds": elapsed}


def run(lab: bool = False, rate: int = 50_000, lines: int = 1_000_000) -> list[Figure]:
    """The console's figures for `make bench`."""
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        if lab:
            from dsnwatch.config import load_config
            from dsnwatch.tui.launch import sources_from_config

            paint = asyncio.run(first_paint(sources_from_config(load_config(lab=True))))
            where = "against the lab"
        else:
            quiet = Sources(server="bench", open_store=lambda: Store(tmp / "paint.sqlite"))
            paint = asyncio.run(first_paint(quiet))
            where = "no sources"
        figures.append(
            Figure(
                "console",
                f"time to first paint, headless ({where})",
                paint,
                "s",
                target="< 1 s",
                met=paint < 1.0,
            )
        )
        keys: dict[str, Any] = asyncio.run(key_latency(tmp, rate, 20))
        figures.append(
            Figure(
                "console",
                f"key press to effect at {rate:,} log lines/s (p95; median"
                f" {keys['median_ms']:.0f} ms)",
                keys["p95_ms"] / 1000,
                "s",
                target="< 0.1 s",
                met=keys["p95_ms"] < 100,
            )
        )
        memory = asyncio.run(memory_after(tmp, lines, rate))
        figures.append(
            Figure(
                "console",
                f"resident memory after {lines:,} log lines",
                memory["rss_mb"],
                "MB",
                target="< 200 MB",
                met=memory["rss_mb"] < 200,
            )
        )
    return figures


def main(argv: list[str] | None = None) -> int:
    """Print the console's figures."""
    parser = argparse.ArgumentParser(prog="python -m dsnwatch.tui.bench", description=__doc__)
    parser.add_argument("--rate", type=int, default=50_000, help="log lines per second")
    parser.add_argument("--lines", type=int, default=1_000_000, help="lines for the memory figure")
    parser.add_argument("--presses", type=int, default=20)
    parser.add_argument("--lab", action="store_true", help="also time first paint on the lab")
    parser.add_argument("--scaling", action="store_true", help="also the series over log rates")
    parser.add_argument("--one-rate", type=int, help=argparse.SUPPRESS)  # one row, as JSON
    args = parser.parse_args(argv)
    if args.one_rate:
        with tempfile.TemporaryDirectory() as name:
            row = asyncio.run(key_latency(Path(name), args.one_rate, args.presses))
        print(json.dumps(row))
        return 0
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        quiet = Sources(server="bench", open_store=lambda: Store(tmp / "paint.sqlite"))
        paint = asyncio.run(first_paint(quiet))
        print(f"first paint (no sources, headless):       {paint * 1000:7.0f} ms")
        if args.lab:
            from dsnwatch.config import load_config
            from dsnwatch.tui.launch import sources_from_config

            lab = asyncio.run(first_paint(sources_from_config(load_config(lab=True))))
            print(f"first paint (the lab's sources):          {lab * 1000:7.0f} ms")
        keys: dict[str, Any] = asyncio.run(key_latency(tmp, args.rate, args.presses))
        print(
            f"key to effect at {args.rate:,} lines/s:      median {keys['median_ms']:.0f} ms,"
            f" p95 {keys['p95_ms']:.0f} ms, max {keys['max_ms']:.0f} ms"
            f" ({keys['lines_per_s_shown']:,.0f} lines/s reached the view)"
        )
        memory = asyncio.run(memory_after(tmp, args.lines, args.rate))
        print(
            f"memory after {args.lines:,} lines:        {memory['rss_mb']:7.0f} MB resident"
            f" (+{memory['rss_growth_mb']:.0f} MB; {memory['seconds']:.0f} s to pass them)"
        )
    if args.scaling:
        print("\n".join(scaling_table(scaling(presses=args.presses))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
