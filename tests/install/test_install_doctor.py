"""The doctor: one line per link, and the blueprint's broken setups recognised."""

from __future__ import annotations

from install_fakes import MAILBOX, mailcow_runtime

from dsnwatch.config import Config
from dsnwatch.install import carry_out, prepare_install
from dsnwatch.install.doctor import exit_code, run_doctor
from dsnwatch.install.plan import MAILCOW


def _by_name(checks: list) -> dict[str, str]:  # type: ignore[type-arg]
    return {c.name: c.status for c in checks}


def test_fresh_mailcow_fails_on_postfix_and_sieve() -> None:
    rt = mailcow_runtime()
    checks = run_doctor(rt, MAILCOW, Config(mailbox=MAILBOX))
    status = _by_name(checks)
    assert status["mailbox"] == "OK"
    assert status["postfix settings"] == "FAIL"
    assert status["sieve rule"] == "FAIL"
    # Neither copy has the rule: that is not "the active copy matches".
    assert status["sieve active"] == "FAIL"
    assert exit_code(checks) == 1
    assert all(c.line().startswith(c.status) for c in checks)


def test_installed_full_copy_pipeline_passes() -> None:
    rt = mailcow_runtime()
    cfg = Config(mailbox=MAILBOX)
    carry_out(prepare_install(cfg, rt), log=lambda _m: None)
    checks = run_doctor(rt, MAILCOW, cfg)
    assert [c.line() for c in checks if c.status == "FAIL"] == []
    assert "active (full-copy mode)" in next(
        c.message for c in checks if c.name == "postfix settings"
    )


def test_doctor_checks_the_installed_mode_not_the_configured_one() -> None:
    rt = mailcow_runtime()
    carry_out(prepare_install(Config(mailbox=MAILBOX), rt), log=lambda _m: None)
    checks = run_doctor(rt, MAILCOW, Config(mailbox=MAILBOX, postfix_mode="notify"))
    assert _by_name(checks)["postfix settings"] == "OK"
    assert _by_name(checks)["sieve rule"] == "OK"


def test_installed_and_active_pipeline_passes() -> None:
    rt = mailcow_runtime()
    cfg = Config(mailbox=MAILBOX, postfix_mode="notify")
    carry_out(prepare_install(cfg, rt), log=lambda _m: None)
    rt.postconf = {
        "notify_classes": "resource, software, bounce, 2bounce, delay",
        **{f"{c}_notice_recipient": MAILBOX for c in ("bounce", "2bounce", "delay")},
    }
    checks = run_doctor(rt, MAILCOW, cfg)
    failed = [c.line() for c in checks if c.status == "FAIL"]
    assert failed == []
    assert exit_code(checks) == 0


def test_settings_written_but_not_active_ask_for_a_restart() -> None:
    rt = mailcow_runtime()
    cfg = Config(mailbox=MAILBOX, postfix_mode="notify")
    carry_out(prepare_install(cfg, rt), log=lambda _m: None)
    postfix_check = next(c for c in run_doctor(rt, MAILCOW, cfg) if c.name == "postfix settings")
    assert postfix_check.status == "FAIL" and "restart postfix-mailcow" in postfix_check.message


def test_overwritten_active_script_is_detected() -> None:
    rt = mailcow_runtime()
    cfg = Config(mailbox=MAILBOX)
    carry_out(prepare_install(cfg, rt), log=lambda _m: None)
    rt.files[("dovecot", MAILCOW.sieve_before_active)] = b'require "fileinto";\n'
    assert _by_name(run_doctor(rt, MAILCOW, cfg))["sieve active"] == "FAIL"


def test_blueprint_setup_is_flagged_with_reasons() -> None:
    rt = mailcow_runtime()
    rt.postconf = {"sender_bcc_maps": "hash:/opt/postfix/conf/sender_bcc"}
    rt.files[("dovecot", MAILCOW.sieve_after)] = (
        f'require ["copy"];\nif true {{ redirect :copy "{MAILBOX}"; keep; }}\n'.encode()
    )
    lines = [c.line() for c in run_doctor(rt, MAILCOW, Config(mailbox=MAILBOX))]
    assert any("never looks up the null sender" in line for line in lines)
    assert any("sieve_after" in line and "never runs" in line for line in lines)
    assert any("followed by `keep`" in line for line in lines)


def test_missing_mailbox_fails_with_what_to_do() -> None:
    rt = mailcow_runtime()
    rt.users = set()
    check = next(c for c in run_doctor(rt, MAILCOW, Config(mailbox=MAILBOX)) if c.name == "mailbox")
    assert check.status == "FAIL" and "create it" in check.message
