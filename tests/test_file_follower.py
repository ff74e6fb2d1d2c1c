"""The host log follower reads every line once across rotation and truncation."""

from __future__ import annotations

import os
from pathlib import Path

from dsnwatch.logs.events import LogEvent
from dsnwatch.logs.follow import FileLogFollower, FollowerState, LogQueue, wait_for

LINE = "Dec  3 16:00:{n:02d} h postfix/qmgr[1]: ABCDEF{n:04d}: from=<>, size=1, nrcpt=1"


def _collect(q: LogQueue, into: list[LogEvent], states: list[str]) -> None:
    for item in q.drain():
        if isinstance(item, FollowerState):
            states.append(item.state)
        else:
            into.append(item)


def test_rotation_by_rename_and_truncation_lose_nothing(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    log.write_text("")
    q = LogQueue()
    follower = FileLogFollower(log, q, poll=0.02)
    follower.start()
    got: list[LogEvent] = []
    states: list[str] = []
    try:
        assert wait_for(lambda: (_collect(q, got, states), "following" in states)[1], 5)
        with log.open("a") as fh:
            for n in range(5):
                fh.write(LINE.format(n=n) + "\n")
        assert wait_for(lambda: (_collect(q, got, states), len(got) >= 5)[1], 5)
        # logrotate's default: rename, then a new file.
        os.rename(log, tmp_path / "mail.log.1")
        with (tmp_path / "mail.log.1").open("a") as fh:
            fh.write(LINE.format(n=5) + "\n")  # written to the old file before the switch
        log.write_text(LINE.format(n=6) + "\n")
        assert wait_for(lambda: (_collect(q, got, states), len(got) >= 7)[1], 5)
        # copytruncate: the file is cut and at once written again with a line of the
        # same length, so only its changed first bytes tell the follower.
        log.write_text(LINE.format(n=7) + "\n")
        assert wait_for(lambda: (_collect(q, got, states), len(got) >= 8)[1], 5)
        assert states.count("reconnecting") == 2
    finally:
        follower.stop()
    ids = [e.queue_id for e in got]
    assert ids == [f"ABCDEF{n:04d}" for n in range(8)]
    assert all(e.kind == "postfix-queued" for e in got)


def test_lines_the_writer_adds_to_the_rotated_file_after_the_switch_are_read(
    tmp_path: Path,
) -> None:
    # A daemon writes to the renamed file until it reopens its log (on logrotate's
    # signal, later): those lines exist only there. Found by `make faults`.
    log = tmp_path / "mail.log"
    log.write_text("")
    q = LogQueue()
    follower = FileLogFollower(log, q, poll=0.02, grace=1.0)
    follower.start()
    got: list[LogEvent] = []
    states: list[str] = []
    try:
        assert wait_for(lambda: (_collect(q, got, states), "following" in states)[1], 5)
        with log.open("a") as old:
            old.write(LINE.format(n=0) + "\n")
            old.flush()
            os.rename(log, tmp_path / "mail.log.1")
            log.write_text(LINE.format(n=1) + "\n")
            # The follower has moved to the new file; the writer has not yet.
            assert wait_for(lambda: (_collect(q, got, states), len(got) >= 2)[1], 5)
            old.write(LINE.format(n=2) + "\n")
            old.write(LINE.format(n=3)[:20])  # cut off: the daemon died mid-line
        assert wait_for(lambda: (_collect(q, got, states), len(got) >= 4)[1], 5)
    finally:
        follower.stop()
    _collect(q, got, states)
    ids = sorted(e.queue_id or e.raw for e in got)
    assert ids == ["ABCDEF0000", "ABCDEF0001", "ABCDEF0002", LINE.format(n=3)[:20]]


def test_missing_file_is_reported_then_followed_when_it_appears(tmp_path: Path) -> None:
    log = tmp_path / "later.log"
    q = LogQueue()
    follower = FileLogFollower(log, q, poll=0.02)
    follower.start()
    states: list[str] = []
    got: list[LogEvent] = []
    try:
        assert wait_for(lambda: (_collect(q, got, states), "missing" in states)[1], 5)
        log.write_text(LINE.format(n=1) + "\n")
        assert wait_for(lambda: (_collect(q, got, states), "following" in states)[1], 5)
    finally:
        follower.stop()


def test_command_follower_reads_lines_and_restarts_the_command(tmp_path: Path) -> None:
    from dsnwatch.logs.follow import CommandLogFollower

    script = f"printf '%s\\n' '{LINE.format(n=1)}' '{LINE.format(n=2)}'"
    q = LogQueue()
    follower = CommandLogFollower(["sh", "-c", script], q, source="cmd")
    follower.start()
    got: list[LogEvent] = []
    states: list[str] = []
    try:
        # The command ends after two lines; the follower runs it again.
        assert wait_for(lambda: (_collect(q, got, states), len(got) >= 4)[1], 10)
    finally:
        follower.stop()
    assert [e.queue_id for e in got[:2]] == ["ABCDEF0001", "ABCDEF0002"]
    assert "reconnecting" in states


def test_missing_command_is_reported_in_one_line() -> None:
    from dsnwatch.logs.follow import CommandLogFollower

    q = LogQueue()
    follower = CommandLogFollower(["no-such-journalctl-here"], q, source="journal")
    follower.start()
    got: list[LogEvent] = []
    states: list[str] = []
    try:
        assert wait_for(lambda: (_collect(q, got, states), "missing" in states)[1], 5)
    finally:
        follower.stop()


def test_host_followers_read_every_configured_file(tmp_path: Path) -> None:
    from dsnwatch.logs.follow import host_followers

    files = [tmp_path / "mail.log", tmp_path / "dovecot.log"]
    for f in files:
        f.write_text("")
    q = LogQueue()
    group = host_followers([str(f) for f in files], q)
    group.start()
    got: list[LogEvent] = []
    states: list[str] = []
    try:
        assert wait_for(lambda: (_collect(q, got, states), states.count("following") == 2)[1], 5)
        files[0].write_text(LINE.format(n=1) + "\n")
        files[1].write_text(LINE.format(n=2) + "\n")
        assert wait_for(lambda: (_collect(q, got, states), len(got) == 2)[1], 5)
    finally:
        group.stop()
    assert sorted(e.queue_id or "" for e in got) == ["ABCDEF0001", "ABCDEF0002"]


def test_the_console_follows_a_plain_hosts_log_files(tmp_path: Path) -> None:
    from dsnwatch.config import config_from_dict
    from dsnwatch.logs.follow import FileLogFollower, FollowerGroup
    from dsnwatch.tui.launch import sources_from_config

    cfg = config_from_dict({"runtime": "host", "host": {"log_files": [str(tmp_path / "m.log")]}})
    sources = sources_from_config(cfg)
    assert sources.followers is not None
    group = sources.followers(LogQueue())
    assert isinstance(group, FollowerGroup)
    assert [type(f) for f in group.followers] == [FileLogFollower]
