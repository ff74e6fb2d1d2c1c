"""`dsnwatch install`, `uninstall` and `doctor`, registered on the main typer app.

Heavy imports (docker, boto3) happen inside the commands, so start-up stays fast.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from dsnwatch.text import clean

if TYPE_CHECKING:
    from dsnwatch.config import Config

ConfigOpt = Annotated[
    str | None, typer.Option("--config", help="TOML configuration file (default: see docs).")
]
MailboxOpt = Annotated[
    str | None, typer.Option("--mailbox", help="Central mailbox; overrides the config.")
]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"dsnwatch: error: {clean(message)}", err=True)
    return typer.Exit(1)


def _load(ctx: typer.Context, config: str | None, mailbox: str | None) -> Config:
    """The configuration: this command's --config, else the main one's (--config, --lab)."""
    from dsnwatch.config import ConfigError, load_config

    obj = ctx.obj or {}
    try:
        cfg = load_config(config or obj.get("config"), lab=bool(obj.get("lab")) and not config)
    except ConfigError as exc:
        typer.echo(f"dsnwatch: error: {clean(str(exc))}", err=True)
        raise typer.Exit(2) from None
    if mailbox:
        cfg.mailbox = mailbox
    return cfg


_ERRORS: tuple[type[Exception], ...] = (RuntimeError, ValueError, OSError)


def install(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan as a diff; change nothing.")
    ] = False,
    postfix_mode: Annotated[
        str,
        typer.Option(
            "--postfix-mode",
            help="full-copy (default: the bounce itself) or notify (postmaster copies, headers only).",
        ),
    ] = "",
    ses_identity: Annotated[
        list[str] | None,
        typer.Option("--ses-identity", help="Enable SES feedback forwarding (repeatable)."),
    ] = None,
    restart_dovecot: Annotated[
        bool,
        typer.Option("--restart-dovecot", help="Restart Dovecot instead of refreshing in place."),
    ] = False,
    mailbox: MailboxOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Copy every DSN to the central mailbox: Postfix, the Sieve rule, SES.

    Example: dsnwatch install --mailbox dsn-monitor@example.org --dry-run
    """
    from dsnwatch.install import carry_out, prepare_install
    from dsnwatch.runtime import make_runtime

    if postfix_mode not in ("", "notify", "full-copy"):
        typer.echo("dsnwatch: error: --postfix-mode is notify or full-copy", err=True)
        raise typer.Exit(2)
    cfg = _load(ctx, config, mailbox)
    try:
        if postfix_mode:
            cfg.postfix_mode = "full-copy" if postfix_mode == "full-copy" else "notify"
        # SES changes an AWS account: only when asked for on this command line.
        cfg.ses_identities = tuple(ses_identity or ())
        prepared = prepare_install(cfg, make_runtime(cfg), restart_dovecot=restart_dovecot)
        if dry_run or prepared.plan.empty:
            typer.echo(clean(prepared.plan.describe(), keep_newlines=True), nl=False)
            return
        carry_out(prepared, log=lambda m: typer.echo(clean(m)))
    except _ERRORS as exc:
        raise _fail(str(exc)) from exc
    typer.echo("Installed. Run `dsnwatch doctor` to check every link.")


def uninstall(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be removed; change nothing.")
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """Remove exactly what install added and restore the rest.

    Example: dsnwatch uninstall --dry-run
    """
    from dsnwatch.install import carry_out, prepare_uninstall
    from dsnwatch.runtime import make_runtime

    cfg = _load(ctx, config, None)
    try:
        prepared = prepare_uninstall(cfg, make_runtime(cfg))
        if prepared.plan.empty:
            typer.echo("Nothing to remove: dsnwatch has not changed this server.")
            return
        if dry_run:
            typer.echo(clean(prepared.plan.describe(), keep_newlines=True), nl=False)
            return
        carry_out(prepared, log=lambda m: typer.echo(clean(m)))
    except _ERRORS as exc:
        raise _fail(str(exc)) from exc
    typer.echo("Uninstalled.")


def doctor(
    ctx: typer.Context,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON array of checks.")] = False,
    mailbox: MailboxOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Check every link of the DSN pipeline; exit 1 when one fails.

    Example: dsnwatch doctor --json
    """
    from dsnwatch.install.doctor import Check, exit_code, run_doctor
    from dsnwatch.install.plan import layout_for
    from dsnwatch.runtime import make_runtime

    cfg = _load(ctx, config, mailbox)
    try:
        checks = run_doctor(make_runtime(cfg), layout_for(cfg), cfg)
    except _ERRORS as exc:
        checks = [Check("doctor", "FAIL", str(exc))]
    if json_out:
        typer.echo(json.dumps([c.to_dict() for c in checks]))
    else:
        for check in checks:
            typer.echo(clean(check.line()))
    raise typer.Exit(exit_code(checks))


def register(app: typer.Typer) -> None:
    """Add the three commands to the main app."""
    app.command()(install)
    app.command()(uninstall)
    app.command()(doctor)
