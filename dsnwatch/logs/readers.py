"""Log readers: one Dovecot or Postfix log line in, a typed event out.

Lines come in three shapes, all handled here:

* mailcow's container output (syslog-ng): `Mon DD HH:MM:SS <host> dovecot: lmtp(u)<pid><s>: ...`
  or `... <host> postfix/smtp[123]: QID: to=<...>, ...`;
* Dovecot's own log file format: `Mon DD HH:MM:SS lmtp(u)<pid><s>: Info: ...`;
* either of them behind a Docker timestamp (`2026-12-03T10:00:00.123456789Z `).

Reading is a hot path (a busy server writes thousands of lines a second), so the
prefix is taken apart with string operations and a regex runs only on lines whose
cheap substring checks say it can match.
"""

from __future__ import annotations

import re

from dsnwatch.logs.events import LogEvent

_MONTHS = frozenset(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
)
_LEVELS = {
    "Info:": None,
    "Warning:": "warning",
    "Error:": "error",
    "Fatal:": "fatal",
    "Panic:": "fatal",
}
_LEVEL_INITIALS = "".join(sorted({word[0] for word in _LEVELS}))  # "" is in it too

# lmtp(user)<pid><session>: or lda(user)<pid><session>: and the like
_DOVECOT_PREFIX = re.compile(r"(\w[\w-]*)\(([^)]*)\)(?:<(\d+)>)?(?:<([^>]*)>)?: ")
_MSGID = re.compile(r"msgid=(<[^>]*>|unspecified|\S+?)(?: [^:]*)?: ")
_ANGLE = re.compile(r"<([^>]*)>")
# Postfix queue ids: short ones are upper-case hex, long ones (enable_long_queue_ids)
# use an alphabet without vowels.
_SHORT_ID_CHARS = "0123456789ABCDEF"
_LONG_ID_CHARS = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz"
_POSTFIX_FIELDS = re.compile(r"(to|orig_to|relay|dsn|status|from)=(<[^>]*>|[^,\s]+)")


def read_line(line: str) -> LogEvent:
    """Read one line; never raises. Unknown lines come back as kind `plain`."""
    line = line.rstrip("\r\n")
    rest = line
    stamp = None
    # Docker's own timestamp, when the logs were asked for with timestamps.
    if rest[10:11] == "T" and rest[4:5] == "-" and len(rest) > 20:
        stamp, _, rest = rest.partition(" ")
    syslog_time = None
    if rest[15:16] == " " and len(rest) > 16 and rest[:3] in _MONTHS:
        syslog_time = rest[:15]
        rest = rest[16:]
    event = LogEvent("plain", "", line, stamp, syslog_time)
    if not rest:
        return event
    head, sep, message = rest.partition(": ")
    if not sep:
        return event
    if "(" in head and " " not in head:
        # Dovecot's own format: no host, no program, the prefix is the whole head.
        event.service = "dovecot"
        event.program = "dovecot"
        _read_dovecot(event, rest)
        return event
    host, space, program = head.rpartition(" ")
    if not space:
        program, host = head, ""
    event.host = host or None
    if program.startswith("dovecot"):
        event.service = "dovecot"
        event.program = "dovecot"
        _read_dovecot(event, message)
    elif program.startswith("postfix"):
        event.service = "postfix"
        event.program = program.partition("[")[0]
        _read_postfix(event, message)
    else:
        event.program = program.partition("[")[0] or None
    return event


def _level(event: LogEvent, text: str) -> str:
    word, space, after = text.partition(" ")
    if space and word in _LEVELS:
        event.level = _LEVELS[word]
        return after
    return text


def _read_dovecot(event: LogEvent, text: str) -> None:
    m = _DOVECOT_PREFIX.match(text)
    if m:
        user, event.session = m.group(2, 4)
        event.user = user or None
        text = text[m.end() :]
    if text[:1] in _LEVEL_INITIALS:
        text = _level(event, text)
    sieve = text.startswith("sieve: ")
    if sieve:
        text = text[7:]
    mm = _MSGID.match(text) if text.startswith("msgid=") else None
    if mm:
        msgid = mm.group(1)
        event.msgid = None if msgid == "unspecified" else msgid
        text = text[mm.end() :]
    event.detail = text
    if sieve:
        _sieve_action(event, text)
    elif text.startswith("saved mail to "):
        event.kind = "dovecot-saved"
        event.mailbox = text[14:]


def _target(text: str) -> str | None:
    m = _ANGLE.search(text)
    return m.group(1) if m else None


def _mailbox(text: str) -> str | None:
    at = text.find("into mailbox ")
    if at < 0:
        return None
    name = text[at + 13 :]
    if name.startswith("'"):
        end = name.find("'", 1)
        return name[1:end] if end > 0 else name[1:]
    return name.split(":", 1)[0]


def _sieve_action(event: LogEvent, text: str) -> None:
    lowered = text.lower()
    if lowered.startswith("redirect action: ") or "forward" in lowered:
        event.recipient = _target(text)
        if "discarded duplicate forward" in lowered:
            event.kind = "sieve-redirect-duplicate"
        elif "not forwarding message" in lowered:
            event.kind = "sieve-redirect-loop"
        elif "failed to redirect" in lowered:
            event.kind = "sieve-redirect-failed"
        elif "forwarded to" in lowered:
            event.kind = "sieve-redirect"
        return
    if "discard action" in lowered or "marked message to be discarded" in lowered:
        event.kind = "sieve-discard"
        return
    if "failed to store into mailbox" in lowered:
        event.kind = "sieve-store-failed"
        event.mailbox = _mailbox(text.replace("store into", "into"))
        return
    if "stored mail into mailbox" in lowered:
        event.kind = "sieve-fileinto" if lowered.startswith("fileinto action") else "sieve-keep"
        event.mailbox = _mailbox(text)
        return
    if "sent vacation response" in lowered:
        event.kind = "sieve-vacation"
        event.recipient = _target(text)
        return
    if "binar" in lowered and ("save" in lowered or "sievec" in lowered):
        event.kind = "sieve-binary-error"
        return
    if (
        "failed to compile" in lowered
        or "parse failed" in lowered
        or "validation failed" in lowered
        or re.match(r"[^:]*: line \d+: ", text)
    ):
        event.kind = "sieve-compile-error"
        return
    if lowered.startswith("execution of script") and ("failed" in lowered or "aborted" in lowered):
        event.kind = "sieve-runtime-error"


def _queue_id(text: str) -> tuple[str, str] | None:
    """The queue id a line starts with (`QID: rest`) and the rest, or None."""
    qid, sep, rest = text.partition(": ")
    if not sep or len(qid) < 6:
        return None
    # str.strip(chars) leaves nothing exactly when every character is one of chars.
    if not qid.strip(_SHORT_ID_CHARS) or (len(qid) >= 10 and not qid.strip(_LONG_ID_CHARS)):
        return qid, rest
    return None


def _read_postfix(event: LogEvent, text: str) -> None:
    if text[:1] in _LEVEL_INITIALS:
        text = _level(event, text)
    if text[:1] in "wefp" and text.startswith(("warning: ", "error: ", "fatal: ", "panic: ")):
        word, _, text = text.partition(": ")
        event.level = word
    found = _queue_id(text)
    if found is None:
        event.detail = text
        return
    event.queue_id, body = found
    event.detail = body
    if body.startswith("to=<") or (body.startswith("to=") and "status=" in body):
        event.kind = "postfix-delivery"
        head, paren, reply = body.partition(" (")
        for key, value in _POSTFIX_FIELDS.findall(head):
            value = value[1:-1] if value.startswith("<") else value
            if key == "to":
                event.recipient = value
            elif key == "relay":
                event.relay = value
            elif key == "dsn":
                event.dsn = value
            elif key == "status":
                event.status = value
        event.detail = reply[:-1] if paren and reply.endswith(")") else (reply or None)
        return
    if "non-delivery notification: " in body or "delay notification: " in body:
        event.kind = "postfix-bounce-notice"
        notice, _, new_id = body.rpartition(": ")
        event.new_queue_id = new_id.strip() or None
        event.detail = notice  # "sender non-delivery notification" and the like
        return
    if body.startswith("from=<"):
        event.kind = "postfix-queued"
        event.sender = _target(body) or ""
        return
    if body.startswith("message-id="):
        event.kind = "postfix-message-id"
        event.msgid = body[11:].strip() or None
        return
    if body == "removed":
        event.kind = "postfix-removed"
