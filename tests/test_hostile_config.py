"""Hostile configuration: each mistake gives one line that says what to do, exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    full = dict(os.environ)
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "dsnwatch", *args], capture_output=True, text=True, env=full
    )


@pytest.mark.parametrize("command", ["doctor", "list", "tail", "install", "test", "config"])
def test_a_missing_config_file_is_one_line(command: str) -> None:
    args = ["--config", "/nonexistent/dsnwatch.toml", command]
    if command == "test":
        args.append("local")
    if command == "config":
        args.append("show")
    done = _run(*args)
    assert done.returncode == 2, done
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert "no such configuration file" in done.stderr


def test_a_config_that_is_not_a_file_is_one_line(tmp_path: Path) -> None:
    done = _run("--config", str(tmp_path), "config", "show")
    assert done.returncode == 2
    assert "cannot read it" in done.stderr and done.stderr.strip().count("\n") == 0


def test_broken_toml_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[imap]\nhost = "unterminated\n')
    done = _run("--config", str(path), "list")
    assert done.returncode == 2
    assert "fix the TOML syntax" in done.stderr and done.stderr.strip().count("\n") == 0


def test_a_wrong_docker_socket_says_what_to_set(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('mailbox = "dsn@example.org"\n[docker]\nhost = "unix:///nonexistent.sock"\n')
    done = _run("--config", str(path), "doctor")
    assert done.returncode == 1
    [line] = done.stdout.strip().splitlines()
    assert line.startswith("FAIL") and "Docker is not reachable" in line
    assert "set DOCKER_HOST or docker.host" in line


def test_passwords_never_reach_json_output(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        'mailbox = "dsn@example.org"\n[imap]\nhost = "127.0.0.1"\nport = 1\n'
        'password = "pw-in-config-1234"\n[docker]\nhost = "unix:///nonexistent.sock"\n'
    )
    for args in (["config", "show", "--json"], ["doctor", "--json"], ["list", "--json"]):
        done = _run("--config", str(path), *args)
        assert "pw-in-config-1234" not in done.stdout + done.stderr, args


def test_a_wrong_docker_socket_stops_tail_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        f'mailbox = "dsn@example.org"\nstore = "{tmp_path / "s.sqlite"}"\n'
        '[docker]\nhost = "unix:///nonexistent.sock"\n'
    )
    done = _run("--config", str(path), "tail")
    assert done.returncode == 2, done
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert "Docker is not reachable" in done.stderr and "set DOCKER_HOST" in done.stderr
