"""The install plan: every file dsnwatch would change, and what it would run afterwards.

Building a plan only reads; the plan renders as a unified diff for `--dry-run` and for
the console's confirmation, and `apply` carries it out.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from dsnwatch.config import Config, PostfixMode
from dsnwatch.install import postfix, sieve
from dsnwatch.install.blocks import decode, encode, remove_block
from dsnwatch.runtime.base import Runtime, Service


@dataclass(frozen=True, slots=True)
class Layout:
    """Where the files are, as the services see them."""

    mailcow: bool
    postfix_dir: str
    settings_file: str
    sieve_before: str
    sieve_before_active: str
    sieve_after: str = ""
    sieve_after_active: str = ""

    @property
    def main_cf(self) -> str:
        return f"{self.postfix_dir}/main.cf"

    @property
    def master_cf(self) -> str:
        return f"{self.postfix_dir}/master.cf"


MAILCOW = Layout(
    mailcow=True,
    postfix_dir="/opt/postfix/conf",
    settings_file="/opt/postfix/conf/extra.cf",
    sieve_before="/etc/dovecot/global_sieve_before",
    sieve_before_active="/var/vmail/sieve/global_sieve_before.sieve",
    sieve_after="/etc/dovecot/global_sieve_after",
    sieve_after_active="/var/vmail/sieve/global_sieve_after.sieve",
)


def layout_for(cfg: Config) -> Layout:
    """mailcow's layout for the Docker runtime, the configured paths on a host."""
    if cfg.runtime == "docker":
        return MAILCOW
    pdir = cfg.host.postfix_config_dir.rstrip("/")
    return Layout(
        mailcow=False,
        postfix_dir=pdir,
        settings_file=f"{pdir}/main.cf",
        sieve_before=cfg.host.sieve_before,
        sieve_before_active=cfg.host.sieve_before,
        sieve_after=cfg.host.sieve_after,
        sieve_after_active=cfg.host.sieve_after,
    )


@dataclass(slots=True)
class FileChange:
    """One file's content before and after; `after` None deletes the file."""

    service: Service
    path: str
    before: bytes | None
    after: bytes | None
    why: str
    compile_sieve: bool = False

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def diff(self) -> str:
        """A unified diff of the change (`/dev/null` for a created or deleted file)."""
        old = decode(self.before).splitlines(keepends=True)
        new = decode(self.after).splitlines(keepends=True)
        lines = difflib.unified_diff(
            old,
            new,
            fromfile=f"{self.service}:{self.path}" if self.before is not None else "/dev/null",
            tofile=f"{self.service}:{self.path}" if self.after is not None else "/dev/null",
        )
        out = []
        for line in lines:
            out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
        return "".join(out)


@dataclass(slots=True)
class Plan:
    """All changes of one install or uninstall, and the actions that activate them."""

    changes: list[FileChange] = field(default_factory=list)
    restart_postfix: bool = False
    reload_postfix: bool = False
    restart_dovecot: bool = False
    ses_identities: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.changes
            or self.restart_postfix
            or self.reload_postfix
            or self.restart_dovecot
            or self.ses_identities
        )

    def add(self, change: FileChange) -> None:
        """Keep the change only if it changes something."""
        if change.changed:
            self.changes.append(change)

    def describe(self) -> str:
        """The plan as text: a diff of every file, then the actions."""
        if self.empty:
            return "Nothing to change: the DSN pipeline is already installed as configured.\n"
        parts = [f"# {c.why}\n{c.diff()}" for c in self.changes]
        actions = []
        if self.restart_postfix:
            actions.append("restart postfix (its settings are merged at start)")
        if self.reload_postfix:
            actions.append("postfix reload")
        if self.restart_dovecot:
            actions.append("restart dovecot (it copies and compiles the global Sieve scripts)")
        for identity in self.ses_identities:
            actions.append(f"enable SES feedback forwarding for {identity}")
        if actions:
            parts.append("".join(f"# then: {a}\n" for a in actions))
        return "".join(parts)


@dataclass(frozen=True, slots=True)
class InstallOptions:
    """What `dsnwatch install` was asked to do."""

    mailbox: str
    notify_classes: tuple[str, ...] = ("bounce", "2bounce", "delay")
    postfix_mode: PostfixMode = "notify"
    restart_dovecot: bool = False
    ses_identities: tuple[str, ...] = ()


def _postfix_changes(
    runtime: Runtime, layout: Layout, opts: InstallOptions | None
) -> list[FileChange]:
    settings_now = runtime.read_file("postfix", layout.settings_file)
    main_now = (
        settings_now
        if layout.settings_file == layout.main_cf
        else runtime.read_file("postfix", layout.main_cf)
    )
    master_now = runtime.read_file("postfix", layout.master_cf)
    bcc_path = f"{layout.postfix_dir}/{postfix.BCC_MAP}"
    mark_path = f"{layout.postfix_dir}/{postfix.MARK_MAP}"
    bcc_now = runtime.read_file("postfix", bcc_path)
    mark_now = runtime.read_file("postfix", mark_path)
    full = opts is not None and opts.postfix_mode == "full-copy"
    if opts is None:
        body = ""
    else:
        base = postfix.operator_notify_classes(decode(main_now), decode(settings_now))
        body = postfix.render_settings(opts.mailbox, opts.notify_classes, base, opts.postfix_mode)
    changes = [
        FileChange(
            "postfix",
            layout.settings_file,
            settings_now,
            postfix.install_settings(settings_now, body),
            "Postfix settings (managed block)",
        )
    ]
    if master_now is not None or full:
        master_after = (
            postfix.install_settings(master_now, postfix.render_master(layout.postfix_dir))
            if full
            else postfix.install_settings(master_now, "")
        )
        changes.append(
            FileChange("postfix", layout.master_cf, master_now, master_after, "bounce services")
        )
    if full and opts is not None:
        changes.append(
            FileChange(
                "postfix", bcc_path, bcc_now, postfix.render_bcc_map(opts.mailbox), "BCC rule"
            )
        )
        changes.append(
            FileChange("postfix", mark_path, mark_now, postfix.render_mark_map(), "copy marker")
        )
    else:
        changes.append(FileChange("postfix", bcc_path, bcc_now, None, "BCC rule (unused)"))
        changes.append(FileChange("postfix", mark_path, mark_now, None, "copy marker (unused)"))
    return changes


def _sieve_changes(
    runtime: Runtime, layout: Layout, opts: InstallOptions | None
) -> tuple[list[FileChange], bool]:
    """The Sieve source change, and the active copy's (or whether dovecot must restart)."""
    src_now = runtime.read_file("dovecot", layout.sieve_before)
    if opts is None:
        src_after = sieve.uninstall_rule(src_now)
    else:
        marker = opts.postfix_mode == "full-copy"
        src_after = sieve.install_rule(src_now, opts.mailbox, postfix_marker=marker)
    changes = [
        FileChange(
            "dovecot",
            layout.sieve_before,
            src_now,
            src_after,
            "global sieve_before script (managed block)",
            compile_sieve=not layout.mailcow,
        )
    ]
    if not layout.mailcow:
        return changes, False
    active_now = runtime.read_file("dovecot", layout.sieve_before_active)
    if active_now == src_after:
        return changes, False
    if opts is not None and opts.restart_dovecot:
        return changes, True
    if opts is None and active_now is not None:
        # Uninstall takes our block out of the active copy and leaves the rest as it is.
        active_after: bytes | None = encode(remove_block(decode(active_now)))
    else:
        active_after = src_after
    changes.append(
        FileChange(
            "dovecot",
            layout.sieve_before_active,
            active_now,
            active_after,
            "active copy Dovecot runs (compiled in place)",
            compile_sieve=True,
        )
    )
    return changes, False


def build_plan(runtime: Runtime, layout: Layout, opts: InstallOptions | None) -> Plan:
    """The plan to install (`opts` given) or to uninstall (`opts` None)."""
    plan = Plan()
    for change in _postfix_changes(runtime, layout, opts):
        plan.add(change)
    sieve_changes, restart = _sieve_changes(runtime, layout, opts)
    for change in sieve_changes:
        plan.add(change)
    plan.restart_dovecot = restart
    if any(c.service == "postfix" for c in plan.changes):
        if layout.mailcow:
            plan.restart_postfix = True
        else:
            plan.reload_postfix = True
    if opts is not None:
        plan.ses_identities = list(opts.ses_identities)
    return plan
