"""`d`: the doctor's checks of every link of the pipeline, one line each."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from dsnwatch.tui.messages import DoctorDone
from dsnwatch.tui.safe import plain

if TYPE_CHECKING:
    from dsnwatch.install.doctor import Check

_TONE = {"OK": "bold $text-success", "WARN": "bold $text-warning", "FAIL": "bold $text-error"}


def checks_content(checks: list[Check]) -> Content:
    """The checks as lines: status word, name, what was found and what to do."""
    if not checks:
        return Content.styled("No checks ran.", "$text-muted")
    lines = [
        Content.assemble(
            (f"{check.status:<4}", _TONE.get(check.status, "bold")),
            "  ",
            (plain(check.name, 40), "bold"),
            ": ",
            plain(check.message, 600),
        )
        for check in checks
    ]
    failing = sum(1 for c in checks if c.status == "FAIL")
    verdict = (
        Content.styled("Every link of the pipeline works.", "bold $text-success")
        if not failing
        else Content.styled(
            f"{failing} check(s) failed: see above for what to do.", "bold $text-error"
        )
    )
    return Content("\n").join([*lines, Content(""), verdict])


def pipeline_word(checks: list[Check]) -> str:
    """The header's one word for the doctor's verdict."""
    failing = sum(1 for c in checks if c.status == "FAIL")
    if failing:
        return f"{failing} failing"
    warnings = sum(1 for c in checks if c.status == "WARN")
    return f"ok, {warnings} warn" if warnings else "ok"


class DoctorScreen(ModalScreen[None]):
    """Runs the doctor (in a worker) and shows what it found; `r` runs it again."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close"),
        Binding("r", "rerun", "Run again"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="doctor-box", classes="dialog") as box:
            box.border_title = "Doctor"
            yield Static(Content.styled("Running the checks...", "$text-muted"), id="doctor-checks")

    def on_mount(self) -> None:
        self.action_rerun()

    def action_rerun(self) -> None:
        from dsnwatch.tui.app import DsnwatchApp

        app = self.app
        assert isinstance(app, DsnwatchApp)
        self.query_one("#doctor-checks", Static).update(
            Content.styled("Running the checks...", "$text-muted")
        )
        app.run_doctor(self)

    @on(DoctorDone)
    def show_checks(self, message: DoctorDone) -> None:
        self.query_one("#doctor-checks", Static).update(checks_content(message.checks))

    def job_failed(self, group: str, error: str) -> None:
        """The doctor itself raised."""
        self.query_one("#doctor-checks", Static).update(
            Content.assemble(("The doctor could not run: ", "bold $text-error"), plain(error, 600))
        )

    def action_close(self) -> None:
        self.dismiss(None)
