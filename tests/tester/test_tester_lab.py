"""`dsnwatch test` against the lab: every stage after install, and the right failure
when a link is missing.

Set DSNWATCH_LAB_DIR to share a running lab. The module restores the lab to the
state it found (installed or not) with the installer's own functions.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from lab.install_target import LabTarget, lab_target
from typer.testing import CliRunner

from dsnwatch.tester.cli import format_result, register
from dsnwatch.tester.run import TestError, run_tests

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def target() -> Iterator[LabTarget]:
    the_target = next(gen := lab_target())
    the_target.install()
    yield the_target
    next(gen, None)


def _stage(results: list[Any], kind: str) -> dict[str, Any]:
    return {s.id: s for s in next(r for r in results if r.spec.kind == kind).stages}


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def root(ctx: typer.Context) -> None:
        """The lab's settings, as `dsnwatch --lab` gives them."""
        ctx.obj = {"config": None, "lab": True}

    register(app)
    return app


def test_test_all_passes_every_stage_after_install(
    target: LabTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DSNWATCH_STORE", str(tmp_path / "dsnwatch.sqlite"))
    started = time.monotonic()
    result = CliRunner().invoke(_app(), ["test", "all", "--wait", "60", "--json"])
    took = time.monotonic() - started
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["passed"] is True
    assert [t["test"] for t in out["tests"]] == ["local", "remote", "ses", "complaint"]
    for test in out["tests"]:
        states = {s["id"]: s["state"] for s in test["stages"]}
        # full-copy (the default): Postfix copies its own bounces, the Sieve rule skips them.
        expected_skips = {"postfix-copy"} if test["test"] in ("ses", "complaint") else {"redirect"}
        assert {k for k, v in states.items() if v == "skipped"} == expected_skips, test
        assert {v for k, v in states.items() if k not in expected_skips} == {"passed"}, test
    # The figures for the closing note: the wall time and each stage's time.
    print(f"\n`dsnwatch test all` in the lab: {took:.2f}s wall time")
    for test in out["tests"]:
        times = ", ".join(
            f"{s['id']} {s['at']:.2f}s" for s in test["stages"] if s["at"] is not None
        )
        print(f"  {test['test']}: {test['duration']:.2f}s ({times})")


@pytest.mark.parametrize("kind", ["local", "remote", "ses", "complaint"])
def test_each_test_passes_alone_is_stored_and_rate_limited(
    target: LabTarget, tmp_path: Path, kind: str
) -> None:
    cfg = target.config(tmp_path)
    results = run_tests(cfg, [kind], wait=60)
    assert len(results) == 1
    assert results[0].passed, format_result(results[0])
    from dsnwatch.store import Store

    store = Store(cfg.store)
    try:
        rows = store.table("test_runs")
    finally:
        store.close()
    assert [(r["test"], r["token"], r["passed"]) for r in rows] == [
        (kind, results[0].spec.token, 1)
    ]
    with pytest.raises(TestError, match=f"a {kind} test ran"):
        run_tests(cfg, [kind], wait=60)


def test_local_fails_at_the_postfix_copy_without_the_postfix_part(
    target: LabTarget, tmp_path: Path
) -> None:
    target.uninstall("postfix")
    try:
        results = run_tests(target.config(tmp_path), ["local"], wait=60)
    finally:
        target.install()
    result = results[0]
    failed = result.failed_stage
    assert failed is not None, format_result(result)
    assert failed.id == "postfix-copy"
    assert failed.detail == (
        f"Postfix bounced it, but no copy reached {target.cfg.mailbox}: "
        "the dsnwatch bounce cleanup (full-copy mode) is not active; run dsnwatch doctor"
    )
    stages = _stage(results, "local")
    assert stages["redirect"].state == "passed"  # the Sieve rule still copied it
    assert stages["mailbox"].state == "passed"
    assert result.duration is not None and result.duration < 40


def test_remote_fails_at_the_redirect_without_the_sieve_rule(
    target: LabTarget, tmp_path: Path
) -> None:
    # notify mode: there the Sieve rule is what copies the sender's own bounce.
    target.install(postfix_mode="notify")
    target.uninstall("dovecot")
    try:
        results = run_tests(target.config(tmp_path, postfix_mode="notify"), ["remote"], wait=60)
    finally:
        target.install()
    result = results[0]
    failed = result.failed_stage
    assert failed is not None, format_result(result)
    assert failed.id == "redirect"
    assert "Sieve did not copy it" in failed.detail
    assert "sieve_before rule is missing or not active; run dsnwatch doctor" in failed.detail
    stages = _stage(results, "remote")
    assert stages["postfix-copy"].state == "passed"
    assert stages["mailbox"].state == "passed"  # the postmaster copy still arrived


def test_the_run_expects_the_mode_that_is_installed_not_the_configured_one(
    target: LabTarget, tmp_path: Path
) -> None:
    # install --postfix-mode notify on a server whose config still says full-copy.
    target.install(postfix_mode="notify")
    try:
        cfg = target.config(tmp_path)
        assert cfg.postfix_mode == "full-copy"
        results = run_tests(cfg, ["local"], wait=60)
    finally:
        target.install()
    result = results[0]
    assert result.spec.postfix_mode == "notify"
    assert result.passed, format_result(result)
    copy = _stage(results, "local")["postfix-copy"]
    assert copy.state == "passed"
    assert copy.detail.startswith("postmaster copy "), copy.detail


@pytest.mark.parametrize(
    ("kind", "to"),
    [
        ("local", "bob@lab.test"),
        ("remote", "user@lab.test"),
        ("ses", "success@simulator.amazonses.com"),
        ("complaint", "bob@lab.test"),
    ],
)
def test_the_launcher_refuses_a_target_outside_its_rules(
    target: LabTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, to: str
) -> None:
    monkeypatch.setenv("DSNWATCH_STORE", str(tmp_path / "dsnwatch.sqlite"))
    result = CliRunner().invoke(_app(), ["test", kind, "--to", to])
    assert result.exit_code == 2
    assert "dsnwatch: error:" in result.output
    with pytest.raises(TestError):
        run_tests(target.config(tmp_path), [kind], to=to)
