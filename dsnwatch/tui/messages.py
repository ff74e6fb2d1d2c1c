"""Messages from thread workers to the UI: small, typed, one per state change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from dsnwatch.install.doctor import Check
    from dsnwatch.tui.sources import InstallPlan, StageUpdate, TestOutcome


@dataclass
class MailboxState(Message):
    """The mailbox watcher connected, went idle, lost the connection, ..."""

    state: str
    detail: str


@dataclass
class ReportsStored(Message):
    """New reports are in the store; the DSN pane reloads once for a burst."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ReportsStored)


@dataclass
class SyncProgress(Message):
    """How far the first sync of the mailbox has got."""

    done: int
    total: int

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SyncProgress)


@dataclass
class DoctorDone(Message):
    """The doctor's checks, in pipeline order."""

    checks: list[Check]


@dataclass
class InstallPlanned(Message):
    """The install plan is ready to be shown."""

    plan: InstallPlan


@dataclass
class InstallStep(Message):
    """One line of progress while the plan is applied."""

    line: str


@dataclass
class InstallDone(Message):
    """Applying finished: `error` is empty on success."""

    error: str


@dataclass
class TestStage(Message):
    """A stage of a test bounce changed."""

    update: StageUpdate


@dataclass
class TestDone(Message):
    """A test run finished (or failed to start: `error`)."""

    outcomes: list[TestOutcome]
    error: str = ""


@dataclass
class MessageFetched(Message):
    """The raw bytes of a report's message, or why they could not be read."""

    key: Any
    raw: bytes | None
    error: str = ""
