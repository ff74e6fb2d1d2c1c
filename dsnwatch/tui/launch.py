"""`dsnwatch` with no arguments: the real sources wired from the configuration, then the app."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dsnwatch.config import Config, ConfigError
from dsnwatch.tui.sources import StageState, StageUpdate, TestOutcome

if TYPE_CHECKING:
    from dsnwatch.install import Prepared
    from dsnwatch.install.doctor import Check
    from dsnwatch.logs.follow import LogQueue
    from dsnwatch.mailbox import ProgressCallback, ReportCallback, StateCallback
    from dsnwatch.store import Store
    from dsnwatch.tester.model import TestResult
    from dsnwatch.tui.sources import Follower, Sources, TestRunner, Watcher


@dataclass(slots=True)
class PreparedPlan:
    """The installer's prepared plan, as the console's install screen uses it."""

    prepared: Prepared

    @property
    def text(self) -> str:
        return self.prepared.plan.describe()

    @property
    def empty(self) -> bool:
        return self.prepared.plan.empty

    def apply(self, log: Callable[[str], None]) -> None:
        from dsnwatch.install import carry_out

        carry_out(self.prepared, log=log)


def server_label(cfg: Config) -> str:
    """How the header names the server: the mailcow project (and engine), or the host."""
    if cfg.runtime == "host":
        import socket

        return f"{socket.gethostname()} (host)"
    where = cfg.docker_host.replace("unix://", "") if cfg.docker_host else ""
    return f"{cfg.compose_project}{' @ ' + where if where else ''}"


def test_runner(cfg: Config) -> TestRunner:
    """The test-bounce launcher (`dsnwatch test`), adapted to the console's stage updates."""

    def run(
        kind: str, stage: Callable[[StageUpdate], None], stop: threading.Event
    ) -> list[TestOutcome]:
        from dsnwatch.tester.run import run_tests

        shown: dict[tuple[str, str], str] = {}

        def progress(result: TestResult) -> None:
            for item in result.stages:
                # A stage still pending is being waited for; one never reached is skipped.
                state: StageState = {"pending": "running", "unreached": "skipped"}.get(
                    item.state, item.state
                )  # type: ignore[assignment]
                key = (result.spec.token, item.id)
                if shown.get(key) != state:
                    shown[key] = state
                    stage(StageUpdate(result.spec.kind, item.name, state, item.detail, item.at))

        results = run_tests(cfg, [kind], on_update=progress, stop=stop)
        return [TestOutcome(r.spec.kind, r.passed, r.verdict) for r in results]

    return run


LOG_HISTORY_SECONDS = 3600


def sources_from_config(cfg: Config) -> Sources:
    """The real sources: Docker (or host) logs, IMAP, the store, doctor, install."""
    from dsnwatch.store import Store
    from dsnwatch.tui.sources import Sources

    def open_store() -> Store:
        return Store(cfg.store)

    followers = None
    followers_problem = ""
    if cfg.runtime == "docker":

        def followers(queue: LogQueue) -> Follower:
            from dsnwatch.logs.follow import DockerLogFollower
            from dsnwatch.runtime.docker import DockerRuntime

            runtime = DockerRuntime(cfg.compose_project, base_url=cfg.docker_host)
            # The last hour, not the whole history: a busy server's log since the
            # container started can be millions of lines to read before the console is live.
            return DockerLogFollower(runtime, queue, since=time.time() - LOG_HISTORY_SECONDS)
    else:

        def followers(queue: LogQueue) -> Follower:
            from dsnwatch.logs.follow import host_followers

            return host_followers(cfg.host.log_files, queue)

    watcher = None
    fetch = None
    watcher_problem = ""
    try:
        settings = cfg.imap_settings()
    except ConfigError as exc:
        watcher_problem = str(exc)
    else:

        def watcher(
            store: Store,
            on_report: ReportCallback,
            on_state: StateCallback,
            on_progress: ProgressCallback,
        ) -> Watcher:
            from dsnwatch.mailbox import MailboxWatcher

            return MailboxWatcher(
                settings, store, on_report=on_report, on_state=on_state, on_progress=on_progress
            )

        def fetch(row: dict[str, Any]) -> bytes:
            from dsnwatch.mailbox import fetch_message

            return fetch_message(settings, row["mailbox"], int(row["uidvalidity"]), int(row["uid"]))

    def doctor() -> list[Check]:
        from dsnwatch.install.doctor import run_doctor
        from dsnwatch.install.plan import layout_for
        from dsnwatch.runtime import make_runtime

        return run_doctor(make_runtime(cfg), layout_for(cfg), cfg)

    def plan_install() -> PreparedPlan:
        from dsnwatch.install import prepare_install
        from dsnwatch.runtime import make_runtime

        # SES changes an AWS account: the console leaves that to `dsnwatch install --ses-identity`.
        cfg.ses_identities = ()
        return PreparedPlan(prepare_install(cfg, make_runtime(cfg)))

    return Sources(
        server=server_label(cfg),
        open_store=open_store,
        monitor=cfg.mailbox,
        followers=followers,
        followers_problem=followers_problem,
        watcher=watcher,
        watcher_problem=watcher_problem,
        fetch_message=fetch,
        doctor=doctor,
        plan_install=plan_install,
        run_test=test_runner(cfg),
    )


def run_console(cfg: Config) -> int:
    """Open the console on the configured server; the exit code when it closes."""
    from dsnwatch.tui.app import DsnwatchApp

    app = DsnwatchApp(sources_from_config(cfg))
    result = app.run()
    return int(result or 0)
