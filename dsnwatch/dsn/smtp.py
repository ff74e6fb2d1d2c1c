"""The SMTP command a remote server was answering when it refused the mail.

The same refusal text means different things at different stages of a session:
"user unknown" in reply to RCPT TO says the mailbox is gone, in reply to DATA it
is a content filter speaking; a refusal of MAIL FROM is about the sender.
MTAs state the stage in a few fixed ways, which are read here.
"""

from __future__ import annotations

import re
from typing import Final

from dsnwatch.dsn.gates import LiteralIndex, literal_gate

# Command names as this module reports them.
CONN: Final = "CONN"
HELO: Final = "HELO"
MAIL: Final = "MAIL"
RCPT: Final = "RCPT"
DATA: Final = "DATA"

# Phrases naming the command, each with the stage it means; searched on folded text.
_STAGES: Final[list[tuple[re.Pattern[str], str]]] = [
    # Postfix: "(in reply to RCPT TO command)", "(in reply to end of DATA command)".
    (re.compile(r"in reply to (?:the )?(?:end of )?data command"), DATA),
    (re.compile(r"in reply to (?:the )?rcpt to command"), RCPT),
    (re.compile(r"in reply to (?:the )?mail from command"), MAIL),
    (re.compile(r"in reply to (?:the )?(?:ehlo|helo|lhlo) command"), HELO),
    # Exim: "SMTP error from remote mail server after RCPT TO:<...>".
    (re.compile(r"after (?:end of data|data|sending data block)\b"), DATA),
    (re.compile(r"after rcpt(?: to\b| command)"), RCPT),
    (re.compile(r"after mail(?: from\b| command)"), MAIL),
    (re.compile(r"after (?:ehlo|helo|starttls)\b"), HELO),
    (re.compile(r"after initial connection"), CONN),
    # DragonFly: "did not like our RCPT TO:", "did not like our final DATA".
    (re.compile(r"did not like our (?:final )?data"), DATA),
    (re.compile(r"did not like our rcpt to"), RCPT),
    (re.compile(r"did not like our mail from"), MAIL),
    # Yahoo, X-mailers: "[RCPT_TO]", "[MAIL_FROM]"; X3: "SMTP:RCPT".
    (re.compile(r"\[rcpt_to\]|smtp:rcpt\b"), RCPT),
    (re.compile(r"\[mail_from\]|smtp:mail\b"), MAIL),
    (re.compile(r"\[data\]|smtp:data\b"), DATA),
    # qmail: "does not like recipient", "sender was rejected", "my name was rejected".
    (re.compile(r"does not like recipient|most progress was rcpt to"), RCPT),
    (re.compile(r"sender was rejected|most progress was mail from"), MAIL),
    (re.compile(r"my name was rejected"), HELO),
    (re.compile(r"refused to talk to me"), CONN),
    # "refused to accept your message (DATA)".
    (re.compile(r"\((?:end of )?data\)"), DATA),
]

# Each stage pattern with the literals one of which any match must contain.
_LITERALS: Final = LiteralIndex()
_GATED_STAGES: Final = [(p, stage, _LITERALS.gate(literal_gate(p.pattern))) for p, stage in _STAGES]

# A sendmail-style transcript: ">>> RCPT To:<...>" then "<<< 550 ...".
_SENT = re.compile(r"^\s*>>> ?([a-z]{4})\b", re.I)
_REPLY = re.compile(r"^\s*<<< ?([245])(\d\d)\b")
_NAMES: Final[dict[str, str]] = {
    "ehlo": HELO,
    "helo": HELO,
    "lhlo": HELO,
    "mail": MAIL,
    "rcpt": RCPT,
    "data": DATA,
}


def command_of(text: str) -> str | None:
    """The SMTP command the refusal in `text` answered, or None when it is not said."""
    if not text:
        return None
    found = _from_transcript(text)
    if found:
        return found
    folded = " ".join(text.split()).lower()
    best: tuple[int, str] | None = None
    present = _LITERALS.found(folded)
    for pattern, stage, gate in _GATED_STAGES:
        if gate is not None and gate.isdisjoint(present):
            continue
        m = pattern.search(folded)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), stage)
    return best[1] if best else None


# "... while talking to mx.example.org.:" opens the account of one connection.
_TALKING = re.compile(r"^\W*while talking to\b", re.I)


def _from_transcript(text: str) -> str | None:
    """The first command of a transcript that drew a real refusal (not 503 bad sequence).

    A refusal read before any command was sent on a connection answered the
    connection itself: the server's greeting.
    """
    if "<<<" not in text:
        return None
    last: str | None = None
    for line in text.split("\n"):
        if "alking to" in line and _TALKING.match(line):
            last = CONN
            continue
        sent = _SENT.match(line)
        if sent:
            last = _NAMES.get(sent.group(1).lower())
            continue
        reply = _REPLY.match(line)
        if reply and last and reply.group(1) in "45" and reply.group(1) + reply.group(2) != "503":
            return last
    return None
