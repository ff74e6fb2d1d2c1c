"""The command line: `dsnwatch COMMAND`.

Start-up must stay fast, so every command imports what it needs inside its body.
"""

from __future__ import annotations

from typing import Annotated

import typer

from dsnwatch import __version__

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
) -> None:
    """Every delivery failure of a mailcow server, in one place, live."""
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())


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


from dsnwatch.lab.cli import app as _lab_app  # noqa: E402

app.add_typer(_lab_app, name="lab")


def main() -> None:
    """Entry point of the console script."""
    app()


__all__ = ["app", "main"]
