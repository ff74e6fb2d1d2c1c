"""The console as a person uses it, against the lab: in tmux, keys in, the screen read back.

A test bounce is fired with its key; the captured screen must show every stage
passing and the new report in the report pane.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from lab.install_target import LabTarget, lab_target

pytestmark = pytest.mark.lab


class Tmux:
    """One tmux session running a command, with keys in and the screen out."""

    def __init__(self, command: list[str], env: dict[str, str], width: int, height: int) -> None:
        self.name = f"dsnwatch-{uuid.uuid4().hex[:8]}"
        exports = " ".join(f"{k}={v}" for k, v in env.items())
        # COLUMNS and LINES, if the caller has them, would override the pane's size.
        shell = f"env -u COLUMNS -u LINES {exports} {' '.join(command)}"
        subprocess.run(
            [
                "tmux",
                "new-session",
                "-d",
                "-s",
                self.name,
                "-x",
                str(width),
                "-y",
                str(height),
                shell,
            ],
            check=True,
        )
        # A detached session takes tmux's default size unless told otherwise.
        subprocess.run(
            ["tmux", "set-option", "-t", self.name, "window-size", "manual"], check=False
        )
        subprocess.run(
            ["tmux", "resize-window", "-t", self.name, "-x", str(width), "-y", str(height)],
            check=False,
        )

    def screen(self) -> str:
        done = subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True
        )
        return done.stdout

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def wait(self, predicate: Callable[[str], bool], timeout: float, what: str) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.screen()
            if predicate(text):
                return text
            time.sleep(0.3)
        raise AssertionError(f"the screen never showed {what}; it shows:\n{text}")

    def alive(self) -> bool:
        return (
            subprocess.run(["tmux", "has-session", "-t", self.name], capture_output=True).returncode
            == 0
        )

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


@pytest.fixture(scope="module")
def target() -> Iterator[LabTarget]:
    """The lab with the pipeline installed; left as it was found afterwards."""
    the_target = next(gen := lab_target())
    the_target.install()
    yield the_target
    next(gen, None)


@pytest.fixture
def console(target: LabTarget, tmp_path: Path) -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("tmux is needed for the console test in CI", pytrace=False)
        pytest.skip("tmux is not installed")
    env = {
        "DSNWATCH_LAB_DIR": str(target.lab.settings.lab_dir),
        "DSNWATCH_STORE": str(tmp_path / "console.sqlite"),
        "TERM": "xterm-256color",
    }
    session = Tmux([sys.executable, "-m", "dsnwatch", "--lab"], env, 160, 48)
    yield session
    session.close()


def _report_count(screen: str) -> int:
    found = re.search(r"(\d[\d,]*) of (\d[\d,]*) reports", screen)
    return int(found.group(2).replace(",", "")) if found else -1


def test_a_test_bounce_fired_from_the_console_passes_and_shows_its_report(console: Tmux) -> None:
    ready = console.wait(
        lambda s: "imap idle" in s and "logs following" in s and _report_count(s) >= 0,
        60,
        "both sources live and the reports read",
    )
    # The first sync is over once IMAP is idle; let the pane show all it read.
    before = _report_count(ready)
    while True:
        time.sleep(1.5)
        now = _report_count(console.screen())
        if now == before:
            break
        before = now
    console.keys("t")
    console.wait(lambda s: "Local: to an .invalid address" in s, 10, "the test menu")
    console.keys("Enter")
    console.wait(lambda s: "Send the local test bounce now?" in s, 10, "the confirmation")
    console.keys("y")
    shown = console.wait(
        lambda s: "PASSED" in s or "FAILED" in s, 120, "the verdict of the local test"
    )
    assert "PASSED" in shown, shown
    assert "[!!]" not in shown, shown
    for stage in ("submitted", "report written", "not discarded", "in the central mailbox"):
        lines = [line for line in shown.splitlines() if stage in line]
        assert lines and "[ok]" in lines[0], shown
    console.keys("Escape")
    main = console.wait(lambda s: _report_count(s) > before, 60, "the new report")
    reports = main.split("Reports", 1)[-1]
    # Newest first: the first row is the report the test just produced.
    row = next(line for line in reports.splitlines() if "@" in line)
    assert "@dsnwatch-test." in row, row
    assert "hostunknown" in row and "5.4.4" in row, row
    console.keys("q")
    deadline = time.monotonic() + 15
    while console.alive() and time.monotonic() < deadline:
        time.sleep(0.3)
    assert not console.alive(), "q did not quit the console"
