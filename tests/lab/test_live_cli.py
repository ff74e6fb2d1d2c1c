"""`dsnwatch tail`, `list` and `export` as a person runs them, against the lab."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from docs_commands import ctrl_c_reaches

from dsnwatch.lab import Lab
from lab.lab_helpers import imap_login, new_token, send

pytestmark = pytest.mark.lab

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _env(lab: Lab, tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["DSNWATCH_LAB_DIR"] = str(lab.settings.lab_dir)
    env["DSNWATCH_STORE"] = str(tmp_path / "cli.sqlite")
    return env


def _dsnwatch(*args: str) -> list[str]:
    return [sys.executable, "-m", "dsnwatch", "--lab", *args]


def test_tail_prints_typed_events_and_stops_cleanly(lab: Lab, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        _dsnwatch("tail", "--json"),
        env=_env(lab, tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=ctrl_c_reaches,
    )
    try:
        time.sleep(3)
        msgid = send(lab, lab.settings.address("bob"), new_token())
        time.sleep(4)
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    states = {(o["source"], o["state"]) for o in lines if o["type"] == "state"}
    assert ("dovecot", "following") in states and ("postfix", "following") in states
    events = [o for o in lines if o["type"] == "event"]
    assert any(o["msgid"] == msgid for o in events), events[-5:]
    assert any(o["kind"] == "postfix-delivery" and o["status"] == "sent" for o in events)


def test_list_reads_the_mailbox_and_filters(lab: Lab, tmp_path: Path) -> None:
    folder_user = "dsn-monitor"
    data = (FIXTURES / "postfix-userunknown.eml").read_bytes()
    token = new_token()
    client = imap_login(lab, folder_user)
    try:
        client.append("INBOX", data.replace(b"nobody@remote.test", f"{token}@remote.test".encode()))
    finally:
        client.logout()
    env = _env(lab, tmp_path)
    done = subprocess.run(
        _dsnwatch("list", "--json", "--hard"), env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    mine = [r for r in rows if r["recipient"] == f"{token}@remote.test"]
    assert len(mine) == 1 and mine[0]["reason"] == "userunknown"
    # The second run reads nothing new and shows the same rows from the store.
    again = subprocess.run(
        _dsnwatch("list", "--csv", "--reason", "userunknown"),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 0
    assert f"{token}@remote.test" in again.stdout
    header = again.stdout.splitlines()[0].split(",")
    assert header[:3] == ["id", "stored_at", "reported_at"] and "recipient" in header
    exported = subprocess.run(
        _dsnwatch("export", "--format", "json"), env=env, capture_output=True, text=True, timeout=60
    )
    assert any(
        json.loads(line).get("recipient") == f"{token}@remote.test"
        for line in exported.stdout.splitlines()
    )


def test_list_since_asks_when_the_report_was_written(lab: Lab, tmp_path: Path) -> None:
    from email.utils import formatdate

    token = new_token()
    data = (FIXTURES / "postfix-userunknown.eml").read_bytes()
    data = data.replace(b"nobody@remote.test", f"{token}@remote.test".encode())
    three_days_ago = formatdate(time.time() - 3 * 86_400).encode()
    data = data.replace(b"Date: Tue,  1 Dec 2026 10:00:00 +0000 (UTC)", b"Date: " + three_days_ago)
    assert three_days_ago in data
    client = imap_login(lab, "dsn-monitor")
    try:
        client.append("INBOX", data)
    finally:
        client.logout()
    env = _env(lab, tmp_path)

    def recipients(since: str) -> list[str]:
        done = subprocess.run(
            _dsnwatch("list", "--json", "--since", since),
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return [json.loads(line)["recipient"] for line in done.stdout.splitlines()]

    # Read just now, written three days ago: not in the last day, in the last week.
    assert f"{token}@remote.test" not in recipients("1d")
    assert f"{token}@remote.test" in recipients("7d")


def test_wrong_password_is_one_line_and_exit_1(lab: Lab, tmp_path: Path) -> None:
    env = _env(lab, tmp_path)
    env["DSNWATCH_IMAP_PASSWORD"] = "not-the-password"
    done = subprocess.run(_dsnwatch("list"), env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0
    assert "check the user and password" in done.stderr
    assert "not-the-password" not in done.stderr + done.stdout
