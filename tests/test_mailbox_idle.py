"""The watcher notices a dropped IMAP session while it waits in IDLE.

imapclient's `idle_check` swallows EOF (a closed socket polls readable and yields
nothing), so a watcher that trusted it waited on a dead connection for 25 minutes;
found by the fault run (`make faults`) restarting Dovecot.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from dsnwatch.mailbox import ImapSettings, MailboxWatcher
from dsnwatch.store import Store


class IdleClient:
    """An IMAP client in IDLE whose server has gone: every check returns at once."""

    def __init__(self, answers: list[list[Any]]) -> None:
        self.answers = answers
        self.done = 0

    def idle(self) -> None:
        pass

    def idle_check(self, timeout: float) -> list[Any]:
        if self.answers:
            return self.answers.pop(0)
        return []  # EOF: no wait, nothing read

    def idle_done(self) -> None:
        self.done += 1


def _watcher() -> MailboxWatcher:
    return MailboxWatcher(ImapSettings("127.0.0.1", "u", "p"), Store(":memory:"))


def test_a_closed_socket_in_idle_is_a_lost_connection() -> None:
    started = time.monotonic()
    with pytest.raises(ConnectionError, match="closed the connection"):
        _watcher()._idle(IdleClient([]))
    assert time.monotonic() - started < 1.0


def test_bye_in_idle_is_a_lost_connection() -> None:
    client = IdleClient([[(b"BYE", b"Disconnected by admin")]])
    with pytest.raises(ConnectionError, match="Disconnected by admin"):
        _watcher()._idle(client)
    assert client.done == 0  # no IDLE to end on a session that is gone


class QuietClient(IdleClient):
    """A healthy IDLE: each check waits its full timeout, then the watcher is stopped."""

    def __init__(self, watcher: MailboxWatcher) -> None:
        super().__init__([])
        self.watcher = watcher
        self.checks = 0

    def idle_check(self, timeout: float) -> list[Any]:
        time.sleep(timeout)
        self.checks += 1
        if self.checks == 5:
            self.watcher.stop()
        return []


def test_a_quiet_idle_is_not_mistaken_for_eof(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("dsnwatch.mailbox.IDLE_CHECK", 0.02)
    watcher = _watcher()
    client = QuietClient(watcher)
    watcher._idle(client)
    assert client.checks == 5
    assert client.done == 1


class Imaplib:
    def __init__(self) -> None:
        self.untagged_responses: dict[str, list[bytes]] = {}


class RacingClient(QuietClient):
    """New mail lands between the last search and "+ idling": imaplib keeps its EXISTS."""

    def __init__(self, watcher: MailboxWatcher) -> None:
        super().__init__(watcher)
        self._imap = Imaplib()
        self.idles = 0

    def idle(self) -> None:
        self.idles += 1
        if self.idles == 1:
            self._imap.untagged_responses["EXISTS"] = [b"7"]


def test_new_mail_announced_as_idle_starts_is_synced_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Found by `make faults`: the last bounces of a run stayed unread in the mailbox.
    monkeypatch.setattr("dsnwatch.mailbox.IDLE_CHECK", 0.02)
    watcher = _watcher()
    client = RacingClient(watcher)
    synced: list[float] = []
    monkeypatch.setattr(watcher, "_sync", lambda _c: synced.append(time.monotonic()) or 0)
    started = time.monotonic()
    watcher._idle(client)
    assert synced and synced[0] - started < 0.5
    assert client.checks == 5  # then back in IDLE until stopped
