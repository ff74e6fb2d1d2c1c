"""`dsnwatch tail` stops on Ctrl-C and on SIGTERM with what it showed stored."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from docs_commands import ctrl_c_reaches

from dsnwatch.store import Store

Item = dict[str, Any]
LINE = "Dec  3 16:00:{n:02d} mx postfix/qmgr[1]: ABCDEF{n:04d}: from=<>, size=1, nrcpt=1\n"


def _tail(tmp_path: Path, log: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "DSNWATCH_STORE": str(tmp_path / "timeline.sqlite"),
    }
    env.pop("DSNWATCH_CONFIG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "dsnwatch", "tail", "--json", "--file", str(log)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=ctrl_c_reaches,
    )


def _read(proc: subprocess.Popen[str], done: Callable[[list[Item]], bool]) -> list[Item]:
    """Lines of output, read until `done` says so."""
    assert proc.stdout is not None
    out: list[Item] = []
    while not done(out):
        line = proc.stdout.readline()
        assert line, f"tail ended early: {out}"
        out.append(json.loads(line))
    return out


@pytest.mark.timeout(60)
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_tail_stops_on_the_signal_and_keeps_what_it_showed(
    tmp_path: Path, signum: signal.Signals
) -> None:
    log = tmp_path / "mail.log"
    log.write_text("")
    proc = _tail(tmp_path, log)
    try:
        _read(proc, lambda out: any(o.get("state") == "following" for o in out))
        with log.open("a") as fh:
            fh.writelines(LINE.format(n=n) for n in range(7))
        shown = _read(proc, lambda out: sum(o["type"] == "event" for o in out) == 7)
        assert [o["queue_id"] for o in shown if o["type"] == "event"] == [
            f"ABCDEF{n:04d}" for n in range(7)
        ]
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    events = Store(tmp_path / "timeline.sqlite").table("events")
    assert [e["queue_id"] for e in events] == [f"ABCDEF{n:04d}" for n in range(7)]
