"""Plain data of a test run: what was sent, and each stage's state and time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

KINDS: Final = ("local", "remote", "ses", "complaint")

# "unreached": an earlier stage failed, so this one could not happen.
StageState = Literal["pending", "passed", "failed", "skipped", "unreached"]
Route = Literal["postfix", "ses-smtp", "ses-api"]

# The stages every test goes through, in order, with the names people see.
STAGES: Final = (
    ("submit", "submitted"),
    ("accepted", "accepted by Postfix"),
    ("outcome", "delivery attempt"),
    ("report", "report written"),
    ("postfix-copy", "Postfix copy"),
    ("delivered", "report delivered to sender"),
    ("redirect", "Sieve copy"),
    ("no-discard", "not discarded"),
    ("mailbox", "in the central mailbox"),
)


@dataclass(slots=True)
class Stage:
    """One stage of one test: its state, when it passed (seconds after the start), why."""

    id: str
    name: str
    state: StageState = "pending"
    at: float | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "at": None if self.at is None else round(self.at, 3),
            "detail": self.detail,
        }


@dataclass(slots=True)
class TestSpec:
    """One test as sent: who to, with which token, through which route."""

    __test__ = False  # not a pytest class, whatever its name

    kind: str
    token: str
    sender: str
    recipient: str
    message_id: str
    monitor: str
    postfix_mode: str = "notify"
    route: Route = "postfix"
    started: float = 0.0  # epoch seconds, just before sending
    deadline: float = 0.0  # epoch seconds: every stage is decided by then
    submitted: float | None = None  # epoch seconds of the accepted DATA
    queue_id: str | None = None  # from the submission server's reply
    submit_reply: str = ""
    submit_error: str | None = None


@dataclass(slots=True)
class TestResult:
    """A test's outcome: every stage, and the first that failed with its likely cause."""

    __test__ = False

    spec: TestSpec
    stages: list[Stage] = field(default_factory=list)
    finished: float | None = None

    @property
    def done(self) -> bool:
        return all(s.state != "pending" for s in self.stages)

    @property
    def passed(self) -> bool:
        return self.done and all(s.state in ("passed", "skipped") for s in self.stages)

    @property
    def failed_stage(self) -> Stage | None:
        return next((s for s in self.stages if s.state == "failed"), None)

    @property
    def verdict(self) -> str:
        """One line: PASS, or the first failed stage and its most likely cause."""
        failed = self.failed_stage
        if failed is not None:
            return f"FAIL at {failed.name}: {failed.detail}"
        if not self.done:
            return "running"
        return "PASS: every stage passed"

    @property
    def duration(self) -> float | None:
        if self.finished is None:
            return None
        return self.finished - self.spec.started

    def to_dict(self) -> dict[str, Any]:
        failed = self.failed_stage
        duration = self.duration
        return {
            "test": self.spec.kind,
            "token": self.spec.token,
            "message_id": self.spec.message_id,
            "sender": self.spec.sender,
            "recipient": self.spec.recipient,
            "route": self.spec.route,
            "queue_id": self.spec.queue_id,
            "passed": self.passed,
            "verdict": self.verdict,
            "failed_stage": failed.id if failed else None,
            "cause": failed.detail if failed else None,
            "started_at": self.spec.started,
            "duration": None if duration is None else round(duration, 3),
            "stages": [s.to_dict() for s in self.stages],
        }
