"""Plan, dry run, idempotence, rollback and uninstall against an in-memory mailcow."""

from __future__ import annotations

import pytest
from install_fakes import EXTRA_CF, MAILBOX, MAILCOW_SIEVE_BEFORE, MASTER_CF, mailcow_runtime

from dsnwatch.config import Config, HostPaths
from dsnwatch.install import carry_out, prepare_install, prepare_uninstall
from dsnwatch.install.apply import CHECK_SCRIPT, InstallError
from dsnwatch.install.plan import MAILCOW, layout_for


def _cfg(**kwargs: object) -> Config:
    cfg = Config(mailbox=MAILBOX)
    for key, value in kwargs.items():
        setattr(cfg, key, value)
    return cfg


def _install(rt: object, cfg: Config | None = None, **kw: bool) -> None:
    carry_out(prepare_install(cfg or _cfg(), rt, **kw), log=lambda _m: None)  # type: ignore[arg-type]


def test_dry_run_plan_is_a_diff_and_changes_nothing() -> None:
    rt = mailcow_runtime()
    before = dict(rt.files)
    text = prepare_install(_cfg(postfix_mode="notify"), rt).plan.describe()
    assert f"+++ postfix:{MAILCOW.settings_file}" in text
    assert f"+bounce_notice_recipient = {MAILBOX}" in text
    assert f"+++ dovecot:{MAILCOW.sieve_before_active}" in text
    assert "# then: restart postfix" in text
    # Nothing but the scratch copy sievec checks the operator's script in, removed at once.
    assert rt.files == before and rt.writes == [CHECK_SCRIPT]


def test_default_is_full_copy_in_master_cf_with_extra_cf_untouched() -> None:
    rt = mailcow_runtime()
    text = prepare_install(_cfg(), rt).plan.describe()
    assert f"+++ postfix:{MAILCOW.master_cf}" in text
    assert f"+++ postfix:{MAILCOW.settings_file}" not in text
    _install(rt)
    master = rt.files[("postfix", MAILCOW.master_cf)]
    # Our bounce service comes after the operator's, so it is the one Postfix uses.
    assert master.startswith(MASTER_CF)
    assert b"\nbounce unix - - n - 0 bounce -o cleanup_service_name=dsnwatch-cleanup" in master
    assert rt.files[("postfix", MAILCOW.settings_file)] == EXTRA_CF
    assert b'exists "X-DSN-Monitor-Copy"' in rt.files[("dovecot", MAILCOW.sieve_before_active)]


def test_install_writes_checks_and_activates() -> None:
    rt = mailcow_runtime()
    _install(rt, _cfg(postfix_mode="notify"))
    assert rt.files[("postfix", MAILCOW.settings_file)].startswith(EXTRA_CF)
    active = rt.files[("dovecot", MAILCOW.sieve_before_active)]
    assert active == rt.files[("dovecot", MAILCOW.sieve_before)]
    assert ("dovecot", MAILCOW.sieve_before_active.replace(".sieve", ".svbin")) in rt.files
    argvs = [argv for _s, argv in rt.commands]
    assert ["sievec", "/tmp/dsnwatch-check.sieve"] in argvs
    assert ["postfix", "-c", "/opt/postfix/conf", "check"] in argvs
    assert rt.restarts == ["postfix"]
    # The master.cf stays untouched in notify mode.
    assert rt.files[("postfix", MAILCOW.master_cf)] == MASTER_CF


def test_second_install_changes_nothing_and_says_so() -> None:
    rt = mailcow_runtime()
    _install(rt)
    plan = prepare_install(_cfg(), rt).plan
    assert plan.empty
    assert "Nothing to change" in plan.describe()


def test_stale_active_copy_after_a_dovecot_file_update_is_refreshed() -> None:
    rt = mailcow_runtime()
    _install(rt)
    rt.files[("dovecot", MAILCOW.sieve_before_active)] = MAILCOW_SIEVE_BEFORE
    plan = prepare_install(_cfg(), rt).plan
    assert [c.path for c in plan.changes] == [MAILCOW.sieve_before_active]


def test_restart_dovecot_option_restarts_instead_of_refreshing() -> None:
    rt = mailcow_runtime()
    _install(rt, restart_dovecot=True)
    assert rt.restarts == ["postfix", "dovecot"]
    assert rt.files[("dovecot", MAILCOW.sieve_before_active)] == MAILCOW_SIEVE_BEFORE


def test_missing_mailbox_stops_before_anything_changes() -> None:
    rt = mailcow_runtime()
    rt.users = set()
    with pytest.raises(InstallError, match="does not exist; create it in the mailcow admin UI"):
        prepare_install(_cfg(), rt)
    assert rt.writes == []


def test_broken_sieve_is_rejected_before_any_write() -> None:
    rt = mailcow_runtime()
    rt.fail_sievec_on = lambda data: b"dsnwatch" in data
    before = dict(rt.files)
    with pytest.raises(InstallError, match="sievec rejects"):
        _install(rt)
    assert {k: v for k, v in rt.files.items() if "dsnwatch-check" not in k[1]} == before
    assert rt.restarts == []


def test_failed_restart_rolls_every_file_back() -> None:
    rt = mailcow_runtime()
    rt.fail_restart = {"postfix"}
    before = {k: v for k, v in rt.files.items() if not k[1].endswith(".svbin")}
    with pytest.raises(InstallError, match=r"activating failed: postfix exited.*restored"):
        _install(rt)
    after = {k: v for k, v in rt.files.items() if not k[1].endswith(".svbin")}
    assert after == before


def test_uninstall_restores_files_byte_for_byte() -> None:
    rt = mailcow_runtime()
    original = {k: v for k, v in rt.files.items() if not k[1].endswith(".svbin")}
    _install(rt)
    carry_out(prepare_uninstall(_cfg(), rt), log=lambda _m: None)
    after = {k: v for k, v in rt.files.items() if not k[1].endswith(".svbin")}
    assert after == original
    assert prepare_uninstall(_cfg(), rt).plan.empty


def test_full_copy_mode_adds_services_and_maps_and_uninstall_removes_them() -> None:
    rt = mailcow_runtime()
    original = {k: v for k, v in rt.files.items() if not k[1].endswith(".svbin")}
    _install(rt, _cfg(postfix_mode="full-copy"))
    assert b"dsnwatch-cleanup unix" in rt.files[("postfix", MAILCOW.master_cf)]
    assert ("postfix", "/opt/postfix/conf/dsnwatch_bcc.regexp") in rt.files
    assert b"X-DSN-Monitor-Copy" in rt.files[("dovecot", MAILCOW.sieve_before)]
    carry_out(prepare_uninstall(_cfg(), rt), log=lambda _m: None)
    after = {k: v for k, v in rt.files.items() if not k[1].endswith(".svbin")}
    assert after == original


def test_host_layout_writes_main_cf_and_compiles_the_script_in_place() -> None:
    cfg = _cfg(
        runtime="host", host=HostPaths(postfix_config_dir="/etc/postfix"), postfix_mode="notify"
    )
    layout = layout_for(cfg)
    rt = mailcow_runtime()
    rt.files = {
        ("postfix", "/etc/postfix/main.cf"): b"myhostname = h\n",
        ("dovecot", layout.sieve_before): b"",
    }
    _install(rt, cfg)
    assert b"bounce_notice_recipient" in rt.files[("postfix", "/etc/postfix/main.cf")]
    assert ["postfix", "-c", "/etc/postfix", "reload"] in [a for _s, a in rt.commands]
    assert ["sievec", layout.sieve_before] in [a for _s, a in rt.commands]
    assert rt.restarts == []


def test_mailcow_restart_dropping_the_final_newline_is_not_a_change() -> None:
    rt = mailcow_runtime()
    notify = _cfg(postfix_mode="notify")
    _install(rt, notify)
    key = ("postfix", MAILCOW.settings_file)
    # postfix-mailcow's start script rewrites extra.cf through `$(cat extra.cf)`.
    rt.files[key] = b"myhostname = mx.example.org\n" + rt.files[key].rstrip(b"\n")
    assert prepare_install(notify, rt).plan.empty
    carry_out(prepare_uninstall(notify, rt), log=lambda _m: None)
    assert rt.files[key] == b"myhostname = mx.example.org\n" + EXTRA_CF


def test_operator_sieve_that_does_not_compile_stops_install_first() -> None:
    rt = mailcow_runtime()
    rt.files[("dovecot", MAILCOW.sieve_before)] = b'if true { fileinto "Junk" }\n'
    rt.fail_sievec_on = lambda data: b'"Junk" }' in data
    before = dict(rt.files)
    with pytest.raises(InstallError) as caught:
        prepare_install(_cfg(), rt)
    message = str(caught.value)
    assert message.startswith(f"your Sieve script {MAILCOW.sieve_before} does not compile (")
    assert "line 1: error: parse failed." in message
    assert message.endswith("then run install again; nothing was changed")
    assert "\n" not in message
    assert rt.files == before and rt.restarts == []
