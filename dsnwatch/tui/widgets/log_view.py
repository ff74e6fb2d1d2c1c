"""The log pane's view: a virtual list over a bounded buffer that renders only visible rows.

Lines arrive in batches (`append`), never one call per line. The buffer keeps
the newest `capacity` events; a filter is an index of the matching lines, kept
up to date as lines arrive; a row is formatted, cleaned and highlighted only
when it is on screen, behind a small cache. Following sticks: once the user
scrolls up or pauses, new lines are counted ("+N new") instead of moving the view.
"""

from __future__ import annotations

import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.events import MouseScrollUp
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from dsnwatch.logs.events import LogEvent
from dsnwatch.logs.follow import parse_docker_time
from dsnwatch.tui.look import Palette, log_kind_class
from dsnwatch.tui.safe import MAX_LINE, plain

SERVICES = ("both", "dovecot", "postfix")
ALERT_KIND = "alert"  # correlator alerts are shown as lines of this kind
_PREFIX_WIDTH = 9 + 2 + 8  # time, gutter, service


def alert_line(kind: str, message: str, when: str | None) -> LogEvent:
    """A correlator alert as a line of the log pane (it passes every service filter)."""
    return LogEvent(kind=ALERT_KIND, service="", raw=f"ALERT {kind}: {message}", time=when)


def _stamp(event: LogEvent) -> str:
    if event.time:
        try:
            return time.strftime("%H:%M:%S", time.localtime(parse_docker_time(event.time)))
        except ValueError:
            return event.time[11:19]
    if event.syslog_time:
        return event.syslog_time[-8:]
    return "--:--:--"


def _message(event: LogEvent) -> str:
    """The readable part of a line: its kind and the fields the reader found."""
    if event.kind == "plain" or event.kind == ALERT_KIND:
        raw = event.raw
        if event.time and raw.startswith(event.time):
            raw = raw[len(event.time) + 1 :]
        return raw
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


class LogView(ScrollView, can_focus=True):
    """The Dovecot and Postfix events, newest at the bottom."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "line(-1)", "Up", show=False, tooltip="One line up (pauses following)"),
        Binding("down,j", "line(1)", "Down", show=False, tooltip="One line down"),
        Binding(
            "pageup,ctrl+u",
            "page(-1)",
            "Page up",
            show=False,
            tooltip="One page up (pauses following)",
        ),
        Binding("pagedown,ctrl+d", "page(1)", "Page down", show=False, tooltip="One page down"),
        Binding("left,h", "sideways(-8)", "Left", show=False, tooltip="Scroll left (long lines)"),
        Binding("right,l", "sideways(8)", "Right", show=False, tooltip="Scroll right (long lines)"),
        Binding(
            "home,g", "top", "Oldest", show=False, tooltip="The oldest line held (pauses following)"
        ),
        Binding(
            "end,G", "follow", "Follow", show=False, tooltip="The newest line, and follow again"
        ),
        Binding(
            "space",
            "toggle_follow",
            "Pause",
            tooltip="Pause the view (new lines are counted) or follow again",
        ),
        Binding(
            "v",
            "cycle_service",
            "Service",
            show=False,
            tooltip="Dovecot and Postfix, Dovecot only, Postfix only",
        ),
        Binding("T", "toggle_time", "Times", show=False, tooltip="Show or hide the time column"),
        Binding(
            "w",
            "toggle_wrap",
            "Wrap",
            show=False,
            tooltip="Wrap long lines, or cut them (left/right scroll)",
        ),
        Binding(
            "R",
            "toggle_raw",
            "Raw lines",
            show=False,
            tooltip="The lines exactly as logged, or as read",
        ),
    ]

    @dataclass
    class Changed(Message):
        """The view's state changed (following, filter, counts): the status line updates."""

        view: LogView

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, LogView.Changed)

    def __init__(
        self,
        capacity: int = 50_000,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.capacity = capacity
        self.following = True
        self.wrap = False
        self.show_time = True
        self.raw = False
        self.service = "both"
        self.needle = ""
        self.placeholder = "Waiting for log lines..."  # shown while nothing is shown
        self.pending = 0  # lines that arrived while paused
        self.received = 0  # every line ever appended
        self._lines: list[LogEvent] = []
        self._first = 0  # the absolute number of _lines[0]
        self._shown: list[int] | None = None  # absolute numbers passing the filter
        self._starts: list[int] | None = None  # wrap mode: first row of each shown line
        self._widest = 0
        self._cache: LRUCache[int, list[Strip]] = LRUCache(1024)
        self._palette: Palette | None = None

    # --- what is shown -------------------------------------------------------

    @property
    def line_count(self) -> int:
        """How many lines pass the filter (all lines when there is none)."""
        return len(self._shown) if self._shown is not None else len(self._lines)

    @property
    def buffered(self) -> int:
        """How many lines the buffer holds."""
        return len(self._lines)

    @property
    def filtered(self) -> bool:
        return self._shown is not None

    def _predicate(self) -> Callable[[LogEvent], bool] | None:
        needle = self.needle.lower()
        service = self.service
        if not needle and service == "both":
            return None

        def keep(event: LogEvent) -> bool:
            if service != "both" and event.service != service and event.kind != ALERT_KIND:
                return False
            return not needle or needle in event.raw.lower()

        return keep

    def _id_at(self, index: int) -> int:
        return self._shown[index] if self._shown is not None else self._first + index

    def event_at_row(self, row: int) -> LogEvent | None:
        """The event shown on a row of the whole (virtual) list."""
        located = self._locate(row)
        return None if located is None else self._lines[self._id_at(located[0]) - self._first]

    def shown_events(self) -> list[LogEvent]:
        """Every event that passes the filter, oldest first (for tests and copying)."""
        return [self._lines[self._id_at(i) - self._first] for i in range(self.line_count)]

    def _rows(self) -> int:
        return self._starts[-1] if self._starts is not None else self.line_count

    def _locate(self, row: int) -> tuple[int, int] | None:
        if row < 0 or row >= self._rows():
            return None
        if self._starts is None:
            return row, 0
        index = bisect_right(self._starts, row) - 1
        return index, row - self._starts[index]

    # --- feeding -------------------------------------------------------------

    def append(self, events: Sequence[LogEvent]) -> None:
        """Add a batch of events at the bottom (one call per batch, not per line)."""
        if not events:
            return
        start = self._first + len(self._lines)
        self._lines.extend(events)
        self.received += len(events)
        keep = self._predicate()
        if keep is None:
            added = len(events)
            new_ids: Sequence[int] = range(start, start + added)
        else:
            new_ids = [start + k for k, event in enumerate(events) if keep(event)]
            assert self._shown is not None
            self._shown.extend(new_ids)
            added = len(new_ids)
        widest = max(len(e.raw) for e in events)
        self._widest = max(self._widest, min(widest, MAX_LINE) + 40)
        if self._starts is not None:
            width = self._wrap_width()
            starts = self._starts
            for number in new_ids:
                starts.append(starts[-1] + self._height(self._lines[number - self._first], width))
        removed = self._trim()
        if not self.following:
            self.pending += added
        self._update(removed_rows=removed)

    def _trim(self) -> int:
        """Drop the oldest lines past capacity (in chunks, so the cost is amortised)."""
        excess = len(self._lines) - self.capacity
        if excess <= max(1, self.capacity // 10):
            return 0
        del self._lines[:excess]
        self._first += excess
        if self._shown is not None:
            cut = bisect_left(self._shown, self._first)
            del self._shown[:cut]
        else:
            cut = excess
        removed = cut
        if self._starts is not None:
            removed = self._starts[cut]
            self._starts = [s - removed for s in self._starts[cut:]]
        # Cached rows are keyed by absolute number, so the rest stay valid.
        return removed

    def clear(self) -> None:
        """Forget every line."""
        self._lines.clear()
        self._first = 0
        self._shown = [] if self._shown is not None else None
        self._starts = [0] if self._starts is not None else None
        self.pending = 0
        self._cache.clear()
        self._update()

    # --- settings --------------------------------------------------------------

    def set_filter(self, needle: str) -> None:
        """Show only lines containing `needle` (any case), matches highlighted."""
        self.needle = needle
        self._rebuild()

    def _rebuild(self, keep_place: bool = True) -> None:
        anchor = None
        if keep_place and not self.following:
            located = self._locate(int(self.scroll_y))
            anchor = self._id_at(located[0]) if located else None
        keep = self._predicate()
        if keep is None:
            self._shown = None
        else:
            first = self._first
            self._shown = [first + k for k, event in enumerate(self._lines) if keep(event)]
        self._cache.clear()
        self._restart_rows()
        self.pending = 0
        self._update()
        if anchor is not None:
            self._scroll_to_id(anchor)

    def _scroll_to_id(self, number: int) -> None:
        if self._shown is not None:
            index = bisect_left(self._shown, number)
        else:
            index = number - self._first
        row = (
            self._starts[index] if self._starts is not None and index < len(self._starts) else index
        )
        self.scroll_to(y=row, animate=False, immediate=True, force=True)

    def _wrap_width(self) -> int:
        return max(10, self.scrollable_content_region.width or self.size.width or 80)

    def _height(self, event: LogEvent, width: int) -> int:
        length = len(self._plain_line(event))
        return max(1, -(-length // width))

    def _restart_rows(self) -> None:
        if not self.wrap:
            self._starts = None
            return
        width = self._wrap_width()
        starts = [0]
        total = 0
        for index in range(self.line_count):
            total += self._height(self._lines[self._id_at(index) - self._first], width)
            starts.append(total)
        self._starts = starts

    def _update(self, removed_rows: int = 0) -> None:
        width = self._wrap_width() if self.wrap else self._widest + _PREFIX_WIDTH
        self.virtual_size = Size(width, self._rows())
        if self.following:
            # After the layout: the first batch or a resize may change the height first.
            self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)
        elif removed_rows:
            self.scroll_to(
                y=max(0, self.scroll_y - removed_rows), animate=False, immediate=True, force=True
            )
        self.refresh()
        self.post_message(self.Changed(self))

    def set_placeholder(self, text: str) -> None:
        """What the empty view says (waiting, no match, or the follower's error)."""
        if text != self.placeholder:
            self.placeholder = text
            self.refresh()

    def on_resize(self) -> None:
        if self.wrap:
            self._cache.clear()
            self._restart_rows()
        self._update()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._palette = None
        self._cache.clear()

    def restyle(self) -> None:
        """The theme changed: render again with its colours."""
        self._palette = None
        self._cache.clear()
        self.refresh()

    # --- actions -----------------------------------------------------------------

    def _set_following(self, following: bool) -> None:
        if following:
            self.pending = 0
        if following != self.following:
            self.following = following
        self._update()

    def action_line(self, delta: int) -> None:
        self._move(delta)

    def action_page(self, direction: int) -> None:
        self._move(direction * max(1, self.scrollable_content_region.height - 1))

    def action_sideways(self, delta: int) -> None:
        self.scroll_to(x=max(0, self.scroll_x + delta), animate=False, immediate=True, force=True)

    def _move(self, delta: int) -> None:
        if delta < 0 and self.following:
            self.following = False
        self.scroll_to(y=max(0, self.scroll_y + delta), animate=False, immediate=True, force=True)
        self.post_message(self.Changed(self))

    def action_top(self) -> None:
        self.following = False
        self.scroll_to(y=0, animate=False, immediate=True, force=True)
        self.post_message(self.Changed(self))

    def action_follow(self) -> None:
        """Jump to the newest line and follow again."""
        self._set_following(True)

    def action_toggle_follow(self) -> None:
        """Pause (the view stays put, new lines are counted) or follow again."""
        self._set_following(not self.following)

    def on_mouse_scroll_up(self, event: MouseScrollUp) -> None:
        if self.following:
            self.following = False
            self.post_message(self.Changed(self))

    def action_cycle_service(self) -> None:
        """Both services, then Dovecot only, then Postfix only."""
        self.service = SERVICES[(SERVICES.index(self.service) + 1) % len(SERVICES)]
        self._rebuild()

    def action_toggle_time(self) -> None:
        self.show_time = not self.show_time
        self._cache.clear()
        self._restart_rows()
        self._update()

    def action_toggle_wrap(self) -> None:
        self.wrap = not self.wrap
        self.scroll_to(x=0, animate=False, immediate=True, force=True)
        self._rebuild()

    def action_toggle_raw(self) -> None:
        self.raw = not self.raw
        self._cache.clear()
        self._restart_rows()
        self._update()

    # --- rendering -------------------------------------------------------------

    @property
    def palette(self) -> Palette:
        if self._palette is None:
            self._palette = Palette(self.app.theme_variables)
        return self._palette

    def _plain_line(self, event: LogEvent) -> str:
        """The row's text: time, gutter, service, then the message (all cleaned)."""
        parts = []
        if self.show_time:
            parts.append(_stamp(event) + " ")
        parts.append("! " if event.is_alerting or event.kind == ALERT_KIND else "  ")
        parts.append((event.service or "-")[:7].ljust(8))
        parts.append(plain(event.raw if self.raw else _message(event)))
        return "".join(parts)

    def _render_event(self, number: int) -> list[Strip]:
        cached = self._cache.get(number)
        if cached is not None:
            return cached
        event = self._lines[number - self._first]
        palette = self.palette
        line = self._plain_line(event)
        alerting = event.is_alerting or event.kind == ALERT_KIND
        text = Text(line, no_wrap=True, end="")
        head = 0
        if self.show_time:
            text.stylize(palette.muted, 0, 8)
            head = 9
        if alerting:
            text.stylize(palette.log["alert"], head, head + 1)
        service_style = palette.service.get(event.service)
        if service_style is not None:
            text.stylize(service_style, head + 2, head + 9)
        kind_class = log_kind_class(event.kind, event.status, alerting)
        if kind_class != "plain":
            text.stylize(palette.log[kind_class], head + 10, len(line))
        if self.needle:
            self._highlight(text, line, palette.match)
        console = self.app.console
        if self.wrap:
            width = self._wrap_width()
            pieces = text.divide(range(width, len(line), width)) if len(line) > width else [text]
            strips = [Strip(piece.render(console), piece.cell_len) for piece in pieces]
        else:
            strips = [Strip(text.render(console), text.cell_len)]
        self._cache[number] = strips
        return strips

    def _highlight(self, text: Text, line: str, style: Style) -> None:
        needle = self.needle.lower()
        haystack = line.lower()
        start = haystack.find(needle)
        while start >= 0:
            text.stylize(style, start, start + len(needle))
            start = haystack.find(needle, start + len(needle))

    def render_line(self, y: int) -> Strip:
        """One row on screen: only visible rows are ever formatted."""
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self.rich_style
        located = self._locate(scroll_y + y)
        if located is None:
            if y == 0 and not self._rows() and self.placeholder:
                text = Text(plain(self.placeholder), style=self.palette.muted, end="")
                strip = Strip(text.render(self.app.console), text.cell_len)
                return strip.crop_extend(0, width, base).apply_style(base)
            return Strip.blank(width, base)
        index, sub = located
        strips = self._render_event(self._id_at(index))
        strip = strips[min(sub, len(strips) - 1)]
        return strip.crop_extend(scroll_x, scroll_x + width, base).apply_style(base)
