"""Fixtures of the lab tests: one lab for the whole session, mail and log helpers.

Where the lab cannot run (no Docker engine, no way to build the image), the lab
tests skip with the reason; under CI=true they fail instead, so CI never passes
without them.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import pytest

from dsnwatch.lab import EngineError, Lab, LabError, LabSettings, find_engine
from lab.install_target import unavailable
from lab.lab_helpers import LogFollower, follow_logs, new_token, send, wait_for_messages

TIMINGS: dict[str, float | str] = {}


def _progress(message: str, transient: bool) -> None:
    if not transient:
        print(f"[lab] {message}", flush=True)


@pytest.fixture(scope="session")
def lab() -> Lab:
    """The lab, brought up once (built first if needed)."""
    try:
        engine = find_engine()
    except EngineError as exc:
        unavailable(str(exc))
    the_lab = Lab(LabSettings.load(), engine, progress=_progress)
    try:
        started = time.monotonic()
        result = the_lab.up()
    except LabError as exc:
        unavailable(str(exc))
    TIMINGS["up"] = result.total_seconds
    TIMINGS["image"] = result.build_seconds
    TIMINGS["created"] = "started fresh" if result.created else "already running"
    # The first message through the lab: sender -> bob, seen over IMAP.
    token = new_token()
    send(the_lab, the_lab.settings.address("bob"), token)
    wait_for_messages(the_lab, "bob", token, timeout=60)
    TIMINGS["first_delivery"] = time.monotonic() - started
    return the_lab


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say how long the lab took, when it ran."""
    if "up" in TIMINGS:
        terminalreporter.write_line(
            f"lab: up in {TIMINGS['up']:.1f}s (image {TIMINGS['image']:.1f}s, "
            f"{TIMINGS['created']}); first message delivered "
            f"{TIMINGS['first_delivery']:.1f}s after `lab up` began"
        )


@pytest.fixture
def logs(lab: Lab) -> Iterator[dict[str, LogFollower]]:
    """Live log followers of every lab service, from the start of the test."""
    since = time.time()
    followers = {
        svc: follow_logs(lab.container(svc), since)
        for svc in ("postfix", "dovecot", "remote", "ses")
    }
    yield followers
    for follower in followers.values():
        with contextlib.suppress(Exception):
            follower.stream.close()
