"""The correlator: follows one message across log lines and raises alerts.

It links Postfix's lines by queue id (the bounce notice names the queue id of
the DSN it wrote; that DSN's `from=<>` line marks it as a report; its
`message-id=` line gives the Message-ID) and Dovecot's Sieve lines by session
and Message-ID, so that a DSN that was discarded without a copy is caught.
Memory stays bounded: only the most recent messages are remembered.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Final

from dsnwatch.logs.events import LogEvent

_REMEMBER: Final = 20_000


@dataclass(slots=True, frozen=True)
class Alert:
    """Something an operator must look at, in one line."""

    kind: str  # dsn-discarded, redirect-failed, redirect-loop, sieve-broken, bounce-burst
    message: str
    time: str | None = None
    msgid: str | None = None
    queue_id: str | None = None


class _Bounded(OrderedDict[str, str]):
    def remember(self, key: str, value: str) -> None:
        self[key] = value
        self.move_to_end(key)
        if len(self) > _REMEMBER:
            self.popitem(last=False)


# What became of one Sieve delivery, as bits of an int (not an object per delivery:
# 20,000 remembered deliveries would be 20,000 more objects for the garbage collector).
_FORWARDED: Final = 1  # a copy went to the monitor
_STORED: Final = 2  # kept or filed in a mailbox


class Correlator:
    """Feed it events in log order; it answers with the alerts each one raises."""

    def __init__(
        self,
        monitor: str,
        *,
        burst_count: int = 10,
        burst_seconds: float = 300.0,
    ) -> None:
        self.monitor = monitor.lower()
        self.burst_count = burst_count
        self.burst_seconds = burst_seconds
        self._null_sender_queue: _Bounded = _Bounded()  # queue id -> ""
        self._queue_msgid: _Bounded = _Bounded()  # queue id -> Message-ID
        self._dsn_msgids: _Bounded = _Bounded()  # Message-ID -> queue id
        self._deliveries: OrderedDict[tuple[str, str], int] = OrderedDict()  # _FORWARDED | _STORED
        self._bounces: dict[str, deque[float]] = {}
        self._burst_alerted: dict[str, float] = {}

    def is_dsn(self, msgid: str | None) -> bool:
        """True when Postfix's lines showed this Message-ID to be a report (null sender)."""
        return msgid is not None and msgid in self._dsn_msgids

    def feed(self, event: LogEvent, now: float | None = None) -> list[Alert]:
        """Take one event; return the alerts it raises (usually none)."""
        kind = event.kind
        if kind.startswith("postfix-"):
            return self._postfix(event, time.monotonic() if now is None else now)
        if kind.startswith("sieve-"):
            return self._sieve(event)
        return []

    # --- Postfix -----------------------------------------------------------

    def _postfix(self, event: LogEvent, now: float) -> list[Alert]:
        qid = event.queue_id
        if qid is None:
            return []
        if event.kind == "postfix-queued" and event.sender == "":
            self._null_sender_queue.remember(qid, "")
            self._link(qid)
        elif event.kind == "postfix-message-id" and event.msgid:
            self._queue_msgid.remember(qid, event.msgid)
            self._link(qid)
        elif event.kind == "postfix-bounce-notice" and event.new_queue_id:
            # The notice Postfix wrote is a report even before its from=<> line.
            self._null_sender_queue.remember(event.new_queue_id, "")
            self._link(event.new_queue_id)
        elif event.kind == "postfix-delivery" and event.status == "bounced":
            return self._count_bounce(event, now)
        return []

    def _link(self, qid: str) -> None:
        msgid = self._queue_msgid.get(qid)
        if msgid is not None and qid in self._null_sender_queue:
            self._dsn_msgids.remember(msgid, qid)

    def _count_bounce(self, event: LogEvent, now: float) -> list[Alert]:
        domain = (event.recipient or "").rpartition("@")[2].lower() or "?"
        times = self._bounces.setdefault(domain, deque())
        times.append(now)
        while times and now - times[0] > self.burst_seconds:
            times.popleft()
        last = self._burst_alerted.get(domain)
        if len(times) >= self.burst_count and (last is None or now - last > self.burst_seconds):
            self._burst_alerted[domain] = now
            minutes = self.burst_seconds / 60
            return [
                Alert(
                    "bounce-burst",
                    f"{len(times)} bounces for {domain} in {minutes:g} minutes",
                    time=event.time,
                    queue_id=event.queue_id,
                )
            ]
        return []

    # --- Sieve -------------------------------------------------------------

    def _delivery(self, event: LogEvent, add: int = 0) -> int:
        """The delivery's flags with `add` set (remembered from its first Sieve line)."""
        key = (event.user or "", event.session or event.msgid or "")
        flags = self._deliveries.get(key)
        if flags is None:
            self._deliveries[key] = add
            if len(self._deliveries) > _REMEMBER:
                self._deliveries.popitem(last=False)
            return add
        if flags | add != flags:
            flags |= add
            self._deliveries[key] = flags
        return flags

    def _sieve(self, event: LogEvent) -> list[Alert]:
        kind = event.kind
        who = event.user or "?"
        if kind == "sieve-redirect-failed":
            return [
                self._alert(
                    "redirect-failed",
                    f"copy to {event.recipient} failed at {who}: {event.detail or ''}",
                    event,
                )
            ]
        if kind == "sieve-redirect-loop":
            return [
                self._alert("redirect-loop", f"redirect at {who} refused as a mail loop", event)
            ]
        if kind in ("sieve-compile-error", "sieve-binary-error", "sieve-runtime-error"):
            return [self._alert("sieve-broken", f"Sieve at {who}: {event.detail or ''}", event)]
        add = 0
        if kind in ("sieve-redirect", "sieve-redirect-duplicate"):
            if (event.recipient or "").lower() == self.monitor:
                add = _FORWARDED
        elif kind in ("sieve-keep", "sieve-fileinto"):
            add = _STORED
        flags = self._delivery(event, add)
        if (
            kind == "sieve-discard"
            and not flags
            and (self.is_dsn(event.msgid) or (event.user or "").lower() == self.monitor)
        ):
            return [
                self._alert(
                    "dsn-discarded",
                    f"report {event.msgid or '(no Message-ID)'} discarded at {who}"
                    f" before any copy reached {self.monitor}",
                    event,
                )
            ]
        return []

    @staticmethod
    def _alert(kind: str, message: str, event: LogEvent) -> Alert:
        return Alert(kind, message, time=event.time, msgid=event.msgid, queue_id=event.queue_id)
