"""`dsnwatch install`, `uninstall` and `doctor` against the lab's real Postfix and Dovecot.

Every report kind is sent for real and counted in the central mailbox: exactly one copy
each, none for ordinary mail or a phishing subject. Also: the blueprint's own setup
misses reports and doctor says why; dry run, idempotence, rollback after a sievec
failure, and uninstall byte for byte. The tests run in file order on one lab, which
the module leaves installed or not, as it found it.

Set DOCKER_HOST, DSNWATCH_LAB_PORT_BASE and DSNWATCH_LAB_DIR to choose the lab.
Without one the tests skip; with CI=true they fail instead.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import typer
from lab.install_target import LabTarget, lab_target
from lab.lab_helpers import count_messages, imap_login, new_token, send, wait_for_messages
from typer.testing import CliRunner

from dsnwatch.install import InstallError, prepare_install
from dsnwatch.install.blocks import decode, encode
from dsnwatch.install.cli import register
from dsnwatch.install.doctor import exit_code, run_doctor
from dsnwatch.install.plan import MAILCOW
from dsnwatch.install.sieve import insertion_point
from dsnwatch.lab.settings import REMOTE_DOMAIN
from dsnwatch.runtime.base import Service

pytestmark = pytest.mark.lab

# After the last expected copy arrived, how long a second one gets to show up.
SETTLE = 8.0


@pytest.fixture(scope="module")
def target() -> Iterator[LabTarget]:
    gen = lab_target()
    the_target = next(gen)
    # Start from the lab's own files, so uninstall can be compared with them.
    the_target.uninstall()
    the_target.pristine = the_target.snapshot()
    yield the_target
    next(gen, None)


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def root(ctx: typer.Context) -> None:
        """The lab's settings, as `dsnwatch --lab` gives them."""
        ctx.obj = {"config": None, "lab": True}

    register(app)
    return app


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(_app(), list(args))
    return result.exit_code, result.output


def _monitor(target: LabTarget) -> str:
    return target.lab.settings.address("dsn-monitor").split("@")[0]


def _exactly(target: LabTarget, expected: dict[str, int], timeout: float = 90.0) -> None:
    """Wait until each token has its expected number of copies in the central mailbox,
    then give late duplicates SETTLE seconds and count again."""
    user = _monitor(target)
    deadline = time.monotonic() + timeout
    counts: dict[str, int] = {}
    while True:
        counts = {tok: count_messages(target.lab, user, tok) for tok in expected}
        if all(counts[t] >= n for t, n in expected.items()):
            break
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)
    time.sleep(SETTLE)
    counts = {tok: count_messages(target.lab, user, tok) for tok in expected}
    assert counts == expected


def _install_cli(*extra: str) -> str:
    code, out = _cli("install", *extra)
    assert code == 0, out
    return out


# --- before install ----------------------------------------------------------------


def test_containers_are_found_by_compose_labels(target: LabTarget) -> None:
    assert target.runtime.state("postfix") == "running"
    assert target.runtime.state("dovecot") == "running"
    assert target.runtime.exec("postfix", ["postconf", "-n"]).ok


def test_dry_run_prints_the_plan_and_changes_nothing(target: LabTarget) -> None:
    before = target.snapshot()
    code, out = _cli("install", "--dry-run")
    assert code == 0, out
    assert f"+++ postfix:{MAILCOW.master_cf}" in out
    assert "+bounce unix - - n - 0 bounce -o cleanup_service_name=dsnwatch-cleanup" in out
    assert f"+++ dovecot:{MAILCOW.sieve_before}" in out
    assert "# then: restart postfix" in out
    assert target.snapshot() == before


def test_the_console_gets_the_same_plan_before_it_asks(target: LabTarget) -> None:
    prepared = prepare_install(target.cfg, target.runtime)
    _code, out = _cli("install", "--dry-run")
    assert prepared.plan.describe() == out


def test_a_missing_central_mailbox_stops_install_with_how_to_create_it(
    target: LabTarget,
) -> None:
    before = target.snapshot()
    code, out = _cli("install", "--mailbox", "nobody-here@lab.test")
    assert code == 1
    lines = out.strip().splitlines()
    assert lines == [
        "dsnwatch: error: the central mailbox nobody-here@lab.test does not exist; create it "
        "in the mailcow admin UI (E-Mail > Configuration > Mailboxes > Add mailbox), then run "
        "install again"
    ]
    assert target.snapshot() == before


# --- install, then every scenario ------------------------------------------------------


def test_install_restarts_postfix_and_doctor_passes(target: LabTarget) -> None:
    out = _install_cli()
    assert "restarting postfix" in out and "Installed." in out
    target.settle()
    code, out = _cli("doctor", "--json")
    checks = {c["name"]: c for c in json.loads(out)}
    assert code == 0, out
    assert checks["postfix settings"]["message"] == "active (full-copy mode)"
    assert {c["status"] for c in checks.values()} == {"OK"}


def test_second_install_changes_nothing_and_says_so(target: LabTarget) -> None:
    before = target.snapshot()
    out = _install_cli()
    assert out.startswith("Nothing to change")
    assert target.snapshot() == before


def test_every_report_lands_exactly_once_and_nothing_else(target: LabTarget) -> None:
    lab = target.lab
    remote = REMOTE_DOMAIN
    cases = {
        "local": ("alice", "nobody-{t}@dsnwatch-test.invalid"),
        "remote-refused": ("alice", "nobody-{t}@" + remote),
        "remote-full": ("alice", "full@" + remote),
        "remote-disabled": ("alice", "disabled@" + remote),
        "ses-bounce": ("alice", "bounce+{t}@simulator.amazonses.com"),
        "ses-complaint": ("alice", "complaint+{t}@simulator.amazonses.com"),
        # filer's own script files every message away: the case sieve_after misses.
        "filer-local": ("filer", "nobody-{t}@dsnwatch-test.invalid"),
        "filer-remote": ("filer", "full@" + remote),
    }
    tokens: dict[str, str] = {}
    for name, (user, to) in cases.items():
        tokens[name] = new_token()
        send(lab, to.format(t=tokens[name]), tokens[name], user=user)
    ordinary, phishing = new_token(), new_token()
    bob = lab.settings.address("bob")
    send(lab, bob, ordinary)
    send(lab, bob, phishing, subject=f"Delivery Status Notification (Failure) {phishing}")
    wait_for_messages(lab, "bob", ordinary)
    wait_for_messages(lab, "bob", phishing)
    # filer got her reports, filed away by her own script.
    wait_for_messages(lab, "filer", tokens["filer-remote"], folder="Filed", exclude_own=True)
    expected = {tok: 1 for tok in tokens.values()}
    expected.update({ordinary: 0, phishing: 0})
    _exactly(target, expected)


def test_local_bounce_copy_is_the_whole_bounce_marked_once(target: LabTarget) -> None:
    token = new_token()
    send(target.lab, f"nobody-{token}@dsnwatch-test.invalid", token)
    (copy,) = wait_for_messages(target.lab, _monitor(target), token)
    (own,) = wait_for_messages(target.lab, "alice", token, exclude_own=True)
    assert copy["Message-ID"] == own["Message-ID"]
    assert copy["X-DSN-Monitor-Copy"] == "postfix"
    assert copy.get("X-Sieve-Redirected-From") is None
    assert any(p.get_content_type() == "message/rfc822" for p in copy.walk())
    _exactly(target, {token: 1})


def test_notify_mode_brings_a_postmaster_copy_beside_the_sieve_copy(target: LabTarget) -> None:
    """notify: the headers-only postmaster copy, plus the sender's own bounce copied by
    Sieve; both name the same Postfix queue ID. Documented, and why full-copy is the default."""
    target.install(postfix_mode="notify")
    try:
        token = new_token()
        send(target.lab, f"nobody-{token}@dsnwatch-test.invalid", token)
        copies = wait_for_messages(target.lab, _monitor(target), token, count=2)
        subjects = sorted(str(m["Subject"]) for m in copies)
        assert subjects == [
            "Postmaster Copy: Undelivered Mail",
            "Undelivered Mail Returned to Sender",
        ]
        _exactly(target, {token: 2})
    finally:
        target.install()


# --- rollback ---------------------------------------------------------------------------

# Fails `sievec` once for the active copy (after the files were written), like a broken
# compile would, then steps aside; the scratch check before any write still passes.
SIEVEC_SHIM = f"""#!/bin/sh
if [ -e /tmp/dsnwatch-fail-sievec ] && [ "$1" = "{MAILCOW.sieve_before_active}" ]; then
    rm -f /tmp/dsnwatch-fail-sievec
    echo "dsnwatch-lab: error: forced compile failure" >&2
    exit 89
fi
exec /usr/bin/sievec "$@"
"""


def test_sievec_failure_rolls_back_to_the_working_state(target: LabTarget) -> None:
    rt = target.runtime
    before = target.snapshot()
    rt.write_file("dovecot", "/usr/local/bin/sievec", SIEVEC_SHIM.encode())
    rt.exec("dovecot", ["chmod", "755", "/usr/local/bin/sievec"])
    rt.write_file("dovecot", "/tmp/dsnwatch-fail-sievec", b"")
    try:
        with pytest.raises(InstallError) as info:
            target.install(postfix_mode="notify")
    finally:
        rt.exec("dovecot", ["rm", "-f", "/usr/local/bin/sievec", "/tmp/dsnwatch-fail-sievec"])
    message = str(info.value)
    assert f"compiling {MAILCOW.sieve_before_active} failed" in message
    assert "forced compile failure" in message
    assert message.endswith("every changed file was restored")
    target.settle()
    assert target.snapshot() == before
    # The old script is the one Dovecot runs, compiled; mail still flows, one copy each.
    assert exit_code(run_doctor(rt, MAILCOW, target.cfg)) == 0
    local, remote = new_token(), new_token()
    send(target.lab, f"nobody-{local}@dsnwatch-test.invalid", local)
    send(target.lab, "full@remote.test", remote)
    _exactly(target, {local: 1, remote: 1})


# --- the blueprint's configuration ------------------------------------------------------

BLUEPRINT_SIEVE_AFTER = """require ["copy"];
if allof (
    not header :contains "To" "{mailbox}",
    anyof (
        header :contains "Content-Type" "report-type=delivery-status",
        header :contains "From" "MAILER-DAEMON@",
        header :contains "Subject" "Delivery Status Notification"
    )
) {{
    redirect :copy "{mailbox}";
    keep;
}}
"""


def _put(target: LabTarget, service: Service, path: str, data: bytes | None) -> None:
    if data is None:
        target.runtime.remove_file(service, path)
    else:
        target.runtime.write_file(service, path, data)


def test_the_blueprint_misses_reports_and_doctor_says_why(target: LabTarget) -> None:
    rt, lab = target.runtime, target.lab
    mailbox = target.cfg.mailbox
    target.uninstall()
    extra = rt.read_file("postfix", MAILCOW.settings_file)
    after = rt.read_file("dovecot", MAILCOW.sieve_after)
    bcc = f"{MAILCOW.postfix_dir}/sender_bcc"
    try:
        # Postfix: sender_bcc_maps with the <> key, as the blueprint writes it.
        rt.write_file("postfix", bcc, f"<> {mailbox}\n".encode())
        assert rt.exec("postfix", ["postmap", "-c", MAILCOW.postfix_dir, f"hash:{bcc}"]).ok
        rt.write_file(
            "postfix",
            MAILCOW.settings_file,
            (extra or b"") + f"sender_bcc_maps = hash:{bcc}\n".encode(),
        )
        # Dovecot: the rule in global_sieve_after, redirect :copy then keep.
        text = decode(after)
        at = insertion_point(text)
        rule = BLUEPRINT_SIEVE_AFTER.format(mailbox=mailbox)
        rt.write_file("dovecot", MAILCOW.sieve_after, encode(text[:at] + rule + text[at:]))
        rt.restart("postfix")
        rt.restart("dovecot")
        target.settle()

        checks = run_doctor(rt, MAILCOW, target.cfg)
        flagged = {c.name: c.message for c in checks if c.status == "FAIL"}
        assert "never looks up the null sender" in flagged["blueprint sender_bcc_maps"]
        blueprint_sieve = [c.message for c in checks if c.name == "blueprint sieve"]
        assert any("sieve_after" in m and "never runs" in m for m in blueprint_sieve)
        assert any("`redirect` followed by `keep`" in m for m in blueprint_sieve)
        assert exit_code(checks) == 1

        alice, filer = new_token(), new_token()
        send(lab, f"nobody-{alice}@dsnwatch-test.invalid", alice)
        send(lab, f"nobody-{filer}@dsnwatch-test.invalid", filer, user="filer")
        wait_for_messages(lab, "alice", alice, exclude_own=True)
        wait_for_messages(lab, "filer", filer, folder="Filed", exclude_own=True)
        time.sleep(SETTLE)
        # filer's bounce: sender_bcc_maps never fires, and sieve_after never runs for her.
        assert count_messages(lab, _monitor(target), filer) == 0
        # alice's bounce: Postfix added no copy; whatever came, came from Sieve.
        client = imap_login(lab, _monitor(target))
        try:
            client.select_folder("INBOX", readonly=True)
            uids = client.search(["TEXT", alice])
            heads = client.fetch(uids, ["BODY.PEEK[HEADER]"]).values() if uids else []
        finally:
            client.logout()
        assert all(b"X-Sieve-Redirected-From" in h[b"BODY[HEADER]"] for h in heads)
    finally:
        _put(target, "postfix", MAILCOW.settings_file, extra)
        rt.remove_file("postfix", bcc)
        rt.remove_file("postfix", f"{bcc}.db")
        _put(target, "dovecot", MAILCOW.sieve_after, after)
        rt.restart("postfix")
        rt.restart("dovecot")
        target.settle()
    assert target.snapshot() == target.pristine


# --- uninstall -----------------------------------------------------------------------------


def test_restart_dovecot_lets_its_start_refresh_the_active_copy(target: LabTarget) -> None:
    """--restart-dovecot: the container's start copies and compiles the script instead."""
    out = _install_cli("--restart-dovecot")
    assert "restarting dovecot" in out
    assert f"wrote dovecot:{MAILCOW.sieve_before_active}" not in out
    target.settle()
    rt = target.runtime
    active = rt.read_file("dovecot", MAILCOW.sieve_before_active)
    assert active == rt.read_file("dovecot", MAILCOW.sieve_before)
    assert exit_code(run_doctor(rt, MAILCOW, target.cfg)) == 0
    assert _install_cli().startswith("Nothing to change")


def test_uninstall_restores_every_file_byte_for_byte(target: LabTarget) -> None:
    assert target.snapshot() != target.pristine
    code, out = _cli("uninstall")
    assert code == 0 and out.strip().endswith("Uninstalled."), out
    target.settle()
    # After postfix-mailcow's restart rewrote extra.cf, too.
    assert target.snapshot() == target.pristine
    assert _cli("uninstall")[1].startswith("Nothing to remove")
