"""The command line: `dsnwatch COMMAND`.

Start-up must stay fast, so every command imports what it needs inside its body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from dsnwatch import __version__

if TYPE_CHECKING:
    from dsnwatch.config import Config

app = typer.Typer(
    name="dsnwatch",
    help="Every delivery failure of a mailcow server, in one place, live.",
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dsnwatch {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    config: Annotated[str | None, typer.Option("--config", help="TOML configuration file.")] = None,
    lab: Annotated[
        bool, typer.Option("--lab", help="Use the settings `dsnwatch lab up` wrote.")
    ] = False,
) -> None:
    """Every delivery failure of a mailcow server, in one place, live.

    With no command, opens the console (`dsnwatch --lab` for the lab).
    """
    ctx.obj = {"config": config, "lab": lab}
    if ctx.invoked_subcommand is None:
        from dsnwatch.tui.launch import run_console

        raise typer.Exit(run_console(_settings(ctx)))


def _settings(ctx: typer.Context) -> Config:
    from dsnwatch.live_cmd import UsageError, load

    obj = ctx.obj or {}
    try:
        return load(obj.get("config"), bool(obj.get("lab")))
    except UsageError as exc:
        typer.echo(f"dsnwatch: {exc}", err=True)
        raise typer.Exit(2) from None


def _run(call: Callable[[], int]) -> None:
    from dsnwatch.live_cmd import UsageError
    from dsnwatch.store import StoreError

    try:
        code = call()
    except (UsageError, StoreError) as exc:
        typer.echo(f"dsnwatch: {exc}", err=True)
        raise typer.Exit(2) from None
    raise typer.Exit(code)


@app.command()
def tail(
    ctx: typer.Context,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    since: Annotated[
        str | None, typer.Option("--since", help="Start this far back, e.g. 10m, 2h.")
    ] = None,
    service: Annotated[
        str | None, typer.Option("--service", help="dovecot, postfix or both.")
    ] = None,
    file: Annotated[
        list[str] | None,
        typer.Option("--file", help="Follow a host log file instead of the containers."),
    ] = None,
    journal: Annotated[
        bool, typer.Option("--journal", help="Follow journalctl (a systemd host).")
    ] = False,
) -> None:
    """Follow the Dovecot and Postfix logs and print typed events and alerts.

    Ctrl-C or SIGTERM stops it once what it printed is stored.

    Example: dsnwatch tail --since 10m --service dovecot
    """
    from dsnwatch.live_cmd import run_tail

    cfg = _settings(ctx)
    _run(
        lambda: run_tail(
            cfg, json_out=json_out, since=since, service=service, files=file or [], journal=journal
        )
    )


@app.command("list")
def list_reports(
    ctx: typer.Context,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    csv_out: Annotated[bool, typer.Option("--csv", help="CSV with a header line.")] = False,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Reports written this recently (their Date), e.g. 7d, 24h."),
    ] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Only this reason.")] = None,
    domain: Annotated[
        str | None, typer.Option("--recipient-domain", help="Only this recipient domain.")
    ] = None,
    hard: Annotated[bool, typer.Option("--hard", help="Only hard bounces.")] = False,
    no_sync: Annotated[
        bool, typer.Option("--no-sync", help="Show the store without reading the mailbox.")
    ] = False,
) -> None:
    """Read new reports from the central mailbox, then list the stored ones.

    Example: dsnwatch list --since 7d --hard --csv > hard-bounces.csv
    """
    from dsnwatch.live_cmd import run_list

    cfg = _settings(ctx)
    fmt = "json" if json_out else "csv" if csv_out else "table"
    _run(
        lambda: run_list(
            cfg, fmt=fmt, since=since, reason=reason, domain=domain, hard=hard, sync=not no_sync
        )
    )


@app.command()
def export(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="csv (reports) or json (everything).")] = (
        "json"
    ),
    since: Annotated[
        str | None,
        typer.Option("--since", help="Rows this recent (reports by their Date), e.g. 30d."),
    ] = None,
) -> None:
    """Write the audit trail (reports, log events, alerts, test runs).

    Example: dsnwatch export --since 30d --format csv > dsn-audit.csv
    """
    from dsnwatch.live_cmd import run_export

    cfg = _settings(ctx)
    _run(lambda: run_export(cfg, fmt=fmt, since=since))


config_app = typer.Typer(help="The configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@config_app.command("show")
def config_show(
    ctx: typer.Context,
    json_out: Annotated[bool, typer.Option("--json", help="As JSON.")] = False,
) -> None:
    """Print the effective settings, passwords masked.

    Example: DSNWATCH_IMAP_HOST=mail.example.org dsnwatch config show
    """
    from dsnwatch.live_cmd import run_config_show

    cfg = _settings(ctx)
    _run(lambda: run_config_show(cfg, json_out=json_out))


@app.command()
def parse(
    paths: Annotated[
        list[str],
        typer.Argument(help=".eml files, folders, Maildirs, mbox files, or - for standard input."),
    ],
    json_out: Annotated[
        bool, typer.Option("--json", help="One JSON object per message per line.")
    ] = False,
) -> None:
    """Read bounce messages and say who failed, why, and whether it is hard.

    Example: dsnwatch parse ~/Maildir/.Bounces --json
    """
    from dsnwatch.parse_cmd import run_parse

    raise typer.Exit(run_parse(paths, json_out=json_out))


from dsnwatch.install.cli import register as _register_install  # noqa: E402
from dsnwatch.lab.cli import app as _lab_app  # noqa: E402

_register_install(app)

from dsnwatch.tester.cli import register as _register_tester  # noqa: E402

_register_tester(app)
app.add_typer(_lab_app, name="lab")


def main() -> None:
    """Entry point of the console script."""
    app()


__all__ = ["app", "main"]
