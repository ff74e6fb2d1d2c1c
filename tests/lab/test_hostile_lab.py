"""Hostile configuration against the lab: one line that says what to do, and install
never makes a server worse.

The commands run as a subprocess, as an operator runs them, with one setting made
wrong through its `DSNWATCH_*` variable.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dsnwatch.config import load_config
from dsnwatch.lab import Lab
from lab.install_target import PIPELINE_FILES, LabTarget, lab_target
from lab.lab_helpers import new_token, send, wait_for_messages

pytestmark = pytest.mark.lab

PROJECT = "nosuchproject"


def _dsnwatch(*args: str, tmp: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "DSNWATCH_STORE": str(tmp / "store.sqlite"), **env}
    return subprocess.run(
        [sys.executable, "-m", "dsnwatch", "--lab", *args],
        capture_output=True,
        text=True,
        env=full,
        timeout=180,
    )


def _one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


# An unknown compose project: a config naming a project that has no containers.


def test_unknown_project_stops_tail_with_one_line(lab: Lab, tmp_path: Path) -> None:
    done = _dsnwatch("tail", tmp=tmp_path, DSNWATCH_DOCKER_PROJECT=PROJECT)
    assert done.returncode == 2, done
    line = _one_line(done.stderr)
    assert f"compose project '{PROJECT}'" in line
    assert "set docker.project to mailcow.conf's COMPOSE_PROJECT_NAME" in line
    assert done.stdout == ""


def test_unknown_project_fails_doctor_in_one_line(lab: Lab, tmp_path: Path) -> None:
    done = _dsnwatch("doctor", tmp=tmp_path, DSNWATCH_DOCKER_PROJECT=PROJECT)
    assert done.returncode == 1, done
    line = _one_line(done.stdout)
    assert line.startswith("FAIL") and "set docker.project" in line


def test_unknown_project_stops_install_before_anything(lab: Lab, tmp_path: Path) -> None:
    done = _dsnwatch("install", tmp=tmp_path, DSNWATCH_DOCKER_PROJECT=PROJECT)
    assert done.returncode == 1, done
    assert "set docker.project" in _one_line(done.stderr)


def test_unknown_project_shows_in_the_console(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dsnwatch.tui.app import DsnwatchApp
    from dsnwatch.tui.launch import sources_from_config
    from dsnwatch.tui.widgets.status import header_content

    monkeypatch.setenv("DSNWATCH_DOCKER_PROJECT", PROJECT)
    cfg = load_config(lab=True)
    cfg.store = str(tmp_path / "store.sqlite")
    app = DsnwatchApp(sources_from_config(cfg))

    async def run() -> tuple[str, str]:
        async with app.run_test(size=(160, 40)) as pilot:
            await pilot.pause(0.5)  # the main screen is up
            health = app.header.health
            for _ in range(300):
                await pilot.pause(0.05)
                if "missing" in health.logs.values() and health.pipeline != "checking":
                    break
            await pilot.pause(0.2)
            return header_content(health).plain, app.log_view.placeholder

    header, pane = asyncio.run(run())
    assert f"{PROJECT}" in header and "logs missing" in header, header
    assert "pipeline 1 failing" in header, header
    assert f"compose project '{PROJECT}'" in pane and "set docker.project" in pane, pane


# A central mailbox that does not exist.


def test_missing_mailbox_stops_install_and_fails_doctor(lab: Lab, tmp_path: Path) -> None:
    nobody = "nobody-here@lab.test"
    done = _dsnwatch("install", tmp=tmp_path, DSNWATCH_MAILBOX=nobody)
    assert done.returncode == 1, done
    line = _one_line(done.stderr)
    assert f"the central mailbox {nobody} does not exist" in line
    assert "create it in the mailcow admin UI" in line
    done = _dsnwatch("doctor", tmp=tmp_path, DSNWATCH_MAILBOX=nobody)
    assert done.returncode == 1
    [mailbox] = [c for c in done.stdout.splitlines() if c.split()[1:2] == ["mailbox:"]]
    assert mailbox.startswith("FAIL") and nobody in mailbox, done.stdout


# The operator's own Sieve script does not compile.


@pytest.fixture
def target() -> Iterator[LabTarget]:
    yield from lab_target()


def _modes(target: LabTarget) -> dict[tuple[str, str], str]:
    """Owner, group and mode of every file install may change (missing ones left out)."""
    out: dict[tuple[str, str], str] = {}
    for service, path in PIPELINE_FILES:
        result = target.runtime.exec(service, ["stat", "-c", "%U:%G:%a", path])
        if result.ok:
            out[(service, path)] = result.output.strip()
    return out


def _delivers(lab: Lab) -> None:
    token = new_token()
    send(lab, lab.settings.address("bob"), token)
    wait_for_messages(lab, "bob", token, timeout=60)


@pytest.mark.parametrize("installed", [False, True], ids=["fresh", "reinstall"])
def test_operator_sieve_syntax_error_stops_install_and_changes_nothing(
    lab: Lab, target: LabTarget, tmp_path: Path, installed: bool
) -> None:
    if installed:
        target.install()
    else:
        target.uninstall()
    script = lab.settings.mailcow_dir / "data" / "conf" / "dovecot" / "global_sieve_before"
    original = script.read_bytes()
    lines = original.decode().count("\n")
    try:
        # The operator's own rule, with its semicolon missing.
        script.write_bytes(original + b'if header :contains "Subject" "spam" { fileinto "Junk" }\n')
        files, modes = target.snapshot(), _modes(target)
        done = _dsnwatch("install", tmp=tmp_path)
        assert done.returncode == 1, done
        line = _one_line(done.stderr)
        assert f"your Sieve script /etc/dovecot/global_sieve_before ({script} on the host)" in line
        assert f"line {lines + 1}: error" in line, line
        assert "fix it" in line and line.endswith("nothing was changed"), line
        assert target.snapshot() == files
        assert _modes(target) == modes
        _delivers(lab)
    finally:
        script.write_bytes(original)


# Secrets: never in output, the store or an error; TLS verified by default.


def test_passwords_never_reach_output_errors_or_the_store(
    lab: Lab, target: LabTarget, tmp_path: Path
) -> None:
    target.install()  # the local test bounce needs the pipeline, whatever ran before
    secrets = [lab.settings.password("dsn-monitor"), lab.settings.password("alice")]
    wrong = "not-the-password-7f3a"
    env = {"DSNWATCH_TESTS_MIN_INTERVAL": "0"}
    runs = [
        _dsnwatch("test", "local", "--json", tmp=tmp_path, **env),
        _dsnwatch("list", "--json", tmp=tmp_path),
        _dsnwatch("export", "--format", "json", tmp=tmp_path),
        _dsnwatch("doctor", "--json", tmp=tmp_path),
        _dsnwatch("config", "show", "--json", tmp=tmp_path),
        # Wrong passwords: the errors name the user, never what was tried.
        _dsnwatch("list", tmp=tmp_path, DSNWATCH_IMAP_PASSWORD=wrong),
        _dsnwatch("test", "remote", tmp=tmp_path, DSNWATCH_SMTP_PASSWORD=wrong, **env),
    ]
    assert runs[0].returncode == 0, runs[0]
    assert runs[5].returncode == 1 and "check the user and password" in runs[5].stderr
    assert runs[6].returncode == 1 and "check the password" in runs[6].stdout, runs[6]
    said = "".join(r.stdout + r.stderr for r in runs)
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("store.sqlite*"))
    assert b"dsnwatch-test" in stored  # the store did record the runs
    for secret in [*secrets, wrong]:
        assert secret not in said
        assert secret.encode() not in stored


def test_smtp_certificate_is_verified_by_default(lab: Lab, tmp_path: Path) -> None:
    # The system's CAs, which do not know the lab's: the submission must be refused.
    done = _dsnwatch(
        "test",
        "local",
        tmp=tmp_path,
        DSNWATCH_SMTP_CA="/etc/ssl/certs/ca-certificates.crt",
        DSNWATCH_TESTS_MIN_INTERVAL="0",
    )
    assert done.returncode == 1, done
    assert "certificate not trusted" in done.stdout and "set [smtp] ca" in done.stdout, done


def test_install_keeps_the_owner_and_mode_of_every_file_it_changes(
    lab: Lab, target: LabTarget
) -> None:
    target.uninstall()
    found = _modes(target)
    try:
        for service, path in found:
            # Modes of the operator's own choosing, which install must keep.
            target.runtime.exec(service, ["chmod", "640", path])
        before = _modes(target)
        target.install()
        after = _modes(target)
        assert before and set(before) <= set(after), (before, after)
        assert {k: after[k] for k in before} == before
        _delivers(lab)
    finally:
        for (service, path), mode in found.items():
            target.runtime.exec(service, ["chmod", mode.rsplit(":", 1)[1], path])


def test_operator_sieve_after_error_is_left_alone_by_install(
    lab: Lab, target: LabTarget, tmp_path: Path
) -> None:
    # Install never touches global_sieve_after: a broken one stays as it is, mail flows.
    target.uninstall()
    script = lab.settings.mailcow_dir / "data" / "conf" / "dovecot" / "global_sieve_after"
    original = script.read_bytes()
    try:
        broken = original + b'if header :contains "Subject" "x" { fileinto "Junk" }\n'
        script.write_bytes(broken)
        done = _dsnwatch("install", tmp=tmp_path)
        assert done.returncode == 0, done
        assert script.read_bytes() == broken
        _delivers(lab)
    finally:
        script.write_bytes(original)
