"""Log lines kept compact: what the log view shows of each event, in a few parallel lists.

A busy server sends tens of thousands of lines a second and the view holds the
newest 50,000. Kept as `LogEvent` objects, every line would cost a dozen string
objects and one more object for the garbage collector to walk on each full
collection (a pause the whole console waits for). Here a line is one slot in
each of a few lists: its raw text, its readable message (or, for a line the
readers did not take apart, where the message starts in the raw text), its time
column (one string shared by every line of the same second), its service and
kind (shared strings) and its colour class (a small int). None of these is an
object the collector tracks.

Events are packed in the pump thread, so the UI only extends lists.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from typing import Final, NamedTuple

from dsnwatch.logs.events import LogEvent
from dsnwatch.logs.follow import parse_docker_time
from dsnwatch.text import clean
from dsnwatch.tui.look import log_kind_class

ALERT_KIND: Final = "alert"  # correlator alerts are shown as lines of this kind
# A line's colour class, stored as its index here; "alert" also puts `!` in the gutter.
LOOKS: Final = ("plain", "alert", "bounce", "deferred", "sent", "notice", "sieve")
_LOOK_INDEX: Final = {name: index for index, name in enumerate(LOOKS)}
ALERT_LOOK: Final = _LOOK_INDEX["alert"]
NO_STAMP: Final = "--:--:--"

# "HH:MM:SS" by the stamp it came from: lines of one second share one string.
_stamps: dict[str, str] = {}
_STAMPS_HELD: Final = 4096


def alert_line(kind: str, message: str, when: str | None) -> LogEvent:
    """A correlator alert as a line of the log pane (it passes every service filter)."""
    return LogEvent(kind=ALERT_KIND, service="", raw=f"ALERT {kind}: {message}", time=when)


def _column(text: str) -> str:
    """A time column cut from the line itself: it may carry anything, so it is cleaned."""
    return clean(text)[:8].ljust(8)


def _docker_stamp(when: str) -> str:
    try:
        return time.strftime("%H:%M:%S", time.localtime(parse_docker_time(when)))
    except ValueError:
        return _column(when[11:19])


def stamp(event: LogEvent) -> str:
    """The time column of a line: local time of Docker's stamp, else the syslog time."""
    when = event.time
    if when:
        # The fraction does not change the second shown, so a well-formed Docker
        # stamp is looked up by its first 19 characters.
        frac = when[20:-1]
        well_formed = when[19:20] == "." and when[-1:] == "Z" and frac.isdigit()
        key = when[:19] if well_formed or when[19:] == "Z" else when
    elif event.syslog_time:
        key = event.syslog_time
    else:
        return NO_STAMP
    found = _stamps.get(key)
    if found is None:
        found = _docker_stamp(key) if when else _column(key[-8:])
        if len(_stamps) >= _STAMPS_HELD:
            _stamps.clear()
        _stamps[key] = found
    return found


def message(event: LogEvent) -> str | int:
    """The readable part of a line: its kind and the fields the reader found.

    For a line the readers did not take apart (and for alerts) the message is the
    raw text after Docker's stamp: then this is where it starts in `raw`.
    """
    if event.kind == "plain" or event.kind == ALERT_KIND:
        when = event.time
        return len(when) + 1 if when and event.raw.startswith(when) else 0
    parts = [event.kind.removeprefix("postfix-")]
    for value in (event.user, event.msgid, event.queue_id):
        if value:
            parts.append(value)
    if event.recipient:
        parts.append(f"-> {event.recipient}")
    if event.status:
        parts.append(event.status)
    if event.dsn:
        parts.append(f"dsn={event.dsn}")
    if event.detail:
        parts.append(f"({event.detail})")
    return "  ".join(parts)


class ShownLine(NamedTuple):
    """One held line, as tests and copying see it."""

    raw: str
    kind: str
    service: str
    stamp: str
    message: str
    alerting: bool


class Lines:
    """Lines in parallel lists (index i of each list is line i)."""

    __slots__ = ("kind", "look", "raw", "service", "stamp", "text")

    def __init__(self) -> None:
        self.raw: list[str] = []
        self.text: list[str | int] = []  # the message, or where it starts in raw
        self.stamp: list[str] = []
        self.service: list[str] = []
        self.kind: list[str] = []
        self.look: list[int] = []  # index in LOOKS

    @classmethod
    def pack(cls, events: Iterable[LogEvent]) -> Lines:
        """Events as lines (the work per line happens here, once)."""
        lines = cls()
        raw, text, stamps = lines.raw, lines.text, lines.stamp
        service, kind, look = lines.service, lines.kind, lines.look
        intern = sys.intern
        for event in events:
            raw.append(event.raw)
            text.append(message(event))
            stamps.append(stamp(event))
            service.append(intern(event.service))
            kind.append(intern(event.kind))
            alerting = event.kind == ALERT_KIND or event.is_alerting
            look.append(_LOOK_INDEX[log_kind_class(event.kind, event.status, alerting)])
        return lines

    def __len__(self) -> int:
        return len(self.raw)

    def extend(self, other: Lines, start: int = 0, stop: int | None = None) -> None:
        """Add `other`'s lines from `start` to `stop` at the end."""
        part = slice(start, stop)
        self.raw.extend(other.raw[part])
        self.text.extend(other.text[part])
        self.stamp.extend(other.stamp[part])
        self.service.extend(other.service[part])
        self.kind.extend(other.kind[part])
        self.look.extend(other.look[part])

    def drop_first(self, count: int) -> None:
        """Forget the oldest `count` lines."""
        del self.raw[:count], self.text[:count], self.stamp[:count]
        del self.service[:count], self.kind[:count], self.look[:count]

    def clear(self) -> None:
        self.drop_first(len(self.raw))

    def message(self, index: int) -> str:
        """The readable message of line `index` (not yet cleaned for the screen)."""
        text = self.text[index]
        return self.raw[index][text:] if isinstance(text, int) else text

    def alerting(self, index: int) -> bool:
        return self.look[index] == ALERT_LOOK

    def line(self, index: int) -> ShownLine:
        return ShownLine(
            raw=self.raw[index],
            kind=self.kind[index],
            service=self.service[index],
            stamp=self.stamp[index],
            message=self.message(index),
            alerting=self.alerting(index),
        )
