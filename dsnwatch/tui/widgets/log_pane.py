"""The log pane: the filter input, the virtual log view and its status line."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Input, Static

from dsnwatch.tui.safe import plain
from dsnwatch.tui.widgets.log_view import LogView


class LogPane(Vertical):
    """Dovecot and Postfix, live: `/` filters, space pauses, `v` picks the service."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "slash", "filter", "Filter", tooltip="Filter as you type; Enter keeps it, Esc clears it"
        ),
        Binding("escape", "clear_filter", "Clear filter", show=False, tooltip="Clear the filter"),
    ]

    def __init__(self, capacity: int = 50_000, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.capacity = capacity
        self.border_title = "Logs"
        self._status: tuple[str, tuple[Any, ...]] | None = None

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder="filter the log: type, Enter keeps it, Esc clears",
            id="log-filter",
            compact=True,
        )
        yield LogView(self.capacity, on_change=self._show_status, id="log-view")
        yield Static(id="log-status", markup=False)

    @property
    def view(self) -> LogView:
        return self.query_one(LogView)

    def action_filter(self) -> None:
        """Open the filter input (what is typed filters as it is typed)."""
        box = self.query_one("#log-filter", Input)
        box.add_class("-open")
        box.value = self.view.needle
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#log-filter", Input)
        box.remove_class("-open")
        if self.view.needle:
            box.value = ""
            self.view.set_filter("")
        self.view.focus()

    @on(Input.Changed, "#log-filter")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        if event.input.has_class("-open"):
            self.view.set_filter(event.value)

    @on(Input.Submitted, "#log-filter")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.view.set_filter(event.value)
        event.input.remove_class("-open")
        self.view.focus()

    def _show_status(self, view: LogView) -> None:
        # One row whatever it says: no layout pass, and no repaint when nothing changed.
        line = status_line(view)
        key = (line.plain, tuple(line.spans))
        if key != self._status:
            self._status = key
            self.query_one("#log-status", Static).update(line, layout=False)


def status_line(view: LogView) -> Content:
    """Following or paused (with the "+N new" marker), what is filtered, how much is held."""
    parts: list[str | tuple[str, str]] = []
    if view.following:
        parts.append(("following", "$text-success"))
    else:
        parts.append((" PAUSED ", "reverse $text-warning"))
        if view.pending:
            parts.append("  ")
            parts.append((f" +{view.pending:,} new ", "reverse bold $text-accent"))
        parts.append(("  G/End follows", "$text-muted"))
    if view.service != "both":
        parts.append(f"  {view.service} only")
    if view.needle:
        parts.append("  filter ")
        parts.append((plain(view.needle, 40), "bold"))
        parts.append(f" {view.line_count:,} of {view.buffered:,}")
    else:
        parts.append((f"  {view.buffered:,} lines", "$text-muted"))
    flags = [
        name
        for name, on_ in (("wrap", view.wrap), ("raw", view.raw), ("no times", not view.show_time))
        if on_
    ]
    if flags:
        parts.append(("  [" + ", ".join(flags) + "]", "$text-muted"))
    return Content.assemble(*parts)
