"""Plain data shared by every layer: a parsed report and its failed recipients."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Kind = Literal["delivery-status", "complaint", "auto-reply", "not-a-report", "error"]


@dataclass(slots=True)
class RecipientReport:
    """What one report says about one recipient."""

    recipient: str
    original_recipient: str | None = None
    action: str | None = None
    status: str | None = None
    reply_code: str | None = None
    diagnostic_code: str | None = None
    remote_mta: str | None = None
    reporting_mta: str | None = None
    last_attempt: str | None = None
    reason: str = "undefined"
    hard_bounce: bool = False
    feedback_type: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Report:
    """One message read by the DSN reader."""

    kind: Kind
    source: str = ""
    reporter: str | None = None
    reports: list[RecipientReport] = field(default_factory=list)
    original_message_id: str | None = None
    original_subject: str | None = None
    original_sender: str | None = None
    queue_id: str | None = None
    date: str | None = None
    message_id: str | None = None
    subject: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "source": self.source,
            "kind": self.kind,
            "reporter": self.reporter,
            "reports": [r.to_dict() for r in self.reports],
            "original_message_id": self.original_message_id,
            "original_subject": self.original_subject,
            "original_sender": self.original_sender,
            "queue_id": self.queue_id,
            "date": self.date,
            "message_id": self.message_id,
            "subject": self.subject,
        }
        if self.error is not None:
            out["error"] = self.error
        return out
