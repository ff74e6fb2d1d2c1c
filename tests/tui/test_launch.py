"""The console's wiring of the real launcher: stage changes become updates, results verdicts."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from dsnwatch.config import Config
from dsnwatch.tester import run as tester_run
from dsnwatch.tester.model import Stage, TestResult, TestSpec
from dsnwatch.tui.launch import server_label
from dsnwatch.tui.launch import test_runner as launcher_for
from dsnwatch.tui.sources import StageUpdate


def test_launcher_stages_become_updates_once_per_change(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = TestSpec(
        "local", "tok", "s@example.org", "x@t.invalid", "<m>", "dsn-monitor@example.org"
    )
    result = TestResult(spec, [Stage("submitted", "submitted"), Stage("redirect", "Sieve copy")])

    def fake_run_tests(cfg: Config, kinds: list[str], **kwargs: Any) -> list[TestResult]:
        update = kwargs["on_update"]
        update(result)
        update(result)  # nothing changed: no second update
        result.stages[0].state = "passed"
        result.stages[0].at = 0.4
        result.stages[1].state = "unreached"
        update(result)
        return [result]

    monkeypatch.setattr(tester_run, "run_tests", fake_run_tests)
    seen: list[StageUpdate] = []
    outcomes = launcher_for(Config())("local", seen.append, threading.Event())
    assert [(u.stage, u.state) for u in seen] == [
        ("submitted", "running"),
        ("Sieve copy", "running"),
        ("submitted", "passed"),
        ("Sieve copy", "skipped"),
    ]
    assert seen[2].seconds == 0.4
    assert outcomes[0].test == "local" and not outcomes[0].passed


def test_server_label_names_the_project_and_engine() -> None:
    cfg = Config(compose_project="mailcowdockerized", docker_host="unix:///run/lab/docker.sock")
    assert server_label(cfg) == "mailcowdockerized @ /run/lab/docker.sock"


@pytest.mark.parametrize(
    ("kind", "changes", "why"),
    [
        ("remote", {"remote_target": "example.org"}, "this server's own domain"),
        ("remote", {"remote_target": ""}, "remote_target"),
    ],
)
def test_console_launcher_keeps_the_target_rules(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, kind: str, changes: dict[str, str], why: str
) -> None:
    """The console's `t` goes through the launcher's rules: nothing is sent outside them."""
    import smtplib

    def no_smtp(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a test mail was sent")

    monkeypatch.setattr(smtplib, "SMTP", no_smtp)
    monkeypatch.setattr(smtplib, "SMTP_SSL", no_smtp)
    cfg = Config(
        mailbox="dsn-monitor@example.org",
        smtp_host="127.0.0.1",
        smtp_user="sender@example.org",
        smtp_password="x",
        store=str(tmp_path / "store.sqlite"),
        **changes,
    )
    with pytest.raises(Exception, match=why):
        launcher_for(cfg)(kind, lambda _u: None, threading.Event())
