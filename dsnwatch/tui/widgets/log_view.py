"""The log pane's view: a virtual list over a bounded buffer that renders only visible rows.

Lines arrive in batches (`append_lines`), never one call per line, already packed
in the compact form of `dsnwatch.tui.lines` by the pump thread. The buffer keeps
the newest `capacity` lines; a filter is an index of the matching lines, kept up
to date as lines arrive; a row is cleaned, styled and highlighted only when it is
on screen, behind a small cache. Following sticks: once the user scrolls up or
pauses, new lines are counted ("+N new") instead of moving the view.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.events import MouseScrollUp
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from dsnwatch.logs.events import LogEvent
from dsnwatch.tui.lines import ALERT_KIND, LOOKS, Lines, ShownLine
from dsnwatch.tui.look import Palette
from dsnwatch.tui.safe import MAX_LINE, plain

SERVICES = ("both", "dovecot", "postfix")
_PREFIX_WIDTH = 9 + 2 + 8  # time, gutter, service
# Rendered lines kept for repaints and scrolling: a few screens' worth. Each one is
# several Strips with caches of their own, so a bigger cache costs memory and
# garbage-collector time while a flood scrolls by.
_CACHED_LINES = 256


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

    def __init__(
        self,
        capacity: int = 50_000,
        *,
        on_change: Callable[[LogView], None] | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """`on_change` is called whenever what the status line says may have changed.

        It is a call, not a message, so the status line is painted in the same frame
        as the rows (a message would arrive after that frame and cost another one).
        """
        super().__init__(name=name, id=id, classes=classes)
        self.capacity = capacity
        self._on_change = on_change
        self.following = True
        self.wrap = False
        self.show_time = True
        self.raw = False
        self.service = "both"
        self.needle = ""
        self.placeholder = "Waiting for log lines..."  # shown while nothing is shown
        self.pending = 0  # lines that arrived while paused
        self.received = 0  # every line ever appended
        self._lines = Lines()
        self._first = 0  # the absolute number of _lines' first line
        self._shown: list[int] | None = None  # absolute numbers passing the filter
        self._starts: list[int] | None = None  # wrap mode: first row of each shown line
        self._widest = 0
        self._cache: LRUCache[int, list[Strip]] = LRUCache(_CACHED_LINES)
        self._palette: Palette | None = None
        self._frame: tuple[Style, int] | None = None  # style and width during one repaint

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

    def _passing(self, lines: Lines, start: int, stop: int, base: int) -> list[int] | None:
        """The numbers (`base` + position) of `lines[start:stop]` passing the filter.

        None when nothing is filtered.
        """
        needle = self.needle.lower()
        service = self.service
        if not needle and service == "both":
            return None
        raws = lines.raw
        if service == "both":
            return [base + k for k in range(start, stop) if needle in raws[k].lower()]
        services, kinds = lines.service, lines.kind
        return [
            base + k
            for k in range(start, stop)
            if (services[k] == service or kinds[k] == ALERT_KIND)
            and (not needle or needle in raws[k].lower())
        ]

    def _id_at(self, index: int) -> int:
        return self._shown[index] if self._shown is not None else self._first + index

    def line_at_row(self, row: int) -> ShownLine | None:
        """The line shown on a row of the whole (virtual) list."""
        located = self._locate(row)
        return None if located is None else self._lines.line(self._id_at(located[0]) - self._first)

    def shown_lines(self) -> list[ShownLine]:
        """Every line that passes the filter, oldest first (for tests and copying)."""
        return [self._lines.line(self._id_at(i) - self._first) for i in range(self.line_count)]

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
        """Add a batch of events at the bottom (packs them here: the pump packs its own)."""
        self.append_lines(Lines.pack(events))

    def append_lines(self, lines: Lines, start: int = 0, stop: int | None = None) -> None:
        """Add `lines[start:stop]` at the bottom (one call per batch, not per line)."""
        stop = len(lines) if stop is None else stop
        count = stop - start
        if count <= 0:
            return
        base = self._first + len(self._lines)
        self._lines.extend(lines, start, stop)
        self.received += count
        passing = self._passing(lines, start, stop, base - start)
        if passing is None:
            added = count
            new_ids: Sequence[int] = range(base, base + count)
        else:
            assert self._shown is not None
            self._shown.extend(passing)
            added = len(passing)
            new_ids = passing
        widest = max(map(len, lines.raw[start:stop]))
        self._widest = max(self._widest, min(widest, MAX_LINE) + 40)
        if self._starts is not None:
            width = self._wrap_width()
            starts = self._starts
            first = self._first
            for number in new_ids:
                starts.append(starts[-1] + self._height(number - first, width))
        removed = self._trim()
        if not self.following:
            self.pending += added
        self._update(removed_rows=removed)

    def skip_lines(self, lines: Lines, stop: int) -> None:
        """Count `lines[:stop]` as received without holding them.

        For lines that would fall out of the buffer anyway, when the view is so far
        behind that more than its capacity waits to be shown.
        """
        if stop <= 0:
            return
        self.received += stop
        if not self.following:
            passing = self._passing(lines, 0, stop, 0)
            self.pending += stop if passing is None else len(passing)

    def _trim(self) -> int:
        """Drop the oldest lines past capacity (in chunks, so the cost is amortised)."""
        excess = len(self._lines) - self.capacity
        if excess <= max(1, self.capacity // 10):
            return 0
        self._lines.drop_first(excess)
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
        self._shown = self._passing(self._lines, 0, len(self._lines), self._first)
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

    def _height(self, index: int, width: int) -> int:
        length = len(self._plain_line(index))
        return max(1, -(-length // width))

    def _restart_rows(self) -> None:
        if not self.wrap:
            self._starts = None
            return
        width = self._wrap_width()
        starts = [0]
        total = 0
        first = self._first
        for index in range(self.line_count):
            total += self._height(self._id_at(index) - first, width)
            starts.append(total)
        self._starts = starts

    def _update(self, removed_rows: int = 0) -> None:
        width = self._wrap_width() if self.wrap else self._widest + _PREFIX_WIDTH
        size = Size(width, self._rows())
        old = self.virtual_size
        scroll_update = getattr(self, "_scroll_update", None)
        fits = self.container_size.height + 1
        if size.width == old.width and min(size.height, old.height) > fits and scroll_update:
            # Rows come and go behind a scrollbar that stays: the scrollbar and scroll
            # limits are updated here, without a layout of the whole screen each batch.
            self.set_reactive(LogView.virtual_size, size)
            scroll_update(size)
        else:
            self.virtual_size = size
        if self.following:
            # After the layout: the first batch or a resize may change the height first.
            self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)
        elif removed_rows:
            self.scroll_to(
                y=max(0, self.scroll_y - removed_rows), animate=False, immediate=True, force=True
            )
        self.refresh()
        self._changed()

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change(self)

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
        self._changed()

    def action_top(self) -> None:
        self.following = False
        self.scroll_to(y=0, animate=False, immediate=True, force=True)
        self._changed()

    def action_follow(self) -> None:
        """Jump to the newest line and follow again."""
        self._set_following(True)

    def action_toggle_follow(self) -> None:
        """Pause (the view stays put, new lines are counted) or follow again."""
        self._set_following(not self.following)

    def on_mouse_scroll_up(self, event: MouseScrollUp) -> None:
        if self.following:
            self.following = False
            self._changed()

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

    def _plain_line(self, index: int) -> str:
        """Row text of buffer line `index`: time, gutter, service, then the message (cleaned)."""
        lines = self._lines
        parts = []
        if self.show_time:
            parts.append(lines.stamp[index] + " ")
        parts.append("! " if lines.alerting(index) else "  ")
        parts.append((lines.service[index] or "-")[:7].ljust(8))
        parts.append(plain(lines.raw[index] if self.raw else lines.message(index)))
        return "".join(parts)

    def _render_line(self, number: int) -> list[Strip]:
        cached = self._cache.get(number)
        if cached is not None:
            return cached
        index = number - self._first
        lines = self._lines
        palette = self.palette
        line = self._plain_line(index)
        alerting = lines.alerting(index)
        text = Text(line, no_wrap=True, end="")
        head = 0
        if self.show_time:
            text.stylize(palette.muted, 0, 8)
            head = 9
        if alerting:
            text.stylize(palette.log["alert"], head, head + 1)
        service_style = palette.service.get(lines.service[index])
        if service_style is not None:
            text.stylize(service_style, head + 2, head + 9)
        kind_class = LOOKS[lines.look[index]]
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

    def render_lines(self, crop: Region) -> list[Strip]:
        """The rows of one repaint: the widget's style and width are looked up once for all."""
        self._frame = (self.rich_style, self.scrollable_content_region.width)
        try:
            return super().render_lines(crop)
        finally:
            self._frame = None

    def render_line(self, y: int) -> Strip:
        """One row on screen: only visible rows are ever formatted."""
        scroll_x, scroll_y = self.scroll_offset
        base, width = self._frame or (self.rich_style, self.scrollable_content_region.width)
        located = self._locate(scroll_y + y)
        if located is None:
            if y == 0 and not self._rows() and self.placeholder:
                text = Text(plain(self.placeholder), style=self.palette.muted, end="")
                strip = Strip(text.render(self.app.console), text.cell_len)
                return strip.crop_extend(0, width, base).apply_style(base)
            return Strip.blank(width, base)
        index, sub = located
        strips = self._render_line(self._id_at(index))
        strip = strips[min(sub, len(strips) - 1)]
        return strip.crop_extend(scroll_x, scroll_x + width, base).apply_style(base)
