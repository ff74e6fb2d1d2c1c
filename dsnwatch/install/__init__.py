"""The installer: plan, diff, apply, verify and roll back the DSN pipeline's configuration.

The command line and the console both go through `prepare_install`/`prepare_uninstall`
and `apply_plan`, so what the console shows before it asks is what gets applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dsnwatch.config import Config
from dsnwatch.install.apply import InstallError, apply_plan, check_own_sieve, require_mailbox
from dsnwatch.install.plan import InstallOptions, Layout, Plan, build_plan, layout_for
from dsnwatch.install.sieve import check_address
from dsnwatch.runtime.base import Runtime


@dataclass(slots=True)
class Prepared:
    """A plan and everything needed to apply it."""

    runtime: Runtime
    layout: Layout
    plan: Plan
    ses_client: Any = None


def options_from(cfg: Config, restart_dovecot: bool = False) -> InstallOptions:
    """Install options from the configuration (command-line flags already merged in)."""
    if not cfg.mailbox:
        raise InstallError(
            "no central mailbox configured; pass --mailbox or set mailbox in the config"
        )
    return InstallOptions(
        mailbox=check_address(cfg.mailbox),
        notify_classes=cfg.notify_classes,
        postfix_mode=cfg.postfix_mode,
        restart_dovecot=restart_dovecot,
        ses_identities=cfg.ses_identities,
    )


def prepare_install(
    cfg: Config, runtime: Runtime, restart_dovecot: bool = False, ses_client: Any = None
) -> Prepared:
    """Check the mailbox and build the install plan; changes nothing on the server.

    When the plan touches the Sieve rule, the operator's own script must compile as it
    is (sievec on a scratch copy), or nothing more is done.
    """
    opts = options_from(cfg, restart_dovecot)
    layout = layout_for(cfg)
    require_mailbox(runtime, layout, opts.mailbox)
    plan = build_plan(runtime, layout, opts)
    if any(c.service == "dovecot" and c.after is not None for c in plan.changes):
        check_own_sieve(
            runtime, layout.sieve_before, runtime.read_file("dovecot", layout.sieve_before)
        )
    plan.ses_identities = []
    if opts.ses_identities:
        from dsnwatch.install import ses

        ses_client = ses_client or ses.make_client()
        # Only identities still off are part of the plan, so a second install is a no-op.
        plan.ses_identities = [
            i for i in opts.ses_identities if not ses.forwarding_status(ses_client, i).forwarding
        ]
    return Prepared(runtime, layout, plan, ses_client)


def prepare_uninstall(cfg: Config, runtime: Runtime) -> Prepared:
    """The plan that takes out every managed block and file; reads only."""
    layout = layout_for(cfg)
    return Prepared(runtime, layout, build_plan(runtime, layout, None))


def carry_out(prepared: Prepared, log: Any = print) -> None:
    """Apply the files and actions, then SES (which has nothing to roll back)."""
    apply_plan(prepared.runtime, prepared.layout, prepared.plan, log)
    if prepared.plan.ses_identities:
        from dsnwatch.install import ses

        for identity in prepared.plan.ses_identities:
            ses.enable_forwarding(prepared.ses_client, identity)
            log(f"SES feedback forwarding on for {identity}")


__all__ = [
    "InstallError",
    "Prepared",
    "carry_out",
    "options_from",
    "prepare_install",
    "prepare_uninstall",
]
