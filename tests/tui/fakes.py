"""Fake sources for the console, fed from recorded data: deterministic, no network."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from typing import Any

from dsnwatch.dsn import read_report
from dsnwatch.install.doctor import Check
from dsnwatch.logs.follow import FollowerState, LogQueue
from dsnwatch.logs.readers import read_line
from dsnwatch.store import Store, Where
from dsnwatch.tui.sources import Sources, StageUpdate, TestOutcome

HERE = Path(__file__).parent
DATA = HERE / "data"
FIXTURES = HERE.parent / "fixtures"
# 2026-12-03 16:30:00 UTC: half an hour after the recorded log.
NOW = 1796315400.0


def recorded_lines() -> list[str]:
    return (DATA / "mailcow.log").read_text().splitlines()


class FakeFollower:
    """Puts recorded lines (and states) on the queue when started."""

    def __init__(
        self, queue: LogQueue, lines: Iterable[str], states: Iterable[FollowerState] = ()
    ) -> None:
        self.queue = queue
        self.lines = list(lines)
        self.states = list(states)
        self.started = threading.Event()
        self.stopped = threading.Event()

    def start(self) -> None:
        for state in self.states:
            self.queue.put(state)
        for line in self.lines:
            self.queue.put(read_line(line))
        self.started.set()

    def stop(self, timeout: float = 5.0) -> None:
        self.stopped.set()


class FakeWatcher:
    """Stores recorded reports, reports its states, then idles until stopped."""

    def __init__(
        self,
        store: Store,
        on_report: Callable[..., None],
        on_state: Callable[[str, str], None],
        on_progress: Callable[..., None],
        messages: list[tuple[int, bytes]],
        now: float,
        states: list[tuple[str, str]],
    ) -> None:
        self.store = store
        self.on_report = on_report
        self.on_state = on_state
        self.messages = messages
        self.now = now
        self.states = states
        self._stop = threading.Event()

    def run(self) -> None:
        for state, detail in self.states:
            self.on_state(state, detail)
        for uid, raw in self.messages:
            where = Where("INBOX", 7, uid)
            report = read_report(raw, source=f"imap:INBOX/7/{uid}")
            # A minute apart, each written just as it arrived, as on a live server.
            arrived = self.now - 60 * (len(self.messages) - uid)
            report.date = formatdate(arrived, usegmt=True)
            self.store.add_report(where, report, now=arrived)
            self.on_report(where, report)
        self.on_state("idle", "waiting for new mail in INBOX")
        self._stop.wait(30)

    def stop(self) -> None:
        self._stop.set()


@dataclass
class FakePlan:
    text: str = (
        "# Postfix: copy bounce notices to the central mailbox\n"
        "--- postfix:/opt/postfix/conf/extra.cf\n"
        "+++ postfix:/opt/postfix/conf/extra.cf\n"
        "@@ -1,2 +1,4 @@\n"
        " smtpd_tls_loglevel = 1\n"
        "+notify_classes = bounce, 2bounce, delay\n"
        "+bounce_notice_recipient = dsn-monitor@example.org\n"
        "# then: restart postfix (its settings are merged at start)\n"
    )
    empty: bool = False
    fail: str = ""
    applied: list[str] = field(default_factory=list)

    def apply(self, log: Callable[[str], None]) -> None:
        for step in ("wrote /opt/postfix/conf/extra.cf", "restarted postfix-mailcow"):
            log(step)
            self.applied.append(step)
        if self.fail:
            raise RuntimeError(self.fail)


def good_checks() -> list[Check]:
    return [
        Check("postfix", "OK", "running (docker)"),
        Check("dovecot", "OK", "running (docker)"),
        Check("mailbox", "OK", "dsn-monitor@example.org exists"),
        Check("postfix settings", "OK", "active (notify mode)"),
        Check("sieve rule", "OK", "installed in sieve_before and compiled"),
    ]


def fake_runner(
    kind: str, stage: Callable[[StageUpdate], None], stop: threading.Event
) -> list[TestOutcome]:
    names = [
        "sent",
        "accepted by postfix",
        "bounce written",
        "redirected to the mailbox",
        "report read",
    ]
    for n, name in enumerate(names):
        stage(StageUpdate(kind, name, "running"))
        stage(StageUpdate(kind, name, "passed", f"step {n + 1}", seconds=0.5 * (n + 1)))
    return [TestOutcome(kind, True, "every stage passed in 2.5s")]


def report_messages(
    names: Iterable[str] = (
        "postfix-userunknown.eml",
        "qmail-freetext.eml",
        "arf-abuse.eml",
        "global-dsn-utf8.eml",
        "out-of-office.eml",
    ),
) -> list[tuple[int, bytes]]:
    return [(n, (FIXTURES / name).read_bytes()) for n, name in enumerate(names, start=1)]


def make_sources(
    tmp: Path,
    *,
    lines: Iterable[str] | None = None,
    follower_states: Iterable[FollowerState] = (),
    messages: list[tuple[int, bytes]] | None = None,
    mailbox_states: list[tuple[str, str]] | None = None,
    checks: list[Check] | None = None,
    plan: FakePlan | None = None,
    raw_by_uid: dict[int, bytes] | None = None,
    with_watcher: bool = True,
    with_followers: bool = True,
    runner: Any = fake_runner,
    created: dict[str, Any] | None = None,
) -> Sources:
    """Sources over a store in `tmp`, recorded log lines and recorded reports."""
    path = tmp / "store.sqlite"
    recorded = recorded_lines() if lines is None else list(lines)
    msgs = report_messages() if messages is None else messages
    by_uid = dict(msgs) if raw_by_uid is None else raw_by_uid
    created = {} if created is None else created

    def followers(queue: LogQueue) -> FakeFollower:
        follower = FakeFollower(queue, recorded, follower_states)
        created["follower"] = follower
        return follower

    def watcher(store: Store, on_report: Any, on_state: Any, on_progress: Any) -> FakeWatcher:
        fake = FakeWatcher(store, on_report, on_state, on_progress, msgs, NOW, mailbox_states or [])
        created["watcher"] = fake
        return fake

    def fetch(row: dict[str, Any]) -> bytes:
        raw = by_uid.get(int(row["uid"]))
        if raw is None:
            raise RuntimeError(f"message {row['uid']} is no longer in INBOX")
        return raw

    return Sources(
        server="mailcowdockerized",
        open_store=lambda: Store(path),
        monitor="dsn-monitor@example.org",
        followers=followers if with_followers else None,
        followers_problem="Docker is not configured",
        watcher=watcher if with_watcher else None,
        watcher_problem="set imap.host to read the mailbox",
        fetch_message=fetch,
        doctor=(lambda: list(checks if checks is not None else good_checks())),
        plan_install=(lambda: plan if plan is not None else FakePlan()),
        run_test=runner,
        clock=lambda: NOW,
    )
