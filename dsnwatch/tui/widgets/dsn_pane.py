"""The DSN pane: the reports from the central mailbox, newest first, sortable and filterable."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import DataTable, Input, Static

from dsnwatch.tui.look import Palette, reason_class
from dsnwatch.tui.safe import plain, text

COLUMNS = ("Time", "Recipient", "Status", "Reason", "H/S", "Reporter")
SORTS: tuple[tuple[str, Callable[[dict[str, Any]], Any], bool], ...] = (
    ("newest", lambda r: (r["reported_at"], r["id"]), True),
    ("recipient", lambda r: (r["recipient"] or "").lower(), False),
    ("reason", lambda r: (r["reason"], -r["reported_at"]), False),
    ("domain", lambda r: (r["recipient_domain"], -r["reported_at"]), False),
    ("reporter", lambda r: ((r["reporter"] or "~").lower(), -r["reported_at"]), False),
)
INFO_REASONS = ("feedback", "vacation", "delivered")


def bounce_word(row: dict[str, Any]) -> str:
    """hard, soft, or - for reports that are not failures."""
    if row["reason"] in INFO_REASONS:
        return "-"
    return "hard" if row["hard_bounce"] else "soft"


def when(stamp: float, now: float) -> str:
    """HH:MM today, MM-DD HH:MM before (local time)."""
    moment = time.localtime(stamp)
    if time.strftime("%Y-%m-%d", moment) == time.strftime("%Y-%m-%d", time.localtime(now)):
        return time.strftime("%H:%M:%S", moment)
    return time.strftime("%m-%d %H:%M", moment)


@dataclass(slots=True)
class Criteria:
    """What the DSN filter asks for: `reason:X domain:Y hard` and free words."""

    reason: str = ""
    domain: str = ""
    hard_only: bool = False
    words: tuple[str, ...] = ()

    @classmethod
    def parse(cls, query: str, hard_only: bool = False) -> Criteria:
        """Read a filter such as `reason:userunknown domain:example.org hard bob`."""
        found = cls(hard_only=hard_only)
        words = []
        for token in query.split():
            key, sep, value = token.partition(":")
            if sep and key.lower() == "reason":
                found.reason = value.lower()
            elif sep and key.lower() == "domain":
                found.domain = value.lower().lstrip("@")
            elif token.lower() == "hard":
                found.hard_only = True
            else:
                words.append(token.lower())
        found.words = tuple(words)
        return found

    def keep(self, row: dict[str, Any]) -> bool:
        if self.reason and row["reason"] != self.reason:
            return False
        if self.domain and (row["recipient_domain"] or "") != self.domain:
            return False
        if self.hard_only and not (row["hard_bounce"] and row["reason"] not in INFO_REASONS):
            return False
        if self.words:
            hay = " ".join(
                str(row.get(k) or "")
                for k in (
                    "recipient",
                    "reason",
                    "reporter",
                    "status",
                    "diagnostic_code",
                    "original_subject",
                )
            ).lower()
            return all(w in hay for w in self.words)
        return True

    def describe(self) -> str:
        parts = []
        if self.reason:
            parts.append(f"reason:{self.reason}")
        if self.domain:
            parts.append(f"domain:{self.domain}")
        if self.hard_only:
            parts.append("hard only")
        parts.extend(self.words)
        return " ".join(parts)


class DsnPane(Vertical):
    """Reports, live: Enter opens one, `/` filters, `h` hard only, `o` changes the order."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "slash", "filter", "Filter", tooltip="Filter: reason:X domain:Y hard, or any words"
        ),
        Binding(
            "h",
            "hard_only",
            "Hard only",
            show=False,
            tooltip="Only hard bounces, or everything again",
        ),
        Binding(
            "o",
            "sort",
            "Order",
            show=False,
            tooltip="Order: newest, recipient, reason, domain, reporter",
        ),
        Binding("escape", "clear_filter", "Clear filter", show=False, tooltip="Clear the filter"),
    ]

    @dataclass
    class Opened(Message):
        """Enter on a report: the app opens the detail screen."""

        row: dict[str, Any]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Reports"
        self.rows: list[dict[str, Any]] = []
        self.shown: list[dict[str, Any]] = []
        self.query_text = ""
        self.hard_only = False
        self.sort_index = 0
        self.empty_text = "Waiting for the mailbox..."
        self._by_key: dict[str, dict[str, Any]] = {}
        self._palette: Palette | None = None
        self._now: Callable[[], float] = time.time

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder="filter: reason:userunknown domain:example.org hard words...",
            id="dsn-filter",
            compact=True,
        )
        table: DataTable[Text] = DataTable(id="dsn-table", cursor_type="row", zebra_stripes=False)
        yield table
        yield Static(id="dsn-empty", markup=False)
        yield Static(id="dsn-status", markup=False)

    def on_mount(self) -> None:
        table = self.table
        for name in COLUMNS:
            table.add_column(name, key=name.lower())
        self._fill()

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#dsn-table", DataTable)

    @property
    def criteria(self) -> Criteria:
        return Criteria.parse(self.query_text, self.hard_only)

    def set_clock(self, clock: Callable[[], float]) -> None:
        self._now = clock

    def show(self, rows: list[dict[str, Any]]) -> None:
        """New rows from the store (newest first); the cursor stays on its report."""
        self.rows = rows
        self._fill()

    def set_empty_text(self, message: str) -> None:
        """What the pane says while it has no report to show."""
        self.empty_text = message
        if not self.shown:
            self._render_empty()

    def restyle(self) -> None:
        """The theme changed: colour the rows again."""
        self._palette = None
        self._fill()

    def _fill(self) -> None:
        if not self.is_mounted:
            return
        criteria = self.criteria
        shown = [r for r in self.rows if criteria.keep(r)]
        order, sort_key, reverse = SORTS[self.sort_index]
        if order != "newest":
            shown.sort(key=sort_key, reverse=reverse)
        self.shown = shown
        table = self.table
        cursor_key = None
        # On the top row the cursor follows the newest report; elsewhere it stays on its report.
        if table.row_count and 0 < table.cursor_row < table.row_count:
            cursor_key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        palette = self._palette or Palette(self.app.theme_variables)
        self._palette = palette
        now = self._now()
        table.clear()
        self._by_key = {}
        for row in shown:
            key = str(row["id"])
            self._by_key[key] = row
            style = palette.reason.get(reason_class(row["reason"]), "")
            bounce = bounce_word(row)
            table.add_row(
                text(when(row["reported_at"], now), palette.muted),
                text(row["recipient"], limit=40),
                text(row["status"] or "-"),
                text(row["reason"], style),
                text(bounce, palette.hard if bounce == "hard" else ""),
                text(row["reporter"] or "-", limit=30),
                key=key,
            )
        if cursor_key is not None and cursor_key in self._by_key:
            table.move_cursor(row=table.get_row_index(cursor_key), animate=False)
        self._render_empty()
        self._render_status()

    def _render_empty(self) -> None:
        empty = self.query_one("#dsn-empty", Static)
        self.set_class(not self.shown, "-empty")
        empty.display = not self.shown
        if self.shown:
            return
        if self.rows:
            empty.update(Content(f"No report matches: {plain(self.criteria.describe(), 60)}"))
        else:
            empty.update(Content(plain(self.empty_text, 300)))

    def _render_status(self) -> None:
        parts: list[str | tuple[str, str]] = [
            (f"{len(self.shown):,}", "bold"),
            f" of {len(self.rows):,} reports",
            (
                "  newest first" if self.sort_index == 0 else f"  by {SORTS[self.sort_index][0]}",
                "$text-muted",
            ),
        ]
        described = self.criteria.describe()
        if described:
            parts.append("  filter ")
            parts.append((plain(described, 50), "bold"))
        self.query_one("#dsn-status", Static).update(Content.assemble(*parts))

    # --- actions ---------------------------------------------------------------

    def action_filter(self) -> None:
        box = self.query_one("#dsn-filter", Input)
        box.add_class("-open")
        box.value = self.query_text
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#dsn-filter", Input)
        box.remove_class("-open")
        box.value = ""
        self.query_text = ""
        self.hard_only = False
        self._fill()
        self.table.focus()

    def action_hard_only(self) -> None:
        """Show only hard bounces, or everything again."""
        self.hard_only = not self.hard_only
        self._fill()

    def action_sort(self) -> None:
        """Newest first, then by recipient, reason, domain, reporter."""
        self.sort_index = (self.sort_index + 1) % len(SORTS)
        self._fill()

    @on(Input.Changed, "#dsn-filter")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        if event.input.has_class("-open"):
            self.query_text = event.value
            self._fill()

    @on(Input.Submitted, "#dsn-filter")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_text = event.value
        event.input.remove_class("-open")
        self._fill()
        self.table.focus()

    @on(DataTable.RowSelected, "#dsn-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        row = self._by_key.get(str(event.row_key.value))
        if row is not None:
            self.post_message(self.Opened(row))
