"""`dsnwatch lab ...`: build, start, check, reset and remove the lab."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="lab",
    help="A mailcow-shaped mail stack on Docker, for the demo and the tests.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
engine_app = typer.Typer(
    name="engine",
    help="A private Docker engine, for machines without one (root on Linux).",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
app.add_typer(engine_app)

LabDir = Annotated[
    Path | None,
    typer.Option(
        "--dir", help="The lab's folder (default: .lab/ in the checkout, or DSNWATCH_LAB_DIR)."
    ),
]
PortBase = Annotated[
    int | None,
    typer.Option("--port-base", help="Ports are BASE+25, BASE+587, ... (default 24000)."),
]


class _Printer:
    """Progress on standard error: transient lines overwrite each other on a terminal."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.dirty = False
        self.last = 0.0
        self.start = time.monotonic()

    def __call__(self, message: str, transient: bool) -> None:
        stamp = f"[{time.monotonic() - self.start:5.0f}s]"
        if transient:
            if self.tty:
                sys.stderr.write(f"\r\x1b[K{stamp} {message[:110]}")
                self.dirty = True
            elif time.monotonic() - self.last > 5:
                sys.stderr.write(f"{stamp} {message}\n")
                self.last = time.monotonic()
            sys.stderr.flush()
            return
        if self.dirty:
            sys.stderr.write("\r\x1b[K")
            self.dirty = False
        sys.stderr.write(f"{stamp} {message}\n")
        sys.stderr.flush()

    def done(self) -> None:
        if self.dirty:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self.dirty = False


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def _errors() -> tuple[type[Exception], ...]:
    """The exceptions a lab command turns into a one-line error."""
    from docker.errors import DockerException
    from requests.exceptions import RequestException

    from dsnwatch.lab import EngineError, LabError

    return (LabError, EngineError, DockerException, RequestException, OSError)


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[:300] if text else type(exc).__name__


@app.command()
def up(
    lab_dir: LabDir = None,
    port_base: PortBase = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Build the image again.")] = False,
) -> None:
    """Build the image if needed, start the lab, wait for it, write lab.toml.

    Example: dsnwatch lab up
    """
    from dsnwatch.lab import Lab, LabSettings

    printer = _Printer()
    try:
        lab = Lab(LabSettings.load(lab_dir, port_base), progress=printer)
        result = lab.up(rebuild=rebuild)
        paths = lab.write_settings(also_user_config=True)
    except _errors() as exc:
        printer.done()
        raise _fail(_one_line(exc)) from None
    printer.done()
    s = lab.settings
    typer.echo(
        f"lab up in {result.total_seconds:.1f}s (image {result.build_seconds:.1f}s, "
        f"start {result.start_seconds:.1f}s) on {lab.engine.url}"
    )
    typer.echo(f"  IMAP    127.0.0.1:{s.port('imaps')} (TLS), :{s.port('imap')} (STARTTLS)")
    typer.echo(f"  SMTP    127.0.0.1:{s.port('submission')} (submission, STARTTLS + AUTH)")
    typer.echo(f"  CA      {s.ca_file}")
    typer.echo(f"  monitor {s.address('dsn-monitor')}, sender {s.address('alice')}")
    typer.echo(f"  settings: {', '.join(str(p) for p in paths)}")


@app.command()
def down(
    lab_dir: LabDir = None,
    volumes: Annotated[
        bool, typer.Option("--volumes", help="Also remove the mailboxes' volume.")
    ] = False,
) -> None:
    """Remove the lab's containers; the image stays, and the mailboxes unless --volumes.

    Example: dsnwatch lab down
    """
    from dsnwatch.lab import Lab, LabSettings

    try:
        removed = Lab(LabSettings.load(lab_dir)).down(volumes=volumes)
    except _errors() as exc:
        raise _fail(_one_line(exc)) from None
    typer.echo(f"removed {', '.join(removed)}" if removed else "no lab containers")


@app.command()
def status(
    lab_dir: LabDir = None,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object per service.")] = False,
) -> None:
    """Each service's state, Docker health and whether its ports answer; exit 1 if not all do.

    Example: dsnwatch lab status --json
    """
    from dsnwatch.lab import Lab, LabSettings
    from dsnwatch.lab.stack import format_status

    try:
        rows = Lab(LabSettings.load(lab_dir)).status()
    except _errors() as exc:
        raise _fail(_one_line(exc)) from None
    if json_out:
        for row in rows:
            typer.echo(
                json.dumps(
                    {
                        "service": row.service,
                        "container": row.container,
                        "state": row.state,
                        "health": row.health,
                        "ports": row.ports,
                        "ok": row.ok,
                    }
                )
            )
    else:
        typer.echo(format_status(rows))
    raise typer.Exit(0 if all(row.ok for row in rows) else 1)


@app.command()
def reset(lab_dir: LabDir = None) -> None:
    """Empty every lab mailbox and drop queued mail.

    Example: dsnwatch lab reset
    """
    from dsnwatch.lab import Lab, LabSettings

    try:
        Lab(LabSettings.load(lab_dir)).reset()
    except _errors() as exc:
        raise _fail(_one_line(exc)) from None
    typer.echo("mailboxes emptied, queues flushed")


@engine_app.command("start")
def engine_start(
    if_needed: Annotated[
        bool,
        typer.Option("--if-needed", help="Do nothing when an engine is already reachable."),
    ] = False,
) -> None:
    """Start a private dockerd (vfs storage, host network only) and wait for it.

    Example: dsnwatch lab engine start --if-needed
    """
    from dsnwatch.lab.engine import EngineError, find_engine, start_private, stop_hint

    try:
        if if_needed:
            try:
                found = find_engine()
                typer.echo(f"Docker engine reachable at {found.url}")
                return
            except EngineError:
                pass
        engine = start_private()
    except EngineError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"Docker engine up at {engine.url}; {stop_hint()}")


@engine_app.command("stop")
def engine_stop() -> None:
    """Stop the private dockerd started by `lab engine start`.

    Example: dsnwatch lab engine stop
    """
    from dsnwatch.lab.engine import EngineError, stop_private

    try:
        stopped = stop_private()
    except EngineError as exc:
        raise _fail(str(exc)) from None
    typer.echo("private Docker engine stopped" if stopped else "no private Docker engine running")
