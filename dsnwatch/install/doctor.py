"""`dsnwatch doctor`: check each link of the DSN pipeline, one line each.

Also recognises the blueprint's broken steps (`sender_bcc_maps` with `<>`, a DSN rule
in sieve_after, `redirect` followed by `keep`) and says why they fail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from dsnwatch.config import Config, PostfixMode
from dsnwatch.install import postfix, sieve
from dsnwatch.install.apply import mailbox_exists
from dsnwatch.install.blocks import BlockError, block_body, decode
from dsnwatch.install.plan import Layout
from dsnwatch.runtime.base import Runtime, RuntimeFailure

Status = Literal["OK", "WARN", "FAIL"]


@dataclass(frozen=True, slots=True)
class Check:
    """One check's verdict; `message` says what was found and, if not OK, what to do."""

    name: str
    status: Status
    message: str

    def line(self) -> str:
        return f"{self.status:<4}  {self.name}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _postconf(runtime: Runtime, layout: Layout, *names: str) -> dict[str, str]:
    result = runtime.exec("postfix", ["postconf", "-c", layout.postfix_dir, *names])
    if not result.ok:
        raise RuntimeFailure(f"postconf failed: {result.output.strip()[:200]}")
    return postfix.parse_settings(result.output)


def check_runtime(runtime: Runtime) -> list[Check]:
    """The engine is reachable and both services run."""
    checks = []
    for service in ("postfix", "dovecot"):
        try:
            state = runtime.state(service)
        except RuntimeFailure as exc:
            return [Check("runtime", "FAIL", str(exc))]
        if state in ("running", "active"):
            checks.append(Check(service, "OK", f"{state} ({runtime.kind})"))
        else:
            checks.append(Check(service, "FAIL", f"{state}; start it and run doctor again"))
    return checks


def check_mailbox(runtime: Runtime, cfg: Config) -> Check:
    """The central mailbox exists in Dovecot's user database."""
    if not cfg.mailbox:
        return Check("mailbox", "FAIL", "no central mailbox configured; set mailbox in the config")
    if mailbox_exists(runtime, cfg.mailbox):
        return Check("mailbox", "OK", f"{cfg.mailbox} exists")
    return Check("mailbox", "FAIL", f"{cfg.mailbox} does not exist; create it, then run install")


def installed_mode(runtime: Runtime, layout: Layout, cfg: Config) -> PostfixMode:
    """The Postfix mode the managed blocks show, else the configured one.

    Install may have been run with --postfix-mode; the doctor checks what is there.
    """
    master = decode(runtime.read_file("postfix", layout.master_cf))
    try:
        if block_body(master):
            return "full-copy"
        if block_body(decode(runtime.read_file("postfix", layout.settings_file))):
            return "notify"
    except BlockError:
        pass
    return cfg.postfix_mode


def check_postfix(runtime: Runtime, layout: Layout, cfg: Config) -> list[Check]:
    """The settings Postfix actually runs with, and the blueprint's `<>` BCC key."""
    names = ["notify_classes", "sender_bcc_maps"]
    names += [f"{c}_notice_recipient" for c in cfg.notify_classes]
    live = _postconf(runtime, layout, *names)
    checks: list[Check] = []
    restart = (
        "restart postfix-mailcow (extra.cf is merged at start)"
        if layout.mailcow
        else "postfix reload"
    )
    mode = installed_mode(runtime, layout, cfg)
    if mode == "full-copy":
        entries = runtime.exec(
            "postfix", ["postconf", "-c", layout.postfix_dir, "-M", "bounce/unix"]
        )
        ok = entries.ok and postfix.full_copy_active(entries.output)
        has_block = block_body(decode(runtime.read_file("postfix", layout.master_cf))) is not None
        where = layout.master_cf
    else:
        active = {c.lower() for c in postfix.split_list(live.get("notify_classes", ""))}
        ok = all(c in active for c in cfg.notify_classes) and all(
            live.get(f"{c}_notice_recipient", "").lower() == cfg.mailbox.lower()
            for c in cfg.notify_classes
        )
        has_block = (
            block_body(decode(runtime.read_file("postfix", layout.settings_file))) is not None
        )
        where = layout.settings_file
    if ok:
        checks.append(Check("postfix settings", "OK", f"active ({mode} mode)"))
    elif has_block:
        checks.append(Check("postfix settings", "FAIL", f"in {where} but not active; {restart}"))
    else:
        checks.append(Check("postfix settings", "FAIL", "not installed; run dsnwatch install"))
    for table in postfix.split_list(live.get("sender_bcc_maps", "")):
        found = runtime.exec("postfix", ["postmap", "-c", layout.postfix_dir, "-q", "<>", table])
        problem = postfix.sender_bcc_null_problem(table, found.output if found.ok else None)
        if problem:
            checks.append(Check("blueprint sender_bcc_maps", "FAIL", problem))
    return checks


def check_sieve(runtime: Runtime, layout: Layout, cfg: Config) -> list[Check]:
    """The managed block in the file and in the copy Dovecot runs; blueprint mistakes."""
    checks: list[Check] = []
    before = decode(runtime.read_file("dovecot", layout.sieve_before))
    after = decode(runtime.read_file("dovecot", layout.sieve_after)) if layout.sieve_after else ""
    try:
        body = block_body(before)
    except BlockError as exc:
        return [Check("sieve rule", "FAIL", str(exc))]
    marker = installed_mode(runtime, layout, cfg) == "full-copy"
    expected = sieve.render_rule(cfg.mailbox, marker) if cfg.mailbox else None
    if body is None:
        checks.append(
            Check(
                "sieve rule",
                "FAIL",
                f"missing from {layout.sieve_before} (mailcow updates may overwrite it); run dsnwatch install",
            )
        )
    elif expected is not None and body != expected:
        checks.append(
            Check("sieve rule", "WARN", "differs from this configuration; run dsnwatch install")
        )
    else:
        checks.append(Check("sieve rule", "OK", f"in {layout.sieve_before}"))
    if layout.sieve_before_active != layout.sieve_before:
        active = runtime.read_file("dovecot", layout.sieve_before_active)
        if active is None or body is None or block_body(decode(active)) != body:
            checks.append(
                Check(
                    "sieve active",
                    "FAIL",
                    f"{layout.sieve_before_active} is not the installed script; run dsnwatch install or restart dovecot-mailcow",
                )
            )
        else:
            checks.append(
                Check("sieve active", "OK", f"{layout.sieve_before_active} runs the rule")
            )
    binary = layout.sieve_before_active.rsplit(".", 1)[0] + ".svbin"
    stamps = runtime.exec("dovecot", ["stat", "-c", "%Y", layout.sieve_before_active, binary])
    times = stamps.output.split()
    if not stamps.ok or len(times) != 2:
        checks.append(
            Check(
                "sieve compiled",
                "WARN",
                f"no {binary}; run sievec on the script (Dovecot compiles it on every delivery meanwhile)",
            )
        )
    elif int(times[1]) < int(times[0]):
        checks.append(
            Check(
                "sieve compiled", "WARN", f"{binary} is older than its script; run dsnwatch install"
            )
        )
    else:
        checks.append(Check("sieve compiled", "OK", binary))
    for problem in sieve.blueprint_problems(before, after, cfg.mailbox):
        checks.append(Check("blueprint sieve", "FAIL", problem))
    return checks


def check_imap(cfg: Config) -> Check:
    """A login to the central mailbox over IMAP, when a password is configured."""
    from dsnwatch.config import ConfigError
    from dsnwatch.mailbox import MailboxError, connect

    try:
        settings = cfg.imap_settings()
    except ConfigError:
        return Check("imap", "WARN", "not checked; set [imap] host and password in the config")
    try:
        client = connect(settings)
        try:
            client.select_folder(settings.folder, readonly=True)
        finally:
            client.logout()
    except MailboxError as exc:
        return Check("imap", "FAIL", str(exc))
    except Exception as exc:
        return Check("imap", "FAIL", f"folder {settings.folder} of {settings.user}: {exc}")
    return Check("imap", "OK", f"logged in to {settings.host} as {settings.user}")


def check_ses(cfg: Config, client_factory: Callable[[], Any] | None = None) -> list[Check]:
    """Feedback forwarding for each configured SES identity."""
    if not cfg.ses_identities:
        return []
    from dsnwatch.install import ses

    try:
        client = (client_factory or ses.make_client)()
    except ses.SesError as exc:
        return [Check("ses", "FAIL", str(exc))]
    checks = []
    for identity in cfg.ses_identities:
        try:
            status = ses.forwarding_status(client, identity)
        except ses.SesError as exc:
            checks.append(Check(f"ses {identity}", "FAIL", str(exc)))
            continue
        if status.forwarding:
            checks.append(Check(f"ses {identity}", "OK", "feedback forwarding on"))
        else:
            checks.append(
                Check(
                    f"ses {identity}",
                    "FAIL",
                    f"feedback forwarding off; run dsnwatch install --ses-identity {identity}",
                )
            )
    return checks


def run_doctor(
    runtime: Runtime,
    layout: Layout,
    cfg: Config,
    ses_client_factory: Callable[[], Any] | None = None,
) -> list[Check]:
    """Every check, in the order the pipeline runs; stops early when the runtime is down."""
    checks = check_runtime(runtime)
    if any(c.status == "FAIL" for c in checks):
        return checks
    steps: list[Callable[[], list[Check]]] = [
        lambda: [check_mailbox(runtime, cfg)],
        lambda: check_postfix(runtime, layout, cfg),
        lambda: check_sieve(runtime, layout, cfg),
    ]
    for step in steps:
        try:
            checks.extend(step())
        except RuntimeFailure as exc:
            checks.append(Check("runtime", "FAIL", str(exc)))
    checks.append(check_imap(cfg))
    checks.extend(check_ses(cfg, ses_client_factory))
    return checks


def exit_code(checks: list[Check]) -> int:
    """0 when nothing failed (warnings pass), 1 otherwise."""
    return 1 if any(c.status == "FAIL" for c in checks) else 0
