"""Enter on a report: every parsed field, the diagnostic, the headers, the raw message, the logs."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Static, TabbedContent, TabPane

from dsnwatch.tui.look import reason_class
from dsnwatch.tui.messages import MessageFetched
from dsnwatch.tui.safe import block, plain
from dsnwatch.tui.widgets.dsn_pane import bounce_word

if TYPE_CHECKING:
    from dsnwatch.tui.app import DsnwatchApp

TABS = (
    ("fields", "Fields"),
    ("diagnostic", "Diagnostic"),
    ("headers", "Headers"),
    ("raw", "Raw"),
    ("events", "Log events"),
)

# The fields in the order an operator reads them; the rest follow.
FIELD_ORDER = (
    "recipient",
    "original_recipient",
    "reason",
    "hard_bounce",
    "status",
    "reply_code",
    "action",
    "kind",
    "reporter",
    "remote_mta",
    "reporting_mta",
    "last_attempt",
    "feedback_type",
    "original_subject",
    "original_sender",
    "original_message_id",
    "queue_id",
    "subject",
    "message_id",
    "report_date",
    "reported_at",
    "stored_at",
    "mailbox",
    "uidvalidity",
    "uid",
    "recipient_domain",
    "diagnostic_code",
)


def fields_content(row: dict[str, Any]) -> Content:
    """Every stored field of a report, one per line."""
    names = [n for n in FIELD_ORDER if n in row] + sorted(
        n for n in row if n not in FIELD_ORDER and n != "id"
    )
    lines = []
    for name in names:
        value = row[name]
        if name == "hard_bounce":
            shown = bounce_word(row)
        elif name in ("reported_at", "stored_at") and isinstance(value, int | float):
            shown = time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(value))
        else:
            shown = "" if value is None else str(value)
        style = ""
        if name == "reason":
            style = {"recipient": "bold $text-error", "policy": "bold $text-warning"}.get(
                reason_class(str(value)), "bold"
            )
        lines.append(
            Content.assemble((f"{name:<20}", "$text-muted"), (plain(shown, 2000) or "-", style))
        )
    return Content("\n").join(lines)


def headers_content(raw: bytes) -> Content:
    """The original message's headers (and the report's own), from the raw bytes."""
    from dsnwatch.dsn.mime import parse_bytes, split_parts

    message = parse_bytes(raw)
    parts = split_parts(message)
    blocks: list[Content] = []
    for title, source in (("Original message", parts.original), ("The report itself", message)):
        blocks.append(Content.styled(title, "bold $text-accent"))
        if source is None:
            blocks.append(Content.styled("(the report does not include them)", "$text-muted"))
        else:
            for name, value in source.items():
                blocks.append(
                    Content.assemble((f"{plain(name, 60)}: ", "bold"), plain(str(value), 2000))
                )
        blocks.append(Content(""))
    return Content("\n").join(blocks)


def events_content(events: list[dict[str, Any]]) -> Content:
    """The stored log events that name the report's Message-ID, queue id or recipient."""
    if not events:
        return Content.styled(
            "No stored log event names this report's Message-ID, queue id or recipient.",
            "$text-muted",
        )
    lines = []
    for event in events:
        stamp = (event.get("time") or "")[:19].replace("T", " ")
        lines.append(
            Content.assemble(
                (f"{stamp:<20}", "$text-muted"),
                (f"{plain(event.get('service'), 8):<8}", "bold"),
                (f"{plain(event.get('kind'), 26):<26}", "$text-accent"),
                plain(event.get("raw"), 1000),
            )
        )
    return Content("\n").join(lines)


class DetailScreen(Screen[None]):
    """One report, whole. 1-5 switch tabs; the raw message is read from the mailbox."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "back", "Back"),
        *(
            Binding(str(n), f"tab('{tab}')", title, show=False)
            for n, (tab, title) in enumerate(TABS, start=1)
        ),
    ]

    def __init__(self, row: dict[str, Any]) -> None:
        super().__init__()
        self.row = row

    def compose(self) -> ComposeResult:
        title = Content.assemble(
            ("Report ", "bold"),
            (plain(self.row.get("recipient"), 60), "bold $text-accent"),
            "  ",
            plain(self.row.get("reason"), 30),
            "  ",
            plain(self.row.get("status"), 12),
        )
        yield Static(title, classes="screen-title", markup=False)
        with TabbedContent(id="detail-tabs"):
            for tab, label in TABS:
                with TabPane(label, id=tab), VerticalScroll(id=f"{tab}-scroll"):
                    yield Static(id=f"{tab}-body", markup=False)
        yield Footer()

    @property
    def console_app(self) -> DsnwatchApp:
        from dsnwatch.tui.app import DsnwatchApp

        assert isinstance(self.app, DsnwatchApp)
        return self.app

    def on_mount(self) -> None:
        row = self.row
        self._body("fields").update(fields_content(row))
        diagnostic = row.get("diagnostic_code") or ""
        self._body("diagnostic").update(
            Content(block(diagnostic))
            if diagnostic
            else Content.styled("No diagnostic text.", "$text-muted")
        )
        waiting = Content.styled("Reading the message from the mailbox...", "$text-muted")
        self._body("headers").update(waiting)
        self._body("raw").update(waiting)
        self._body("events").update(events_content(self.console_app.events_about(row)))
        self.console_app.fetch_message(self, row)
        self.query_one("#fields-scroll").focus()

    def _body(self, tab: str) -> Static:
        return self.query_one(f"#{tab}-body", Static)

    @on(MessageFetched)
    def _fetched(self, message: MessageFetched) -> None:
        if message.raw is None:
            why = Content.assemble(
                ("The message cannot be shown: ", "bold $text-error"), plain(message.error, 400)
            )
            self._body("headers").update(why)
            self._body("raw").update(why)
            return
        try:
            self._body("headers").update(headers_content(message.raw))
        except Exception as exc:  # a message the reader read may still defeat the header view
            self._body("headers").update(
                Content(f"The headers cannot be read: {plain(str(exc), 300)}")
            )
        self._body("raw").update(Content(block(message.raw.decode("utf-8", "replace"))))

    def job_failed(self, group: str, error: str) -> None:
        """Reading the message failed."""
        self.post_message(MessageFetched(None, None, error))

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        self.query_one(f"#{tab}-scroll").focus()

    def action_back(self) -> None:
        self.dismiss(None)
