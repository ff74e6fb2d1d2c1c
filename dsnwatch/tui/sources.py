"""What the console is given to work with: every source and action as a small callable.

The app never builds a Docker client, an IMAP connection or an installer itself;
`launch.sources_from_config` wires the real ones, and the tests pass fakes fed
from recorded data. Each callable is blocking and runs in a thread worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from dsnwatch.install.doctor import Check
    from dsnwatch.logs.follow import LogQueue
    from dsnwatch.mailbox import ProgressCallback, ReportCallback, StateCallback
    from dsnwatch.store import Store


class Follower(Protocol):
    """A log follower: threads of its own that put items on a `LogQueue`."""

    def start(self) -> None: ...

    def stop(self, timeout: float = 5.0) -> None: ...


class Watcher(Protocol):
    """The mailbox watcher: `run` blocks until `stop` is called from another thread."""

    def run(self) -> None: ...

    def stop(self) -> None: ...


class InstallPlan(Protocol):
    """A prepared install: what it would change, and how to apply it."""

    @property
    def text(self) -> str:
        """The diff of every file and the actions after it."""

    @property
    def empty(self) -> bool:
        """True when the pipeline is already installed as configured."""

    def apply(self, log: Callable[[str], None]) -> None:
        """Apply the plan, reporting each step through `log`; raises on failure."""


StageState = Literal["running", "passed", "failed", "skipped"]


@dataclass(slots=True, frozen=True)
class StageUpdate:
    """One stage of one test bounce changed state."""

    test: str
    stage: str
    state: StageState
    detail: str = ""
    seconds: float | None = None


@dataclass(slots=True, frozen=True)
class TestOutcome:
    """The final verdict of one test bounce."""

    test: str
    passed: bool
    verdict: str


# (which test, stage callback, a stop event) -> one outcome per test that ran
TestRunner = Callable[[str, Callable[[StageUpdate], None], threading.Event], list[TestOutcome]]
TEST_KINDS: tuple[tuple[str, str], ...] = (
    ("local", "Local: to an .invalid address, our own Postfix writes the bounce"),
    ("remote", "Remote: to an unknown mailbox at the configured remote domain"),
    ("ses", "SES: through Amazon SES to the bounce simulator"),
    ("complaint", "Complaint: through Amazon SES to the complaint simulator"),
    ("all", "All of the above, one after the other"),
)

FollowerFactory = Callable[["LogQueue"], Follower]
WatcherFactory = Callable[["Store", "ReportCallback", "StateCallback", "ProgressCallback"], Watcher]


@dataclass(slots=True)
class Sources:
    """Everything the console reads from and acts on.

    A `None` source is shown as an explicit state saying why (for example the
    mailbox when IMAP is not configured), never as a blank pane.
    """

    server: str
    open_store: Callable[[], Store]
    monitor: str = ""
    followers: FollowerFactory | None = None
    followers_problem: str = "no log source configured"
    watcher: WatcherFactory | None = None
    watcher_problem: str = "no mailbox configured"
    fetch_message: Callable[[dict[str, Any]], bytes] | None = None
    doctor: Callable[[], list[Check]] | None = None
    plan_install: Callable[[], InstallPlan] | None = None
    run_test: TestRunner | None = None
    test_problem: str = "the test-bounce launcher is not available in this build"
    clock: Callable[[], float] = field(default=time.time)
