"""Launching: the rate limit, the sender's own checks, and the command line's refusals."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dsnwatch.config import Config
from dsnwatch.store import Store
from dsnwatch.tester.model import TestSpec
from dsnwatch.tester.run import TestError, check_rate, expand, plan_tests
from dsnwatch.tester.send import SendError, SmtpServer, compose, submit
from dsnwatch.tester.settings import TesterSettings
from dsnwatch.tester.targets import TargetRefused


def _cfg(tmp_path: Path) -> Config:
    return Config(
        mailbox="dsn-monitor@example.org",
        smtp_host="127.0.0.1",
        smtp_port=1,  # nothing listens: a test that got this far would fail to connect
        smtp_user="bounce-test@example.org",
        smtp_password="pw",
        remote_target="example.net",
        store=str(tmp_path / "store.sqlite"),
    )


def _settings() -> TesterSettings:
    return TesterSettings(remote_target="example.net", sender="bounce-test@example.org")


def test_all_expands_to_every_kind_once() -> None:
    assert expand(["all"]) == ["local", "remote", "ses", "complaint"]
    assert expand(["ses", "all"]) == ["ses", "local", "remote", "complaint"]
    with pytest.raises(TestError, match="unknown test"):
        expand(["everyone"])


def test_plan_gives_each_test_a_fresh_token_in_its_message_id(tmp_path: Path) -> None:
    specs = plan_tests(_cfg(tmp_path), _settings(), ["all"])
    assert len({s.token for s in specs}) == 4
    for spec in specs:
        assert spec.token in spec.message_id and spec.token in spec.recipient
        assert spec.message_id.endswith("@example.org>")


@pytest.mark.parametrize(
    ("kind", "to"),
    [
        ("local", "someone@example.com"),
        ("remote", "ceo@gmail.com"),
        ("ses", "success@simulator.amazonses.com"),
        ("complaint", "abuse@example.net"),
    ],
)
def test_plan_refuses_a_target_outside_the_rules(tmp_path: Path, kind: str, to: str) -> None:
    with pytest.raises(TestError):
        plan_tests(_cfg(tmp_path), _settings(), [kind], to=to)


def test_the_sender_checks_the_target_again_before_connecting() -> None:
    spec = TestSpec(
        kind="local",
        token="t",
        sender="bounce-test@example.org",
        recipient="victim@example.com",  # as if something had bypassed the plan
        message_id="<x@example.org>",
        monitor="dsn-monitor@example.org",
    )
    server = SmtpServer("127.0.0.1", 1, "starttls", "u", "p")
    with pytest.raises(TargetRefused):
        submit(spec, server, remote_target="example.net")


def test_the_sender_never_logs_in_without_tls_to_another_host() -> None:
    spec = TestSpec(
        kind="local",
        token="t",
        sender="bounce-test@example.org",
        recipient="x@y.invalid",
        message_id="<x@example.org>",
        monitor="dsn-monitor@example.org",
    )
    with pytest.raises(SendError, match="without TLS"):
        submit(spec, SmtpServer("mail.example.org", 25, "plain", "u", "p"), remote_target="")


def test_the_test_message_carries_its_token_in_a_header_and_the_message_id() -> None:
    spec = TestSpec(
        "ses",
        "abc",
        "a@example.org",
        "bounce@simulator.amazonses.com",
        "<m.abc@example.org>",
        "m@example.org",
    )
    msg = compose(spec)
    assert msg["X-Dsnwatch-Test"] == "ses abc"
    assert msg["Message-ID"] == "<m.abc@example.org>"
    assert msg["Auto-Submitted"] == "auto-generated"


def test_the_rate_limit_refuses_a_second_run_of_the_same_test(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    now = time.time()
    store.add_test_run("local", "tok", now - 10, now - 9, True, "PASS", [])
    with pytest.raises(TestError, match=r"a local test ran 10s ago; the next may run in 50s"):
        check_rate(store, ["local"], 60, now)
    check_rate(store, ["remote"], 60, now)  # another kind is free
    check_rate(store, ["local"], 5, now)  # the interval has passed
    store.close()


def _runner_app() -> object:
    import typer

    from dsnwatch.tester.cli import register

    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """Root."""

    register(app)
    return app


def _write_config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        'mailbox = "dsn-monitor@example.org"\n'
        f'store = "{tmp_path / "store.sqlite"}"\n'
        '[smtp]\nhost = "127.0.0.1"\nport = 1\nuser = "bounce-test@example.org"\npassword = "pw"\n'
        '[tests]\nremote_target = "example.net"\n' + extra
    )
    return path


def test_cli_refuses_a_to_outside_the_rules_with_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        _runner_app(),  # type: ignore[arg-type]
        ["test", "local", "--to", "someone@example.com", "--config", str(_write_config(tmp_path))],
    )
    assert result.exit_code == 2
    assert "local tests go only to an .invalid domain" in result.output


def test_cli_refuses_a_config_that_breaks_the_rules_with_exit_2(tmp_path: Path) -> None:
    path = _write_config(tmp_path, 'local_domain = "example.com"\n')
    result = CliRunner().invoke(_runner_app(), ["test", "local", "--config", str(path)])  # type: ignore[arg-type]
    assert result.exit_code == 2
    assert ".invalid" in result.output


def test_cli_refuses_an_unknown_kind_with_exit_2(tmp_path: Path) -> None:
    path = _write_config(tmp_path)
    result = CliRunner().invoke(_runner_app(), ["test", "everyone", "--config", str(path)])  # type: ignore[arg-type]
    assert result.exit_code == 2
    assert "unknown test" in result.output
