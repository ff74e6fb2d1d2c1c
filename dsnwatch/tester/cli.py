"""`dsnwatch test local|remote|ses|complaint|all`, registered on the main typer app."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from dsnwatch.text import clean

if TYPE_CHECKING:
    from dsnwatch.config import Config
    from dsnwatch.tester.model import TestResult

_MARK = {"passed": "ok", "failed": "FAIL", "skipped": "skip", "unreached": "-", "pending": "..."}


def format_result(result: TestResult) -> str:
    """A test's verdict and every stage with its time, as plain text."""
    spec = result.spec
    duration = result.duration
    took = f"{duration:.1f}s" if duration is not None else "-"
    lines = [
        f"{spec.kind:<9} {'PASS' if result.passed else 'FAIL'}  {took}  "
        f"{clean(spec.recipient)}  token {spec.token}"
    ]
    for stage in result.stages:
        at = f"+{stage.at:.2f}s" if stage.at is not None else ""
        lines.append(f"  {_MARK[stage.state]:<4} {stage.name:<28} {at:>9}  {clean(stage.detail)}")
    if not result.passed:
        lines.append(f"  {clean(result.verdict)}")
    return "\n".join(lines)


def _load(ctx: typer.Context, config: str | None) -> Config:
    from dsnwatch.config import ConfigError, load_config

    obj = ctx.obj or {}
    try:
        return load_config(config or obj.get("config"), lab=bool(obj.get("lab")))
    except ConfigError as exc:
        typer.echo(f"dsnwatch: error: {clean(str(exc))}", err=True)
        raise typer.Exit(2) from None


def test(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="local, remote, ses, complaint or all.")],
    wait: Annotated[
        float, typer.Option("--wait", help="Seconds to wait for every stage.", min=1)
    ] = 120.0,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object: every test.")] = False,
    to: Annotated[
        str | None,
        typer.Option("--to", help="Another recipient; it must follow the same rules."),
    ] = None,
    config: Annotated[str | None, typer.Option("--config", help="TOML configuration file.")] = None,
) -> None:
    """Send test bounces and follow each one to the central mailbox; exit 1 if a stage fails.

    Example: dsnwatch test all --wait 120 --json
    """
    from dsnwatch.store import StoreError
    from dsnwatch.tester.run import TestError, run_tests

    cfg = _load(ctx, config)
    live = not json_out and sys.stderr.isatty()
    reported: dict[str, set[str]] = {}

    def progress(result: TestResult) -> None:
        done = reported.setdefault(result.spec.token, set())
        for stage in result.stages:
            if stage.state not in ("pending", "unreached") and stage.id not in done:
                done.add(stage.id)
                typer.echo(
                    f"{result.spec.kind}: {stage.name} {_MARK[stage.state]}"
                    f" {clean(stage.detail)[:100]}",
                    err=True,
                )

    try:
        results = run_tests(cfg, [kind], wait=wait, to=to, on_update=progress if live else None)
    except (TestError, StoreError) as exc:
        typer.echo(f"dsnwatch: error: {clean(str(exc))}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    passed = all(r.passed for r in results)
    if json_out:
        typer.echo(json.dumps({"passed": passed, "tests": [r.to_dict() for r in results]}))
    else:
        typer.echo("\n".join(format_result(r) for r in results))
    raise typer.Exit(0 if passed else 1)


def register(app: typer.Typer) -> None:
    """Add `dsnwatch test` to the main app."""
    app.command("test")(test)
