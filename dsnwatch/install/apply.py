"""Carry out a plan: check first, write, activate, verify; roll everything back on failure."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass

from dsnwatch.install.blocks import decode
from dsnwatch.install.plan import FileChange, Layout, Plan
from dsnwatch.runtime.base import Runtime, RuntimeFailure, Service

Log = Callable[[str], None]

# The uid Dovecot delivers as in mailcow's image; the active scripts must be its own.
MAILCOW_VMAIL = "5000:5000"
CHECK_SCRIPT = "/tmp/dsnwatch-check.sieve"


class InstallError(RuntimeError):
    """A step of install or uninstall failed; the message names the step and the cause."""


@dataclass(slots=True)
class _Done:
    change: FileChange


def _short(output: str) -> str:
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    return " / ".join(lines[:3])[:300] or "no output"


def mailbox_exists(runtime: Runtime, mailbox: str) -> bool:
    """Whether Dovecot knows the mailbox (`doveadm user`)."""
    result = runtime.exec("dovecot", ["doveadm", "user", mailbox])
    if result.rc == 127:
        raise RuntimeFailure("doveadm is not installed where Dovecot runs; check the runtime")
    return result.ok


def require_mailbox(runtime: Runtime, layout: Layout, mailbox: str) -> None:
    """Stop with a one-line error when the central mailbox does not exist."""
    if not mailbox_exists(runtime, mailbox):
        how = (
            "create it in the mailcow admin UI (E-Mail > Configuration > Mailboxes > Add mailbox)"
            if layout.mailcow
            else "create it in Dovecot's user database"
        )
        raise InstallError(
            f"the central mailbox {mailbox} does not exist; {how}, then run install again"
        )


def _compile_check(runtime: Runtime, script: bytes) -> str | None:
    """sievec's complaint about the script, compiled away from every path Dovecot reads."""
    runtime.write_file("dovecot", CHECK_SCRIPT, script)
    try:
        result = runtime.exec("dovecot", ["sievec", CHECK_SCRIPT])
    finally:
        runtime.remove_file("dovecot", CHECK_SCRIPT)
        runtime.remove_file("dovecot", CHECK_SCRIPT.replace(".sieve", ".svbin"))
    return None if result.ok else result.output


def _first_error(output: str, name: str) -> str:
    """sievec's first error line, naming the operator's file instead of the check copy."""
    lines = [line.strip() for line in output.splitlines() if "error" in line.lower()]
    first = lines[0] if lines else _short(output)
    return first.replace("dsnwatch-check:", f"{name}:", 1)


def check_own_sieve(runtime: Runtime, path: str, current: bytes | None) -> None:
    """Refuse, changing nothing, when the operator's own script does not compile as it is."""
    # As it is, our block included (it compiles), so sievec's line numbers are the file's.
    if not current or not decode(current).strip():
        return
    complaint = _compile_check(runtime, current)
    if complaint is None:
        return
    host = runtime.host_path("dovecot", path)
    where = f"{path} ({host} on the host)" if host else path
    raise InstallError(
        f"your Sieve script {where} does not compile ({_first_error(complaint, path)}); "
        f"fix it (`sievec {path}` where Dovecot runs lists every error), then run install "
        "again; nothing was changed"
    )


def check_sieve(runtime: Runtime, script: bytes) -> None:
    """Compile the new script where Dovecot runs, away from every path Dovecot reads."""
    complaint = _compile_check(runtime, script)
    if complaint is not None:
        raise InstallError(f"sievec rejects the new sieve_before script: {_short(complaint)}")


def _compile_active(runtime: Runtime, layout: Layout, path: str) -> None:
    result = runtime.exec("dovecot", ["sievec", path])
    if not result.ok:
        raise InstallError(f"sievec {path} failed: {_short(result.output)}")
    if layout.mailcow:
        binary = path.rsplit(".", 1)[0] + ".svbin"
        runtime.exec("dovecot", ["chown", MAILCOW_VMAIL, path, binary])


def _postfix_check(runtime: Runtime, layout: Layout) -> None:
    argv = ["postfix", "-c", layout.postfix_dir, "check"]
    result = runtime.exec("postfix", argv)
    if not result.ok:
        raise InstallError(f"{shlex.join(argv)} failed: {_short(result.output)}")


def _activate(runtime: Runtime, layout: Layout, plan: Plan, log: Log) -> None:
    if plan.restart_postfix:
        log("restarting postfix")
        runtime.restart("postfix")
    if plan.reload_postfix:
        result = runtime.exec("postfix", ["postfix", "-c", layout.postfix_dir, "reload"])
        if not result.ok:
            raise InstallError(f"postfix reload failed: {_short(result.output)}")
    if plan.restart_dovecot:
        log("restarting dovecot")
        runtime.restart("dovecot")


def _write(runtime: Runtime, change: FileChange) -> None:
    if change.after is None:
        runtime.remove_file(change.service, change.path)
    else:
        runtime.write_file(change.service, change.path, change.after)


def apply_plan(runtime: Runtime, layout: Layout, plan: Plan, log: Log = lambda _m: None) -> None:
    """Apply the file changes and activate them; on any failure restore every file."""
    sieve_paths = {layout.sieve_before, layout.sieve_before_active}
    for change in plan.changes:
        if change.path in sieve_paths and change.after is not None:
            check_sieve(runtime, change.after)
    done: list[_Done] = []
    step = "writing files"
    try:
        for change in plan.changes:
            step = f"writing {change.path}"
            _write(runtime, change)
            done.append(_Done(change))
            log(f"wrote {change.service}:{change.path}")
            if change.compile_sieve and change.after is not None:
                step = f"compiling {change.path}"
                _compile_active(runtime, layout, change.path)
        if any(c.service == "postfix" for c in plan.changes):
            step = "postfix check"
            _postfix_check(runtime, layout)
        step = "activating"
        _activate(runtime, layout, plan, log)
    except (InstallError, RuntimeFailure) as exc:
        errors = rollback(runtime, layout, plan, [d.change for d in done], log)
        tail = "every changed file was restored" if not errors else "; ".join(errors)
        raise InstallError(f"{step} failed: {exc}; {tail}") from exc


def rollback(
    runtime: Runtime, layout: Layout, plan: Plan, changed: list[FileChange], log: Log
) -> list[str]:
    """Restore the files already changed, newest first, and reactivate the old state."""
    errors: list[str] = []
    services: set[Service] = set()
    for change in reversed(changed):
        try:
            if change.before is None:
                runtime.remove_file(change.service, change.path)
            else:
                runtime.write_file(change.service, change.path, change.before)
                if change.compile_sieve:
                    _compile_active(runtime, layout, change.path)
            services.add(change.service)
            log(f"restored {change.service}:{change.path}")
        except (InstallError, RuntimeFailure) as exc:
            errors.append(f"could not restore {change.path}: {exc}")
    try:
        if "postfix" in services:
            if layout.mailcow and plan.restart_postfix:
                runtime.restart("postfix")
            elif plan.reload_postfix:
                runtime.exec("postfix", ["postfix", "-c", layout.postfix_dir, "reload"])
        if plan.restart_dovecot and "dovecot" in services:
            runtime.restart("dovecot")
    except RuntimeFailure as exc:
        errors.append(f"could not reactivate the old state: {exc}")
    return errors
