"""The three commands through typer, on the in-memory runtime."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from install_fakes import MAILBOX, FakeRuntime, mailcow_runtime
from typer.testing import CliRunner

from dsnwatch.install.apply import CHECK_SCRIPT
from dsnwatch.install.cli import register


@pytest.fixture
def app_and_runtime(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> tuple[typer.Typer, FakeRuntime]:
    rt = mailcow_runtime()
    monkeypatch.setattr("dsnwatch.runtime.make_runtime", lambda _cfg: rt)
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'mailbox = "{MAILBOX}"\n')
    monkeypatch.setenv("DSNWATCH_CONFIG", str(cfg))
    app = typer.Typer(rich_markup_mode=None)
    register(app)
    return app, rt


def test_dry_run_prints_the_diff_and_exits_zero(
    app_and_runtime: tuple[typer.Typer, FakeRuntime],
) -> None:
    app, rt = app_and_runtime
    result = CliRunner().invoke(app, ["install", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "+bounce unix - - n - 0 bounce -o cleanup_service_name=dsnwatch-cleanup" in result.output
    # Only the scratch copy of the operator's Sieve script that sievec checks, then removed.
    assert rt.writes == [CHECK_SCRIPT]
    assert ("dovecot", CHECK_SCRIPT) not in rt.files


def test_install_then_install_again_says_nothing_to_change(
    app_and_runtime: tuple[typer.Typer, FakeRuntime],
) -> None:
    app, _rt = app_and_runtime
    assert CliRunner().invoke(app, ["install"]).exit_code == 0
    again = CliRunner().invoke(app, ["install"])
    assert again.exit_code == 0 and "Nothing to change" in again.output


def test_missing_mailbox_is_a_one_line_error(
    app_and_runtime: tuple[typer.Typer, FakeRuntime],
) -> None:
    app, rt = app_and_runtime
    rt.users = set()
    result = CliRunner().invoke(app, ["install"])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "does not exist" in result.output


def test_bad_postfix_mode_is_a_usage_error(
    app_and_runtime: tuple[typer.Typer, FakeRuntime],
) -> None:
    app, _rt = app_and_runtime
    assert CliRunner().invoke(app, ["install", "--postfix-mode", "bcc"]).exit_code == 2


def test_doctor_json_and_exit_code(app_and_runtime: tuple[typer.Typer, FakeRuntime]) -> None:
    app, _rt = app_and_runtime
    result = CliRunner().invoke(app, ["doctor", "--json"])
    assert result.exit_code == 1
    checks = json.loads(result.output)
    assert {"name", "status", "message"} <= set(checks[0])


def test_uninstall_without_install_says_nothing_to_remove(
    app_and_runtime: tuple[typer.Typer, FakeRuntime],
) -> None:
    app, _rt = app_and_runtime
    result = CliRunner().invoke(app, ["uninstall"])
    assert result.exit_code == 0 and "Nothing to remove" in result.output


def test_ses_in_the_config_alone_does_not_touch_aws(
    app_and_runtime: tuple[typer.Typer, FakeRuntime],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    app, _rt = app_and_runtime
    cfg = tmp_path / "ses.toml"
    cfg.write_text(f'mailbox = "{MAILBOX}"\n[ses]\nidentities = ["example.org"]\n')

    def no_aws() -> None:
        raise AssertionError("SES was called without --ses-identity")

    monkeypatch.setattr("dsnwatch.install.ses.make_client", no_aws)
    result = CliRunner().invoke(app, ["install", "--dry-run", "--config", str(cfg)])
    assert result.exit_code == 0, result.output
