"""The live sources against the lab: logs through the Docker API, the mailbox over IMAP.

Everything here crosses real boundaries: the Docker Engine API, real Postfix and
Dovecot, real IMAP with TLS checked against the lab's CA.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from dsnwatch.config import Config, config_from_lab
from dsnwatch.lab import Lab
from dsnwatch.logs.events import LogEvent
from dsnwatch.logs.follow import DockerLogFollower, FollowerState, LogQueue, wait_for
from dsnwatch.mailbox import ImapSettings, MailboxError, MailboxWatcher, connect
from dsnwatch.model import Report
from dsnwatch.runtime.docker import DockerRuntime
from dsnwatch.store import Store, Where
from lab.lab_helpers import imap_login, new_token, send

pytestmark = pytest.mark.lab

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture
def cfg(lab: Lab, tmp_path: Path) -> Config:
    config = config_from_lab(lab.settings.to_toml(), source="lab")
    config.store = str(tmp_path / "store.sqlite")
    return config


class Collected:
    """What a follower has handed over so far."""

    def __init__(self, queue: LogQueue) -> None:
        self.queue = queue
        self.events: list[LogEvent] = []
        self.states: list[FollowerState] = []

    def pump(self) -> None:
        for item in self.queue.drain():
            if isinstance(item, FollowerState):
                self.states.append(item)
            else:
                self.events.append(item)

    def until(self, predicate: Any, timeout: float = 30.0) -> bool:
        return wait_for(lambda: (self.pump(), predicate())[1], timeout, step=0.2)


@pytest.fixture
def follower(cfg: Config) -> Iterator[tuple[DockerLogFollower, Collected]]:
    queue = LogQueue()
    runtime = DockerRuntime(cfg.compose_project, base_url=cfg.docker_host)
    follow = DockerLogFollower(runtime, queue, since=time.time())
    follow.start()
    yield follow, Collected(queue)
    follow.stop()


def test_follower_sees_the_lines_a_test_mail_makes(
    lab: Lab, follower: tuple[DockerLogFollower, Collected]
) -> None:
    _, seen = follower
    assert seen.until(lambda: sum(s.state == "following" for s in seen.states) == 2)
    token = new_token()
    msgid = send(lab, lab.settings.address("bob"), token)
    assert seen.until(
        lambda: (
            any(e.kind == "sieve-keep" and e.msgid == msgid for e in seen.events)
            or any(e.kind == "dovecot-saved" and e.msgid == msgid for e in seen.events)
        )
    ), [e.raw for e in seen.events[-20:]]
    assert seen.until(
        lambda: any(
            e.kind == "postfix-delivery" and e.status == "sent" and e.recipient == "bob@lab.test"
            for e in seen.events
        )
    )


def _timestamps(lab: Lab, service: str, since: float) -> list[str]:
    container = lab.container(service)
    raw = container.logs(timestamps=True, since=since).decode("utf-8", "replace")
    return [line.rstrip("\r") for line in raw.split("\n") if line.strip()]


def test_restart_of_dovecot_loses_and_repeats_nothing(
    lab: Lab, cfg: Config, follower: tuple[DockerLogFollower, Collected]
) -> None:
    follow, seen = follower
    start = time.time()
    assert seen.until(lambda: sum(s.state == "following" for s in seen.states) == 2)
    send(lab, lab.settings.address("bob"), new_token())
    time.sleep(1.0)
    lab.container("dovecot").restart(timeout=5)
    # The follower notices the stream ended, and comes back by itself.
    assert seen.until(
        lambda: sum(s.state == "following" and s.source == "dovecot" for s in seen.states) >= 2,
        timeout=60,
    ), seen.states
    # Postfix authenticates senders through Dovecot: wait until it answers again.
    lab.wait_healthy(60)
    token = new_token()
    msgid = send(lab, lab.settings.address("bob"), token)
    assert seen.until(
        lambda: any(e.msgid == msgid and e.service == "dovecot" for e in seen.events), 60
    )
    time.sleep(1.0)
    seen.pump()
    truth = _timestamps(lab, "dovecot", start)
    truth_set = set(truth)
    dovecot_lines = [e.raw for e in seen.events if e.raw in truth_set]
    assert len(dovecot_lines) == len(set(dovecot_lines)), "a line was shown twice"
    shown = set(dovecot_lines)
    missing = [line for line in truth if line not in shown]
    assert not missing, missing[:5]
    assert follow.last_stamp("dovecot") == truth[-1].partition(" ")[0]


_AWKWARD_PRINTER = r"""
binmode STDOUT;
print "plain line $_\n" for 1..3000;
print "tty-style line\r\n";
print "invalid utf-8 \xc3\x28 and \xff here\n";
print "accents \xc3\xa9\xc3\xa8 and a check \xe2\x9c\x93\n";
print "\n";
print "long " . ("z" x 40000) . "\n";
print "last line without a newline";
"""


@pytest.mark.parametrize("follow", [False, True])
def test_log_stream_reads_what_docker_py_reads(lab: Lab, follow: bool) -> None:
    """LogStream's own HTTP reading against docker-py's, on awkward output: CR LF,
    invalid UTF-8, an empty line, a line the engine splits into frames, no final newline."""
    from dsnwatch.logs.follow import LogStream

    image = lab.container("postfix").image
    client = lab.engine.client
    container = client.containers.run(
        image.id, ["perl", "-e", _AWKWARD_PRINTER], detach=True, network_mode="none"
    )
    try:
        container.wait(timeout=60)
        container.reload()
        raw = container.logs(timestamps=True).decode("utf-8", "replace")
        expected = [line.rstrip("\r") for line in raw.split("\n")]
        if expected and expected[-1] == "":
            expected.pop()
        got = list(LogStream(container, follow=follow))
        assert len(got) == len(expected) > 3000
        assert got == expected
        assert any(line.endswith(" last line without a newline") for line in got)
    finally:
        container.remove(force=True)


@pytest.fixture(autouse=True)
def _drop_test_folders(lab: Lab) -> Iterator[None]:
    """Leave the central mailbox as it was: remove the folders a test made."""
    yield
    lab.wait_healthy(60)  # a test may have restarted Dovecot
    client = imap_login(lab, "dsn-monitor")
    try:
        for _flags, _sep, name in client.list_folders():
            if name.startswith(("Sync", "Idle", "Restart", "Big")) and name[-17:-16] == "t":
                client.delete_folder(name)
    finally:
        client.logout()


def _append_reports(lab: Lab, folder: str, count: int) -> None:
    data = (FIXTURES / "postfix-userunknown.eml").read_bytes()
    client = imap_login(lab, "dsn-monitor")
    try:
        client.create_folder(folder)
        for n in range(count):
            client.append(folder, data.replace(b"nobody@remote.test", b"n%d@remote.test" % n))
    finally:
        client.logout()


def _settings(cfg: Config, folder: str) -> ImapSettings:
    return replace(cfg.imap_settings(), folder=folder)


def test_sync_stores_each_report_once_and_resumes(lab: Lab, cfg: Config) -> None:
    folder = f"Sync{new_token()}"
    _append_reports(lab, folder, 30)
    store = Store(cfg.store)
    watcher = MailboxWatcher(_settings(cfg, folder), store)
    assert watcher.sync_once() == 30
    assert watcher.sync_once() == 0  # a restart fetches only what is new
    _append_reports_more(lab, folder, 5)
    assert watcher.sync_once() == 5
    rows = store.reports()
    assert len(rows) == 35
    assert {r["reason"] for r in rows} == {"userunknown"}
    assert len({r["recipient"] for r in rows}) == 35


def _append_reports_more(lab: Lab, folder: str, count: int) -> None:
    data = (FIXTURES / "qmail-freetext.eml").read_bytes()
    client = imap_login(lab, "dsn-monitor")
    try:
        for n in range(count):
            client.append(folder, data.replace(b"gone@example.net", b"more%d@example.net" % n))
    finally:
        client.logout()


def test_new_report_arrives_through_idle(lab: Lab, cfg: Config) -> None:
    folder = f"Idle{new_token()}"
    _append_reports(lab, folder, 1)
    store = Store(cfg.store)
    got: list[tuple[Where, Report]] = []
    states: list[str] = []
    watcher = MailboxWatcher(
        _settings(cfg, folder),
        store,
        on_report=lambda w, r: got.append((w, r)),
        on_state=lambda s, d: states.append(s),
    )
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: "idle" in states and len(got) == 1, 30)
        started = time.monotonic()
        _append_reports_more(lab, folder, 1)
        assert wait_for(lambda: len(got) == 2, 30)
        assert time.monotonic() - started < 10
        assert got[1][1].reports[0].recipient == "more0@example.net"
    finally:
        watcher.stop()
        thread.join(10)
    assert "stopped" in states


def test_dovecot_restart_mid_sync_still_stores_everything_once(lab: Lab, cfg: Config) -> None:
    folder = f"Restart{new_token()}"
    _append_reports(lab, folder, 400)
    store = Store(cfg.store)
    restarted = threading.Event()
    states: list[str] = []

    def on_progress(progress: Any) -> None:
        if progress.done >= 200 and not restarted.is_set():
            restarted.set()
            lab.container("dovecot").restart(timeout=2)

    watcher = MailboxWatcher(
        _settings(cfg, folder),
        store,
        on_progress=on_progress,
        on_state=lambda s, d: states.append(s),
    )
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: store.count_messages() == 400 and "idle" in states, 120)
    finally:
        watcher.stop()
        thread.join(10)
    assert restarted.is_set()
    assert "reconnecting" in states or "error" in states
    rows = store.reports()
    assert len(rows) == 400
    assert len({r["recipient"] for r in rows}) == 400


def test_wrong_password_gives_one_line(cfg: Config) -> None:
    wrong = replace(cfg.imap_settings(), password="wrong")
    with pytest.raises(MailboxError) as info:
        connect(wrong)
    message = str(info.value)
    assert "\n" not in message
    assert "check the user and password" in message
    assert "wrong" not in message.replace("wrong password", "")


def test_untrusted_certificate_is_refused_by_default(cfg: Config) -> None:
    untrusted = replace(cfg.imap_settings(), ca="")
    with pytest.raises(MailboxError, match="certificate not trusted"):
        connect(untrusted)


def test_a_bounce_with_a_large_attachment_is_read_from_its_parts(lab: Lab, cfg: Config) -> None:
    from dsnwatch.imapfetch import fetch_for_reader

    folder = f"Big{new_token()}"
    bounce = (FIXTURES / "postfix-userunknown.eml").read_bytes()
    # The original, returned whole, with a 3 MB attachment after the report parts.
    attachment = (
        b"--AB12CD34.1700000000/mail.lab.test\n"
        b"Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
        + (b"QUJD" * 19 + b"\n") * 10_000
        + b"\n"
    )
    big = bounce.replace(
        b"--AB12CD34.1700000000/mail.lab.test--",
        attachment + b"--AB12CD34.1700000000/mail.lab.test--",
    )
    assert len(big) > 700_000
    client = imap_login(lab, "dsn-monitor")
    try:
        client.create_folder(folder)
        client.append(folder, big)
        client.select_folder(folder, readonly=True)
        [uid] = client.search(["ALL"])
        fetched = fetch_for_reader(client, [uid])[uid]
    finally:
        client.logout()
    assert len(fetched) < 20_000, "the attachment was downloaded"
    store = Store(cfg.store)
    assert MailboxWatcher(_settings(cfg, folder), store).sync_once() == 1
    [row] = store.reports()
    assert (row["recipient"], row["reason"], row["status"]) == (
        "nobody@remote.test",
        "userunknown",
        "5.1.1",
    )
    assert row["original_message_id"] == "<token-1234@lab.test>"


def test_a_large_sync_read_by_worker_processes_stores_what_reading_here_does(
    lab: Lab, cfg: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every fixture, a bounce with a 700 kB attachment (read from its parts) and 250
    reports: the rows of a sync read in worker processes equal those of one read here."""
    import dsnwatch.mailbox as mailbox_module
    import dsnwatch.readpool as readpool_module

    folder = f"Sync{new_token()}"
    bounce = (FIXTURES / "postfix-userunknown.eml").read_bytes()
    big = bounce.replace(
        b"--AB12CD34.1700000000/mail.lab.test--",
        b"--AB12CD34.1700000000/mail.lab.test\nContent-Type: application/octet-stream\n\n"
        + b"QUJD" * 200_000
        + b"\n--AB12CD34.1700000000/mail.lab.test--",
    )
    client = imap_login(lab, "dsn-monitor")
    try:
        client.create_folder(folder)
        messages = [p.read_bytes() for p in sorted(FIXTURES.glob("*.eml"))] + [big]
        messages += [bounce.replace(b"nobody@", b"n%d@" % n) for n in range(250)]
        client.multiappend(folder, messages)
    finally:
        client.logout()
    pools: list[Any] = []
    real_pool = readpool_module.ReaderPool

    def counted_pool(workers: int) -> Any:
        pools.append(real_pool(workers))
        return pools[-1]

    monkeypatch.setattr(mailbox_module, "ReaderPool", counted_pool)
    monkeypatch.setattr(mailbox_module, "cores", lambda: 2)
    rows = {}
    for name, threshold in (("here", 10**9), ("workers", 1)):
        monkeypatch.setattr(mailbox_module, "PARALLEL_FROM", threshold)
        store = Store(tmp_path / f"{name}.sqlite")
        assert MailboxWatcher(_settings(cfg, folder), store).sync_once() == len(messages)
        # Both runs give every row but the times they were read (and an undated report
        # takes that time as its own).
        rows[name] = sorted(
            tuple(
                (k, None if k == "reported_at" and v == row["stored_at"] else v)
                for k, v in row.items()
                if k not in ("id", "stored_at")
            )
            for row in store.reports()
        )
        store.close()
    assert len(pools) == 1 and not pools[0].broken, "the second sync did not use workers"
    assert len(rows["here"]) >= len(messages) - 1  # plain mail has no recipient row
    assert rows["workers"] == rows["here"]


def test_the_scaling_bench_fills_a_folder_dovecot_serves_and_a_sync_reads(
    lab: Lab, cfg: Config
) -> None:
    """The bench's fast fill (hard links in the maildir) makes real messages: Dovecot
    counts them, serves them, and a first sync reads every one into a report."""
    from dsnwatch.bench.scale import fill_fast, folder_for

    count = 37
    folder = folder_for(count)
    settings = cfg.imap_settings()
    dovecot = lab.container("dovecot")
    try:
        assert fill_fast(settings, dovecot, None, count) == count
        assert fill_fast(settings, dovecot, None, count) == count  # kept, not filled again
        store = Store(cfg.store)
        assert MailboxWatcher(_settings(cfg, folder), store).sync_once() == count
        assert store.count_messages() == count
        assert {r["reason"] for r in store.reports()} - {""}, "nothing was read"
        store.close()
    finally:
        client = imap_login(lab, "dsn-monitor")
        try:
            client.delete_folder(folder)
        finally:
            client.logout()
