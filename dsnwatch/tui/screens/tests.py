"""`t`: the test menu. A test bounce, asked for first, each stage shown as it passes."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from dsnwatch.tui.messages import TestDone, TestStage
from dsnwatch.tui.safe import plain
from dsnwatch.tui.screens.confirm import ConfirmScreen
from dsnwatch.tui.sources import TEST_KINDS, StageUpdate

if TYPE_CHECKING:
    from dsnwatch.tui.app import DsnwatchApp

_MARK = {
    "running": ("..", "$text-warning"),
    "passed": ("ok", "bold $text-success"),
    "failed": ("!!", "bold $text-error"),
    "skipped": ("--", "$text-muted"),
}


def stages_content(updates: dict[tuple[str, str], StageUpdate]) -> Content:
    """One line per stage, in the order they started; the latest state of each."""
    lines = []
    for update in updates.values():
        mark, style = _MARK.get(update.state, ("?", "bold"))
        seconds = f"{update.seconds:6.1f}s " if update.seconds is not None else "        "
        lines.append(
            Content.assemble(
                (f"[{mark}] ", style),
                (seconds, "$text-muted"),
                (f"{plain(update.test, 12):<10}", "$text-muted"),
                (f"{plain(update.stage, 28):<28}", "bold"),
                "  ",
                plain(update.detail, 300),
            )
        )
    return Content("\n").join(lines)


class TestScreen(Screen[None]):
    __test__ = False  # not a test class, whatever pytest thinks of the name

    """Pick a test, confirm it, watch its stages, read the verdict."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.running = False
        self.stop = threading.Event()
        self.updates: dict[tuple[str, str], StageUpdate] = {}

    def compose(self) -> ComposeResult:
        yield Static(
            Content.styled("Test bounces: pick one, Enter to run it.", "bold"),
            id="tests-title",
            classes="screen-title",
            markup=False,
        )
        with Vertical(id="tests-body"):
            yield OptionList(
                *(Option(Content(label), id=kind) for kind, label in TEST_KINDS),
                id="tests-menu",
                markup=False,
            )
            with VerticalScroll(id="tests-run"):
                yield Static(id="tests-stages", markup=False)
                yield Static(id="tests-verdict", markup=False)
        yield Footer()

    @property
    def console_app(self) -> DsnwatchApp:
        from dsnwatch.tui.app import DsnwatchApp

        assert isinstance(self.app, DsnwatchApp)
        return self.app

    def on_mount(self) -> None:
        problem = self.console_app.test_problem()
        if problem:
            self.query_one("#tests-verdict", Static).update(
                Content.assemble(
                    ("Tests cannot run here: ", "bold $text-error"), plain(problem, 300)
                )
            )
        self.query_one("#tests-menu", OptionList).focus()

    @on(OptionList.OptionSelected, "#tests-menu")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        kind = event.option.id or ""
        if self.running:
            self.notify("A test is running: wait for its verdict.", markup=False)
            return
        problem = self.console_app.test_problem()
        if problem:
            self.notify(plain(problem, 300), severity="error", markup=False)
            return
        question = Content.assemble("Send the ", (kind, "bold"), " test bounce now?")
        detail = Content(
            "This sends real mail from the configured sender; only test targets"
            " (.invalid, the remote test domain, the SES simulator) receive it."
        )
        self.app.push_screen(
            ConfirmScreen(question, detail, yes="Send"), lambda yes: self._confirmed(kind, yes)
        )

    def _confirmed(self, kind: str, yes: bool | None) -> None:
        if not yes:
            return
        self.running = True
        self.stop.clear()
        self.updates = {}
        self.query_one("#tests-stages", Static).update("")
        self.query_one("#tests-verdict", Static).update(
            Content.styled(f"Running the {kind} test...", "$text-warning")
        )
        self.console_app.fire_test(self, kind, self.stop)

    @on(TestStage)
    def _stage(self, message: TestStage) -> None:
        update = message.update
        self.updates[(update.test, update.stage)] = update
        self.query_one("#tests-stages", Static).update(stages_content(self.updates))
        self.query_one("#tests-run", VerticalScroll).scroll_end(animate=False)

    @on(TestDone)
    def _done(self, message: TestDone) -> None:
        self.running = False
        verdict = self.query_one("#tests-verdict", Static)
        if message.error:
            verdict.update(
                Content.assemble(
                    ("Test failed to run: ", "bold $text-error"), plain(message.error, 400)
                )
            )
            return
        lines = []
        for outcome in message.outcomes:
            word, style = (
                ("PASSED", "bold $text-success")
                if outcome.passed
                else ("FAILED", "bold $text-error")
            )
            lines.append(
                Content.assemble(
                    (f"{word} ", style),
                    (f"{plain(outcome.test, 12)}: ", "bold"),
                    plain(outcome.verdict, 600),
                )
            )
        verdict.update(Content("\n").join(lines) if lines else Content("No test ran."))
        self.query_one("#tests-run", VerticalScroll).scroll_end(animate=False)

    def job_failed(self, group: str, error: str) -> None:
        """The launcher raised instead of giving a verdict."""
        self.post_message(TestDone([], error))

    def action_back(self) -> None:
        if self.running:
            self.app.push_screen(
                ConfirmScreen("Stop following the running test?", yes="Stop"), self._stop_confirmed
            )
            return
        self.dismiss(None)

    def _stop_confirmed(self, yes: bool | None) -> None:
        if yes:
            self.stop.set()
            self.dismiss(None)
