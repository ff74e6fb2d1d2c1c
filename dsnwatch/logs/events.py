"""Typed log events: what one Dovecot or Postfix log line says happened."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Final

# Event kinds, grouped by who writes them. The console colours by these.
SIEVE_KINDS: Final = frozenset(
    {
        "sieve-redirect",
        "sieve-redirect-duplicate",
        "sieve-redirect-loop",
        "sieve-redirect-failed",
        "sieve-discard",
        "sieve-keep",
        "sieve-fileinto",
        "sieve-store-failed",
        "sieve-vacation",
        "sieve-compile-error",
        "sieve-runtime-error",
        "sieve-binary-error",
    }
)
POSTFIX_KINDS: Final = frozenset(
    {
        "postfix-delivery",
        "postfix-bounce-notice",
        "postfix-queued",
        "postfix-message-id",
        "postfix-removed",
    }
)
OTHER_KINDS: Final = frozenset({"dovecot-saved", "plain"})


@dataclass(slots=True)
class LogEvent:
    """One log line, read. Fields that the line does not carry stay None."""

    kind: str
    service: str  # "dovecot", "postfix" or "" when unknown
    raw: str
    time: str | None = None  # the Docker timestamp (RFC 3339, UTC) when there is one
    syslog_time: str | None = None  # the line's own "Mon DD HH:MM:SS"
    host: str | None = None
    program: str | None = None
    level: str | None = None  # "warning", "error", "fatal"; None for info
    user: str | None = None  # the mail user of a Dovecot session
    session: str | None = None
    msgid: str | None = None
    queue_id: str | None = None
    new_queue_id: str | None = None  # the notice Postfix wrote about queue_id
    recipient: str | None = None  # Postfix to=, or the Sieve redirect target
    sender: str | None = None  # Postfix from= ("" is the null sender)
    mailbox: str | None = None
    status: str | None = None  # Postfix status=: sent, bounced, deferred, expired
    dsn: str | None = None
    relay: str | None = None
    detail: str | None = None  # the remote reply, the error text, the notice class

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def is_alerting(self) -> bool:
        """True for the events an operator must see at once."""
        return self.kind in (
            "sieve-redirect-failed",
            "sieve-redirect-loop",
            "sieve-compile-error",
            "sieve-runtime-error",
            "sieve-binary-error",
            "sieve-store-failed",
        ) or (self.kind == "postfix-delivery" and self.status == "bounced")
