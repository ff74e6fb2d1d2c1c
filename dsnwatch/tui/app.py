"""The console: the log pane over the DSN pane, a header, a summary strip and the footer.

Every blocking call (the log followers, the mailbox, doctor, install, tests,
reading one message) runs in a thread worker with its own group; results come
back as messages. Log lines reach the UI in batches: a pump thread drains the
followers' queue, correlates, stores and packs the lines in the compact form the
log view holds; the UI takes what it gathered on a 50 ms timer and shows it in
slices of bounded time, so a key press never waits long behind a flood of lines.
One handler shows every worker error.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message_pump import MessagePump
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import Worker, WorkerState, get_current_worker

from dsnwatch.logs.events import LogEvent
from dsnwatch.text import clean
from dsnwatch.tui.lines import Lines, alert_line
from dsnwatch.tui.messages import (
    DoctorDone,
    InstallDone,
    InstallPlanned,
    InstallStep,
    MailboxState,
    MessageFetched,
    ReportsStored,
    SyncProgress,
    TestDone,
    TestStage,
)
from dsnwatch.tui.paths import css_paths
from dsnwatch.tui.safe import plain
from dsnwatch.tui.screens.confirm import ConfirmScreen
from dsnwatch.tui.screens.detail import DetailScreen
from dsnwatch.tui.screens.doctor import DoctorScreen, pipeline_word
from dsnwatch.tui.screens.help import HelpScreen
from dsnwatch.tui.screens.install import InstallScreen
from dsnwatch.tui.screens.tests import TestScreen
from dsnwatch.tui.sources import InstallPlan, Sources, StageUpdate
from dsnwatch.tui.widgets.dsn_pane import DsnPane
from dsnwatch.tui.widgets.log_pane import LogPane
from dsnwatch.tui.widgets.log_view import LogView
from dsnwatch.tui.widgets.status import HeaderBar, SummaryStrip

REPORT_LIMIT = 5_000  # reports held by the DSN pane (newest first)
# Lines between the followers and the pump: a follower waits when the console is
# this far behind (the Docker engine and log files hold what is not read yet).
LOG_QUEUE_SIZE = 5_000
PUMP_BATCH = 2_500  # lines the pump correlates, stores and packs at a time
SLICE_LINES = 5_000  # lines the UI adds to the view at a time...
SLICE_BUDGET = 0.015  # ...for at most this long a tick, then it answers keys and repaints


def _one_line(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    lines = str(exc).strip().splitlines()
    return clean(lines[0] if lines else type(exc).__name__)


def _freeze_startup_objects() -> None:
    """Leave what the first screen built out of the collector's full passes, once.

    The app, its widgets, styles and imported modules live as long as the
    process; walking them again on every full collection is a pause the whole
    console waits for while log lines pour in. Later objects are collected as usual.
    """
    global _frozen
    if not _frozen:
        _frozen = True
        gc.collect()
        gc.freeze()


_frozen = False


class DsnwatchApp(App[int]):
    """Every delivery failure of one mail server, live."""

    CSS_PATH = css_paths()
    TITLE = "dsnwatch"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", tooltip="This screen: every key"),
        Binding(
            "i", "install", "Install", tooltip="Install or reinstall the pipeline (asks first)"
        ),
        Binding("t", "tests", "Test", tooltip="Test bounces: local, remote, SES, complaint, all"),
        Binding("d", "doctor", "Doctor", tooltip="Check every link of the pipeline"),
        Binding("r", "resync", "Resync", tooltip="Read the central mailbox again"),
        Binding("q", "quit", "Quit", tooltip="Leave the console"),
    ]

    def __init__(self, sources: Sources, *, log_capacity: int = 50_000, tick: float = 0.05) -> None:
        super().__init__()
        self.sources = sources
        self.log_capacity = log_capacity
        self.tick = tick
        self.store: Any = None
        self.report_rows: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._inbox = Lines()  # packed by the pump thread, taken by the timer
        self._backlog = Lines()  # taken, not yet shown (only the UI touches it)
        self._states: list[Any] = []
        self._reports_dirty = False
        self._watcher: Any = None
        self._stopping = threading.Event()
        self._owners: dict[str, MessagePump] = {}
        self._busy: set[str] = set()
        self._mailbox_problem = False
        self._panes: tuple[MessagePump, ...] = ()  # set once mounted

    # --- layout ------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield HeaderBar(id="header")
        yield SummaryStrip(id="summary")
        with Vertical(id="panes"):
            yield LogPane(self.log_capacity, id="log-pane")
            yield DsnPane(id="dsn-pane")
        yield Footer(compact=True)

    @property
    def header(self) -> HeaderBar:
        return self.query_one(HeaderBar)

    @property
    def log_view(self) -> LogView:
        return self.query_one(LogView)

    @property
    def dsn_pane(self) -> DsnPane:
        return self.query_one(DsnPane)

    def on_mount(self) -> None:
        sources = self.sources
        self._panes = (self.header, self.log_view, self.dsn_pane)
        health = self.header.health
        health.server = sources.server
        self.dsn_pane.set_clock(sources.clock)
        try:
            self.store = sources.open_store()
        except Exception as exc:
            self.dsn_pane.set_empty_text(f"The store cannot be opened: {_one_line(exc)}")
        self.reload_reports()
        if sources.followers is None:
            self.log_view.set_placeholder(f"No log lines: {sources.followers_problem}")
        else:
            self.log_view.set_placeholder("Waiting for log lines from Dovecot and Postfix...")
            health.logs = {"logs": "starting"}
        if sources.watcher is None:
            health.imap = "off"
            self.dsn_pane.set_empty_text(f"No mailbox: {sources.watcher_problem}")
        if sources.doctor is None:
            health.pipeline = "unknown"
        self.header.refresh_health()
        # The sources start once the first screen is drawn: their imports and
        # connections would otherwise compete with it for the interpreter.
        self.call_after_refresh(self._start_sources)
        self.set_interval(self.tick, self._take_batches, name="log-batches")
        self.set_interval(60, self._refresh_summary, name="summary")
        self.theme_changed_signal.subscribe(self, self._restyle)
        self.log_view.focus()

    def _start_sources(self) -> None:
        _freeze_startup_objects()
        if self.sources.followers is not None:
            self._follow_logs()
        if self.sources.watcher is not None:
            self.start_mailbox()
        if self.sources.doctor is not None:
            self.run_doctor(self)

    def _restyle(self, _theme: object) -> None:
        self.log_view.restyle()
        self.dsn_pane.restyle()

    # --- workers ---------------------------------------------------------------

    def run_job(
        self, owner: MessagePump, group: str, work: Callable[[], None], description: str
    ) -> Worker[None]:
        """Run blocking work in a thread of its own group; errors go to `owner.job_failed`."""
        self._owners[group] = owner
        return self.run_worker(
            work,
            name=group,
            group=group,
            description=description,
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker errors are shown (the app never dies of one)."""
        worker = event.worker
        if event.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            self._busy.discard(worker.group)
        if event.state != WorkerState.ERROR:
            return
        error = _one_line(worker.error)
        owner = self._owners.get(worker.group)
        handler = getattr(owner, "job_failed", None)
        if owner is not None and owner is not self and handler is not None and owner.is_attached:
            handler(worker.group, error)
        elif worker.group == "mailbox":
            self._mailbox_state("error", error)
        elif worker.group == "logs":
            self.log_view.set_placeholder(f"The log follower stopped: {error}")
            self.header.health.logs = {"logs": "stopped"}
            self.header.refresh_health()
        elif worker.group == "doctor":
            self.header.health.pipeline = "unknown"
            self.header.refresh_health()
        self.notify(
            f"{worker.description or worker.group}: {error}",
            title="Error",
            severity="error",
            markup=False,
        )

    # --- logs --------------------------------------------------------------------

    def _follow_logs(self) -> None:
        self._owners["logs"] = self
        self.run_worker(
            self._pump_logs,
            name="logs",
            group="logs",
            description="Following the logs",
            thread=True,
            exit_on_error=False,
        )

    def _pump_logs(self) -> None:
        """Drain the followers' queue in batches; correlate, store, hand over to the UI."""
        from dsnwatch.logs.correlator import Correlator
        from dsnwatch.logs.follow import FollowerState, LogQueue

        factory = self.sources.followers
        assert factory is not None
        worker = get_current_worker()
        queue = LogQueue(maxsize=LOG_QUEUE_SIZE)
        follower = factory(queue)
        store = self.sources.open_store()
        correlator = Correlator(self.sources.monitor or "dsn-monitor")
        follower.start()
        try:
            while not worker.is_cancelled and not self._stopping.is_set():
                items = queue.drain(limit=PUMP_BATCH, wait=0.1)
                if not items:
                    continue
                events: list[LogEvent] = []
                shown: list[LogEvent] = []
                states: list[FollowerState] = []
                for item in items:
                    if isinstance(item, FollowerState):
                        states.append(item)
                        continue
                    events.append(item)
                    shown.append(item)
                    for alert in correlator.feed(item):
                        store.add_alert(alert)
                        shown.append(alert_line(alert.kind, alert.message, item.time))
                if events:
                    store.add_events(events)
                packed = Lines.pack(shown)
                with self._lock:
                    self._inbox.extend(packed)
                    self._states.extend(states)
        finally:
            # A follower waiting for room in the queue must see its stop: keep draining.
            stopper = threading.Thread(target=follower.stop, name="logs-stop", daemon=True)
            stopper.start()
            while stopper.is_alive():
                queue.drain(limit=PUMP_BATCH, wait=0.05)
            store.close()

    def _going_away(self) -> bool:
        """Whether the app is going away: a source's late message must not touch its panes.

        Leaving through `App.exit()` (not `q`) removes the panes one by one before
        `on_unmount` sets `_stopping`, so the absence of any pane counts too.
        """
        panes = self._panes  # none before the first mount
        return self._stopping.is_set() or not panes or not all(p.is_attached for p in panes)

    def _take_batches(self) -> None:
        """The timer: take what the pump gathered and show it, a slice at a time."""
        if self._going_away():
            return
        with self._lock:
            lines, self._inbox = self._inbox, Lines()
            states, self._states = self._states, []
        backlog = self._backlog
        if lines:
            if backlog:
                backlog.extend(lines)
            else:
                backlog = self._backlog = lines
        if backlog:
            self._show_backlog(backlog)
        for state in states:
            self._follower_state(state.source, state.state, state.detail)
        if self._reports_dirty:
            self._reports_dirty = False
            self.reload_reports()

    def _show_backlog(self, backlog: Lines) -> None:
        view = self.log_view
        # More than the view holds: the oldest would only be dropped once shown.
        excess = len(backlog) - view.capacity
        if excess > 0:
            view.skip_lines(backlog, excess)
            backlog.drop_first(excess)
        deadline = time.perf_counter() + SLICE_BUDGET
        done = 0
        while True:  # at least one slice a tick, more while the budget lasts
            stop = min(done + SLICE_LINES, len(backlog))
            view.append_lines(backlog, done, stop)
            done = stop
            if done == len(backlog) or time.perf_counter() >= deadline:
                break
        if done == len(backlog):
            self._backlog = Lines()
        else:
            backlog.drop_first(done)

    def _follower_state(self, source: str, state: str, detail: str) -> None:
        health = self.header.health
        health.logs.pop("logs", None)  # the placeholder state until a follower reports
        before = health.logs.get(source)
        health.logs[source] = state
        self.header.refresh_health()
        label = f"{plain(source, 30)} logs"
        if state == "following" and before in ("reconnecting", "missing"):
            self.notify(f"{label}: following again", markup=False)
        elif state in ("reconnecting", "missing") and before != state:
            self.notify(
                f"{label}: {state} ({plain(detail, 200)}); retrying by itself",
                severity="warning",
                markup=False,
            )
            if not self.log_view.buffered:
                self.log_view.set_placeholder(f"{label}: {state}: {plain(detail, 200)}")

    # --- mailbox -----------------------------------------------------------------

    def start_mailbox(self) -> None:
        """Run the mailbox watcher (sync, then IDLE) in its own worker."""
        self._owners["mailbox"] = self
        self.run_worker(
            self._watch_mailbox,
            name="mailbox",
            group="mailbox",
            description="Watching the mailbox",
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )

    def _watch_mailbox(self) -> None:
        factory = self.sources.watcher
        assert factory is not None
        store = self.sources.open_store()

        def on_report(_where: Any, _report: Any) -> None:
            self.post_message(ReportsStored())

        def on_state(state: str, detail: str) -> None:
            self.post_message(MailboxState(state, detail))

        def on_progress(progress: Any) -> None:
            self.post_message(SyncProgress(progress.done, progress.total))

        watcher = factory(store, on_report, on_state, on_progress)
        self._watcher = watcher
        try:
            if not self._stopping.is_set():
                watcher.run()
        finally:
            store.close()

    @on(ReportsStored)
    def _reports_stored(self) -> None:
        # Reload on the next tick: a sync of hundreds of reports reloads a few times, not hundreds.
        self._reports_dirty = True

    @on(SyncProgress)
    def _sync_progress(self, message: SyncProgress) -> None:
        if self._going_away():
            return
        self.header.health.imap = "syncing"
        self.header.refresh_health()
        if not self.report_rows:
            self.dsn_pane.set_empty_text(f"Reading the mailbox: {message.done}/{message.total}...")

    @on(MailboxState)
    def _mailbox_message(self, message: MailboxState) -> None:
        if self._going_away():
            return  # the app is closing: its panes may be gone already
        self._mailbox_state(message.state, message.detail)

    def _mailbox_state(self, state: str, detail: str) -> None:
        health = self.header.health
        health.imap = state
        health.imap_detail = detail
        self.header.refresh_health()
        detail = plain(detail, 200)
        monitor = plain(self.sources.monitor or "the central mailbox", 60)
        texts = {
            "connecting": f"Connecting to the mailbox at {detail}...",
            "syncing": f"Reading the mailbox: {detail}...",
            "idle": f"No report yet: waiting for the first one in {monitor}.",
            "polling": f"No report yet: checking {monitor} {detail}.",
            "reconnecting": f"Mailbox connection lost ({detail}); reconnecting by itself.",
            "error": f"Mailbox: {detail}",
            "stopped": "The mailbox watcher stopped.",
        }
        self.dsn_pane.set_empty_text(texts.get(state, f"Mailbox: {state} {detail}"))
        if state in ("error", "reconnecting") and not self._mailbox_problem:
            self._mailbox_problem = True
            self.notify(f"Mailbox: {detail}", severity="warning", markup=False)
        elif state in ("idle", "polling") and self._mailbox_problem:
            self._mailbox_problem = False
            self.notify("Mailbox: connected again", markup=False)

    def reload_reports(self) -> None:
        """Read the newest reports from the store into the DSN pane and the summary."""
        if self.store is None:
            return
        try:
            self.report_rows = self.store.reports(limit=REPORT_LIMIT)
        except Exception as exc:
            self.dsn_pane.set_empty_text(f"The store cannot be read: {_one_line(exc)}")
            return
        self.dsn_pane.show(self.report_rows)
        self._refresh_summary()

    def _refresh_summary(self) -> None:
        if self._going_away():
            return
        self.query_one(SummaryStrip).show(self.report_rows, self.sources.clock())

    def events_about(self, row: dict[str, Any]) -> list[dict[str, Any]]:
        """The stored log events correlated with a report."""
        if self.store is None:
            return []
        result: list[dict[str, Any]] = self.store.events_about(
            msgids=[row.get("original_message_id") or "", row.get("message_id") or ""],
            queue_ids=[row.get("queue_id") or ""],
            recipients=[row.get("recipient") or ""],
        )
        return result

    # --- jobs the screens ask for ------------------------------------------------

    def run_doctor(self, owner: MessagePump) -> None:
        """Run the doctor; `owner` (a screen, or the app for the header) gets the checks."""
        doctor = self.sources.doctor
        if doctor is None:
            owner.post_message(DoctorDone([]))
            return
        self.header.health.pipeline = "checking"
        self.header.refresh_health()

        def work() -> None:
            checks = doctor()
            self.post_message(DoctorDone(checks))
            if owner is not self:
                owner.post_message(DoctorDone(checks))

        self.run_job(owner, "doctor", work, "Doctor")

    @on(DoctorDone)
    def _doctor_done(self, message: DoctorDone) -> None:
        if message.checks and not self._going_away():
            self.header.health.pipeline = pipeline_word(message.checks)
            self.header.refresh_health()

    def plan_install(self, owner: MessagePump) -> None:
        """Prepare the install plan (reads only)."""
        plan = self.sources.plan_install

        def work() -> None:
            if plan is None:
                raise RuntimeError("install is not available: no runtime is configured")
            owner.post_message(InstallPlanned(plan()))

        self.run_job(owner, "install-plan", work, "Planning the install")

    def apply_install(self, owner: MessagePump, plan: InstallPlan) -> None:
        """Apply a plan the person confirmed; each step arrives as a message."""
        self._busy.add("install-apply")

        def step(line: str) -> None:
            owner.post_message(InstallStep(line))

        def work() -> None:
            plan.apply(step)
            owner.post_message(InstallDone(""))

        self.run_job(owner, "install-apply", work, "Installing")

    def test_problem(self) -> str:
        """Why tests cannot run, or empty."""
        return "" if self.sources.run_test is not None else self.sources.test_problem

    def fire_test(self, owner: MessagePump, kind: str, stop: threading.Event) -> None:
        """Fire a confirmed test bounce; each stage arrives as a message."""
        runner = self.sources.run_test
        assert runner is not None
        self._busy.add("tests")

        def stage(update: StageUpdate) -> None:
            owner.post_message(TestStage(update))

        def work() -> None:
            outcomes = runner(kind, stage, stop)
            owner.post_message(TestDone(outcomes))
            self.post_message(ReportsStored())

        self.run_job(owner, "tests", work, f"Test bounce ({kind})")

    def fetch_message(self, owner: MessagePump, row: dict[str, Any]) -> None:
        """Read one report's raw message from the mailbox."""
        fetch = self.sources.fetch_message
        key = row.get("id")
        if fetch is None:
            owner.post_message(MessageFetched(key, None, self.sources.watcher_problem))
            return

        def work() -> None:
            owner.post_message(MessageFetched(key, fetch(row)))

        self.run_job(owner, "fetch", work, "Reading the message")

    # --- actions -----------------------------------------------------------------

    def action_help(self) -> None:
        """Every key, grouped by where it works."""
        from dsnwatch.tui.screens.detail import DetailScreen as _Detail

        sections: list[tuple[str, list[BindingType]]] = [
            ("Everywhere", list(self.BINDINGS)),
            ("Log pane", [*LogPane.BINDINGS, *LogView.BINDINGS]),
            ("Reports", list(DsnPane.BINDINGS)),
            ("Report detail", list(_Detail.BINDINGS)),
        ]
        self.push_screen(HelpScreen(sections))

    def action_install(self) -> None:
        """Show what install would change; applying asks first."""
        self.push_screen(InstallScreen())

    def action_tests(self) -> None:
        """The test menu."""
        self.push_screen(TestScreen())

    def action_doctor(self) -> None:
        """Run the doctor and show its checks."""
        self.push_screen(DoctorScreen())

    def action_resync(self) -> None:
        """Read the central mailbox again (reconnects; the store keeps what it has)."""
        if self.sources.watcher is None:
            self.notify(
                f"No mailbox: {plain(self.sources.watcher_problem, 200)}",
                severity="warning",
                markup=False,
            )
            return
        if self._watcher is not None:
            self._watcher.stop()
        self.start_mailbox()
        self.notify("Reading the mailbox again...", markup=False)

    async def action_quit(self) -> None:
        """Leave; asks first while an install or a test is running."""
        if self._busy & {"install-apply", "tests"}:
            self.push_screen(
                ConfirmScreen("An install or a test is still running. Quit anyway?", yes="Quit"),
                self._quit_confirmed,
            )
            return
        self.shutdown_sources()
        self.exit(0)

    def _quit_confirmed(self, yes: bool | None) -> None:
        if yes:
            self.shutdown_sources()
            self.exit(0)

    def shutdown_sources(self) -> None:
        """Ask every long-running source to stop, so the process can end."""
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.stop()

    def on_unmount(self) -> None:
        self.shutdown_sources()
        if self.store is not None:
            self.store.close()
            self.store = None

    @on(DsnPane.Opened)
    def _open_report(self, message: DsnPane.Opened) -> None:
        self.push_screen(DetailScreen(message.row))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The command palette: every action of the console, then Textual's own."""
        yield SystemCommand(
            "Install the pipeline", "Show the diff, confirm, apply, check", self.action_install
        )
        yield SystemCommand(
            "Test bounces", "Local, remote, SES, complaint or all", self.action_tests
        )
        yield SystemCommand("Doctor", "Check every link of the pipeline", self.action_doctor)
        yield SystemCommand(
            "Resync the mailbox", "Read the central mailbox again", self.action_resync
        )
        yield SystemCommand("Help", "Every key binding", self.action_help)
        view = self.log_view
        yield SystemCommand(
            "Logs: pause or follow", "Stop the view, count new lines", view.action_toggle_follow
        )
        yield SystemCommand(
            "Logs: next service", "Both, Dovecot only, Postfix only", view.action_cycle_service
        )
        yield SystemCommand(
            "Logs: timestamps", "Show or hide the time column", view.action_toggle_time
        )
        yield SystemCommand(
            "Logs: wrap", "Wrap long lines or scroll sideways", view.action_toggle_wrap
        )
        yield SystemCommand(
            "Logs: raw lines", "The lines as logged, or read", view.action_toggle_raw
        )
        yield SystemCommand("Reports: hard bounces only", "Toggle", self.dsn_pane.action_hard_only)
        yield SystemCommand(
            "Reports: change the order",
            "Newest, recipient, reason, domain, reporter",
            self.dsn_pane.action_sort,
        )
        yield from super().get_system_commands(screen)
