"""Local delivery agents: the program that files mail into a mailbox, in its own words.

When the last hop hands a message to a delivery program (Dovecot's LDA, procmail,
maildrop, vpopmail, mail.local...), a failure there is reported in that program's
own fixed wording, often beside a generic status such as 5.1.1 or 5.5.0 that the
MTA chose. The program's words are the better evidence: "not enough disk space"
from Dovecot is a full mailbox whatever the status says. A program recognised but
saying nothing known failed as a program: a mailer error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Agent:
    """One delivery program: the marks it writes and what its messages mean."""

    name: str
    marks: tuple[str, ...]  # lower-case substrings only its notices contain
    meanings: tuple[tuple[str, re.Pattern[str]], ...]  # (reason, pattern), first match wins

    def writes(self, lowered: str) -> bool:
        """True when one of its marks is in `lowered`."""
        return any(mark in lowered for mark in self.marks)


def _means(reason: str, *phrases: str) -> tuple[str, re.Pattern[str]]:
    return reason, re.compile("|".join(phrases))


AGENTS: Final[tuple[Agent, ...]] = (
    # Dovecot's LDA/LMTP refuses with "Your message to <user> was automatically
    # rejected:" and the cause on the next line.
    Agent(
        "dovecot",
        ("was automatically rejected:",),
        (
            _means("mailboxfull", r"not enough disk space", r"quota exceeded"),
            _means("userunknown", r"mailbox doesn't exist"),
        ),
    ),
    Agent(
        "procmail",
        ("procmail: ", "/procmail "),
        (
            _means("mailboxfull", r"quota exceeded while writing", r"user over quota"),
            _means("systemfull", r"no space left to finish writing"),
            # procmail run as a program the MTA could not start.
            _means("systemerror", r"service unavailable"),
        ),
    ),
    Agent(
        "maildrop",
        ("maildrop: ",),
        (
            _means("mailboxfull", r"maildir over quota"),
            _means("userunknown", r"cannot find system user", r"invalid user specified"),
        ),
    ),
    Agent(
        "mail.local",
        ("mail.local: ",),
        (
            _means("mailboxfull", r"disc quota exceeded", r"mailbox full or quota exceeded"),
            _means("systemerror", r"temporary file write error"),
            _means(
                "userunknown",
                r": (?:unknown user|user unknown|invalid mailbox path|user missing home directory)",
            ),
        ),
    ),
    Agent(
        "vpopmail",
        ("vdelivermail: ",),
        (
            # The address is unknown but a catch-all took the message.
            _means("filtered", r"user does not exist, but will deliver to"),
            _means("mailboxfull", r"(?:domain|user) is over quota"),
            _means("suspend", r"account is locked"),
            _means("userunknown", r"no mailbox here by that name"),
        ),
    ),
    Agent(
        "vmailmgr",
        ("vdeliver: ",),
        (
            _means("mailboxfull", r"system quota violation"),
            _means(
                "userunknown",
                r"invalid or unknown (?:base user|virtual user)",
                r"does not refer to a virtual user",
            ),
        ),
    ),
)


def reason_for(text: str, command: str | None) -> str | None:
    """The reason a delivery program's own message in `text` gives, or None.

    Only a failure at delivery counts: a refusal of RCPT or MAIL in the SMTP
    session was not a delivery program speaking.
    """
    if not text or command not in (None, "DATA"):
        return None
    lowered = text.lower()
    for agent in AGENTS:
        if not agent.writes(lowered):
            continue
        folded = " ".join(lowered.split())
        for reason, pattern in agent.meanings:
            if pattern.search(folded):
                return reason
        return "mailererror"
    return None
