"""`i`: install or reinstall the pipeline: the diff, a confirmation, progress, result, doctor."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Static

from dsnwatch.tui.messages import DoctorDone, InstallDone, InstallPlanned, InstallStep
from dsnwatch.tui.safe import block, plain
from dsnwatch.tui.screens.confirm import ConfirmScreen
from dsnwatch.tui.screens.doctor import checks_content

if TYPE_CHECKING:
    from dsnwatch.tui.app import DsnwatchApp
    from dsnwatch.tui.sources import InstallPlan


def diff_content(diff: str) -> Content:
    """A unified diff, coloured by line (the text is cleaned: files may hold anything)."""
    lines = []
    for line in block(diff).splitlines():
        if line.startswith(("+++", "---")):
            style = "bold"
        elif line.startswith("+"):
            style = "$text-success"
        elif line.startswith("-"):
            style = "$text-error"
        elif line.startswith("@@"):
            style = "$text-accent"
        elif line.startswith("#"):
            style = "bold $text-warning"
        else:
            style = ""
        lines.append(Content.styled(line, style))
    return Content("\n").join(lines)


class InstallScreen(Screen[None]):
    """Plan, show, ask, apply, check. States: planning, planned, applying, done, failed."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "apply", "Apply"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.state = "planning"
        self.plan: InstallPlan | None = None
        self.steps: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static(id="install-title", classes="screen-title", markup=False)
        with VerticalScroll(id="install-body"):
            yield Static(id="install-plan", markup=False)
            yield Static(id="install-steps", markup=False)
            yield Static(id="install-checks", markup=False)
        yield Footer()

    @property
    def console_app(self) -> DsnwatchApp:
        from dsnwatch.tui.app import DsnwatchApp

        assert isinstance(self.app, DsnwatchApp)
        return self.app

    def on_mount(self) -> None:
        self._title("Reading the current configuration...", "$text-muted")
        self.console_app.plan_install(self)

    def _title(self, text: str, style: str = "bold") -> None:
        self.query_one("#install-title", Static).update(Content.styled(text, style))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "apply":
            return self.state == "planned" and self.plan is not None and not self.plan.empty
        return True

    @on(InstallPlanned)
    def _planned(self, message: InstallPlanned) -> None:
        self.plan = message.plan
        if message.plan.empty:
            self.state = "done"
            self._title(
                "Nothing to change: the pipeline is installed as configured.", "bold $text-success"
            )
            self.query_one("#install-plan", Static).update(diff_content(message.plan.text))
            self.console_app.run_doctor(self)
        else:
            self.state = "planned"
            self._title("These changes will be made. Press a to apply, Esc to leave it as it is.")
            self.query_one("#install-plan", Static).update(diff_content(message.plan.text))
        self.refresh_bindings()

    def action_apply(self) -> None:
        if self.plan is None or self.state != "planned":
            return
        question = Content.assemble(
            "Apply these changes to ", (plain(self.console_app.sources.server, 60), "bold"), "?"
        )
        detail = Content("Files are written with a backup; Postfix and Dovecot may restart.")
        self.app.push_screen(ConfirmScreen(question, detail, yes="Apply"), self._confirmed)

    def _confirmed(self, yes: bool | None) -> None:
        if not yes or self.plan is None:
            self.notify("Nothing was changed.", markup=False)
            return
        self.state = "applying"
        self.refresh_bindings()
        self._title("Applying...", "bold $text-warning")
        self.console_app.apply_install(self, self.plan)

    @on(InstallStep)
    def _step(self, message: InstallStep) -> None:
        self.steps.append(plain(message.line, 400))
        lines = [Content.assemble(("  > ", "$text-accent"), s) for s in self.steps]
        self.query_one("#install-steps", Static).update(Content("\n").join(lines))
        self.query_one("#install-body", VerticalScroll).scroll_end(animate=False)

    @on(InstallDone)
    def _done(self, message: InstallDone) -> None:
        if message.error:
            self.state = "failed"
            self._title(f"Install failed: {plain(message.error, 300)}", "bold $text-error")
        else:
            self.state = "done"
            self._title("Installed. Checking every link...", "bold $text-success")
            self.console_app.run_doctor(self)
        self.refresh_bindings()

    def job_failed(self, group: str, error: str) -> None:
        """A worker of this screen raised: show it where the person is looking."""
        if group == "install-plan":
            self.state = "failed"
            self._title(f"Cannot plan the install: {plain(error, 300)}", "bold $text-error")
        elif group == "install-apply":
            self.post_message(InstallDone(error))
        else:
            self.query_one("#install-checks", Static).update(
                Content.assemble(
                    ("The doctor could not run: ", "bold $text-error"), plain(error, 600)
                )
            )
        self.refresh_bindings()

    @on(DoctorDone)
    def _checked(self, message: DoctorDone) -> None:
        self.show_checks(message)

    def show_checks(self, message: DoctorDone) -> None:
        self.query_one("#install-checks", Static).update(
            Content("\n").join(
                [Content.styled("Doctor", "bold $text-accent"), checks_content(message.checks)]
            )
        )
        if self.state == "done" and self.steps:
            self._title("Installed.", "bold $text-success")

    def action_back(self) -> None:
        if self.state == "applying":
            self.notify("Applying: wait until it finishes.", severity="warning", markup=False)
            return
        self.dismiss(None)
