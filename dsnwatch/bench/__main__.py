"""`make bench`: every benchmark, with its peers in the same run; writes docs/benchmarks.md.

Usage: python -m dsnwatch.bench [--corpus PATH] [--no-lab] [--out docs/benchmarks.md]

The reader and log-reader figures need nothing; the Docker and mailbox figures
need the lab (`make lab`), and are left out, with the reason, when it is not up.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

from dsnwatch.bench import logs, reader, scale
from dsnwatch.bench.common import Figure, table
from dsnwatch.tui import bench as tui_bench


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.partition(":")[2].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def cpu_ticks() -> tuple[int, int] | None:
    """(stolen, total) CPU ticks of the machine so far, from /proc/stat; None elsewhere."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    if fields[0] != "cpu" or len(fields) < 9:
        return None
    ticks = [int(f) for f in fields[1:9]]  # user .. steal; guest time is inside user
    return ticks[7], sum(ticks)


def stolen_share(before: tuple[int, int] | None, after: tuple[int, int] | None) -> str:
    """The share of CPU time the host took from this virtual machine between two readings."""
    if before is None or after is None or after[1] <= before[1]:
        return ""
    share = (after[0] - before[0]) / (after[1] - before[1])
    return f" The host took {share:.1%} of this machine's CPU time during the run (steal)."


def main(argv: list[str] | None = None) -> int:
    """Run every benchmark and print the table; 0 when it ran, whatever the figures."""
    parser = argparse.ArgumentParser(prog="python -m dsnwatch.bench")
    parser.add_argument("--corpus", default="../shared/dsn-corpus")
    parser.add_argument("--no-lab", action="store_true", help="skip what needs the lab")
    parser.add_argument("--out", default="docs/benchmarks.md")
    parser.add_argument(
        "--scale",
        default=",".join(str(n) for n in scale.SIZES),
        help="mailbox sizes of the scaling series, comma-separated ('' to skip it)",
    )
    args = parser.parse_args(argv)
    corpus = Path(args.corpus)
    figures: list[Figure] = []
    notes: list[str] = []

    def step(name: str) -> None:
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)

    ticks_before = cpu_ticks()

    step("DSN reader")
    try:
        figures += reader.run(corpus)
    except FileNotFoundError as exc:
        notes.append(f"DSN reader not measured: {exc}")

    lab_cfg = None
    engine = None
    if not args.no_lab:
        from dsnwatch.config import ConfigError, load_config
        from dsnwatch.lab import EngineError, find_engine

        try:
            engine = find_engine()
            lab_cfg = load_config(lab=True)
        except (EngineError, ConfigError) as exc:
            notes.append(f"lab figures not measured: {exc}")
    image = None
    dovecot = None
    if engine is not None and lab_cfg is not None:
        from dsnwatch.runtime.docker import DockerRuntime

        runtime = DockerRuntime(lab_cfg.compose_project, base_url=lab_cfg.docker_host)
        postfix = runtime.container("postfix")
        dovecot = runtime.container("dovecot")
        image = postfix.image.tags[0] if postfix.image.tags else postfix.image.id
    step("log readers and the Docker log stream")
    figures += logs.run(
        engine.client if engine else None, image, lab_cfg.docker_host if lab_cfg else ""
    )
    if lab_cfg is not None and dovecot is not None:
        from dsnwatch.bench import mailbox

        step("mailbox: 20,000 DSNs against mbsync, and delivery latency")
        try:
            figures += mailbox.run(lab_cfg, corpus, dovecot)
        except Exception as exc:  # a bench that cannot run says why and the rest goes on
            notes.append(f"mailbox figures not measured: {exc}")
    scaling: list[scale.Row] = []
    sizes = tuple(int(n) for n in args.scale.replace("_", "").split(",") if n.strip())
    if lab_cfg is not None and dovecot is not None and sizes:
        step(f"mailbox scaling: first sync of {', '.join(f'{n:,}' for n in sizes)} reports")
        try:
            scaling = scale.run(lab_cfg.imap_settings(), corpus, dovecot, sizes)
        except Exception as exc:  # a bench that cannot run says why and the rest goes on
            notes.append(f"mailbox scaling not measured: {exc}")
    step("console: first paint, key latency under a log flood, memory")
    figures += tui_bench.run(lab=lab_cfg is not None)
    step("console: key latency, CPU and memory as the log rate grows")
    series: list[dict[str, float]] = []
    try:
        series = tui_bench.scaling()
    except Exception as exc:  # the table above is still written
        notes.append(f"console scaling not measured: {exc}")

    lines = [
        "# Benchmarks",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on {_machine()}.",
        "Rerun with `make bench` (the lab figures need `make lab` first). Ratios are",
        "dsnwatch's figure over the peer's in the same run: above 1 is better for rates",
        "(messages/s, lines/s), below 1 is better for times (seconds). On a shared virtual",
        "machine the absolute figures move with the load of its neighbours (by up to half",
        "between runs minutes apart); the ratios, taken in the same run, move much less.",
        "The readers run as `make install` and `pipx install` leave them, compiled with mypyc;",
        "the rows on the .py sources time the same code where nothing was compiled.",
        stolen_share(ticks_before, cpu_ticks()).strip(),
        "",
        *table(figures),
        "",
        *[f"- {note}" for note in notes],
    ]
    if series:
        lines += [
            "",
            "## The console as the log rate grows",
            "",
            "Each rate in a fresh process: the app headless at 80x24 over the synthetic follower",
            "(through the same queue, pump, correlator and store as the real one), 20 key presses",
            "after a second of flood. CPU is the whole process's, the follower's reading included;",
            "memory is resident at the end. When the machine cannot keep up, the followers wait",
            "(the shown rate falls short of the offered one) instead of the console growing.",
            "",
            *tui_bench.scaling_table(series),
        ]
    if scaling:
        lines += [
            "",
            "## First sync and mailbox size",
            "",
            "A first sync of the central mailbox into an empty store, at each size, against",
            "mbsync downloading the same folder in the same run. Peak memory is each",
            "process's resident maximum (VmHWM; mbsync's sampled every 50 ms); dsnwatch",
            "reads a sync of 1,000 reports or more in one worker process per core.",
            "",
            *scale.table(scaling),
        ]
    text = "\n".join(lines).rstrip() + "\n"
    print(text)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        print(f"written to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
