"""The DSN reader: the bytes of one message in, a classified report out.

Structured reports (RFC 3464, RFC 6533, RFC 5965) are read field by field; the
free-text bounces of MTAs that write none are read by finding the failed
addresses and the text that explains each one. Every reason then comes from the
same classifier in `reasons`.
"""

from __future__ import annotations

import re
from email.message import Message
from functools import lru_cache
from typing import Final

from dsnwatch.dsn import addrlist, lda, listnotice, providers, reasons, reporters, sesjson, smtp
from dsnwatch.dsn.fields import parse_fields, strip_type
from dsnwatch.dsn.mime import (
    Parts,
    decode_words,
    headers_of,
    parse_bytes,
    split_inline_original,
    split_parts,
)
from dsnwatch.model import RecipientReport, Report

ADDRESS = re.compile(
    r"(?<![\w.+%=-])([\w.!#$%&'*+/=?^`{|}~-]{1,200}@(?:[\w-]{1,63}\.)+[\w-]{2,63})(?![\w@-])"
)
# Not inside a version number ("mxl_mta-5.5.0-3", "8.14.4/8.14.4").
# The look-behind sits after the first digit so that a search can skip to the digits.
STATUS = re.compile(r"([245](?<![\w.].)\.\d{1,3}\.\d{1,3})(?!\.?\d|-\d|/\d)")
# At the start of a line or after white space, a colon, a bracket or a quote. The
# digits come first so that a search skips to them; the look-behind then checks
# the character before them (none at the start of the text).
REPLY_CODE = re.compile(r"([245][0-5]\d)(?<![^\s:(\[\"']...)(?=[ -]|$|\])", re.M)
_SYSTEM_LOCALS = re.compile(
    r"^(?:mailer-daemon|post_?master|mail-daemon|maildaemon|mailerdaemon|root|"
    r"noreply|no-reply|bounces?|double-bounce|daemon|mailer|nobody)$",
    re.I,
)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|delivery (?:status notification|failure|has failed|report|problem)|"
    r"returned mail|mail delivery|failure notice|failed delivery|could not be delivered|"
    r"delivery notification|non[- ]?delivery|rejected|nondeliverable|warning: could not send|"
    r"mail system error|unable to deliver|returned to sender|message not delivered|"
    r"delivery failed|bounce|delayed mail|delivery delayed|error sending message|"
    r"unzustellbar|non remis|不達|エラー|配信できません|mail could not|message you sent|"
    r"notification d'état|delivery error",
    re.I,
)
# Searched on lower-cased text (a case-blind search of a long text costs far more).
_BOUNCE_BODY = re.compile(
    r"could not be delivered|couldn't be delivered|was not delivered|undeliverable|"
    r"delivery (?:to the following|has failed|failed)|permanent(?:ly)? (?:error|fatal|failure)|"
    r"following addresses? had (?:permanent|transient)|unable to deliver|"
    r"i'm afraid i wasn't able to deliver|the mail system|"
    r"message delivery (?:has )?failed|failed permanently|returned to you|"
    r"could not deliver|wasn't delivered|cannot be delivered|delivery status notification|"
    r"rejected your message|error occurred while|following recipient|"
    r"transcript of (?:the )?session follows|not a member of this (?:mailing )?list|"
    r"could not be sent|not able to be delivered|unable to deliver|"
    # Apache James quotes the refusal under a fixed heading.
    r"error message below:",
)
_AUTOREPLY_SUBJECT = re.compile(
    r"^(?:auto(?:matic)?[ -]?(?:reply|response|antwort)|out of (?:the )?office|"
    r"autoreply|auto:|abwesenheit|vacation|away|absence|i am away|on leave|re[:] .*out of office)"
    r"|out of (?:the )?office|automatic reply|auto[- ]?reply",
    re.I,
)


def clear_caches() -> None:
    """Forget what the per-text caches hold (benchmarks call this between rounds)."""
    _text_facts.cache_clear()
    reasons.clear_cache()


def read_report(data: bytes, source: str = "") -> Report:
    """Read one message; never raises for any input."""
    try:
        return _read(data, source)
    except RecursionError:
        return Report(kind="error", source=source, error="message nests too deeply to read")
    except Exception as exc:  # a reader of hostile input must not stop
        first = str(exc).splitlines()[0] if str(exc) else ""
        return Report(
            kind="error",
            source=source,
            error=f"unreadable message: {type(exc).__name__}: {first}"[:300],
        )


def _read(data: bytes, source: str) -> Report:
    message = parse_bytes(data)
    parts = split_parts(message)
    report = Report(kind="not-a-report", source=source)
    report.subject = decode_words(message.get("Subject"))
    report.date = decode_words(message.get("Date")) or None
    report.message_id = (message.get("Message-ID") or "").strip() or None

    own_text = "\n".join(parts.texts)
    bounce_text, inline_original = split_inline_original(own_text)
    original = parts.original
    if original is None and inline_original:
        original = headers_of(inline_original)
    _describe_original(report, original)

    report.reporter = reporters.identify(message, own_text, parts)

    if sesjson.looks_like(report.subject or "", str(message.get("From") or ""), own_text):
        _read_ses_notification(report, own_text)
        if report.reports:
            return report

    if parts.feedback_texts or parts.report_type == "feedback-report" or _looks_arf(own_text):
        report.kind = "complaint"
        _read_complaint(report, parts, own_text, original)
        if report.reports:
            return report
    if parts.status_texts:
        report.kind = "delivery-status"
        _read_status(report, parts, bounce_text, message)
        if report.reports:
            return report
    if _is_unsubscribe_request(message, report.subject or ""):
        report.kind = "complaint"
        _read_unsubscribe_request(report, message)
        if report.reports:
            return report
    if listnotice.looks_like(message):
        _read_list_notice(report, own_text)
        if report.reports:
            return report
    if _is_auto_reply(message, report.subject or "") and not _is_bounce(message, own_text):
        report.kind = "auto-reply"
        _read_auto_reply(report, message)
        return report
    if parts.status_texts or _is_bounce(message, own_text):
        report.kind = "delivery-status"
        _read_free_text(report, message, bounce_text or own_text, original)
        if not report.reports:
            _recipients_from_inline_fields(report, own_text, message)
        if not report.reports and _is_auto_reply(message, report.subject or ""):
            # An automatic answer whose wording reads like a bounce, naming no one.
            report.kind = "auto-reply"
            _read_auto_reply(report, message)
        return report
    if _is_auto_reply(message, report.subject or ""):
        report.kind = "auto-reply"
        _read_auto_reply(report, message)
    return report


# --- Amazon SES notifications in JSON --------------------------------------


def _read_ses_notification(report: Report, text: str) -> None:
    entries, suppressed = sesjson.read(text)
    for entry in entries:
        if entry.reason == "feedback":
            report.kind = "complaint"
        elif entry.reason == "delivered":
            report.kind = "delivery-status"
            entry.status = _status_of(entry.diagnostic_code)
            entry.reply_code = _first_code(entry.diagnostic_code or "")
        else:
            report.kind = "delivery-status"
            _finish(entry, "", report.reporter)
            if suppressed:
                entry.reason = "suppressed"
                entry.hard_bounce = False
        report.reports.append(entry)


def _first_code(text: str) -> str | None:
    m = REPLY_CODE.search(text)
    return m.group(1) if m else None


# --- mailing-list managers ----------------------------------------------------


def _read_list_notice(report: Report, text: str) -> None:
    found = listnotice.refusal(text)
    if found is None:
        return
    recipient, sentence = found
    report.kind = "delivery-status"
    entry = RecipientReport(recipient=recipient, action="failed", diagnostic_code=sentence)
    _finish(entry, "", report.reporter)
    report.reports.append(entry)


# --- the original message -------------------------------------------------


def _describe_original(report: Report, original: Message | None) -> None:
    if original is None:
        return
    report.original_message_id = (original.get("Message-ID") or "").strip() or None
    report.original_subject = decode_words(original.get("Subject")) or None
    sender = original.get("From") or original.get("Return-Path") or ""
    report.original_sender = addrlist.first_address(decode_words(sender)) or None


# --- RFC 3464 / RFC 6533 -----------------------------------------------------


def _read_status(report: Report, parts: Parts, bounce_text: str, message: Message) -> None:
    notes: dict[str, str] = {}
    for text in parts.status_texts:
        head, blocks = parse_fields(text)
        reporting = strip_type(head.get("reporting-mta")) or None
        report.queue_id = report.queue_id or head.get("x-postfix-queue-id") or None
        for block in blocks:
            recipient = _address(strip_type(block.get("final-recipient")))
            original = _address(strip_type(block.get("original-recipient"))) or None
            if original and not _routable(recipient):
                # A final address on a host without a domain is a local rewrite.
                recipient = original
            if not recipient:
                recipient = original or _address(strip_type(block.get("x-actual-recipient")))
            if recipient and "@" not in recipient[1:]:
                # Only a host was left ("@relay.example"): the text part names the address.
                named = _pick_recipients(bounce_text, _own_addresses(message), message, None)
                recipient = named[0] if len(named) == 1 else ""
            if not recipient:
                continue
            status = _status_of(block.get("status"))
            diagnostic = strip_type(block.get("diagnostic-code")) or ""
            action = (block.get("action") or "").strip().lower() or None
            if action:
                action = action.split()[0].rstrip(";,")
            entry = RecipientReport(
                recipient=recipient,
                original_recipient=original,
                action=action,
                status=status,
                diagnostic_code=diagnostic or None,
                remote_mta=strip_type(block.get("remote-mta")) or None,
                reporting_mta=reporting,
                last_attempt=block.get("last-attempt-date") or None,
            )
            report.reports.append(entry)
            notes.setdefault(recipient.lower(), _status_note(block.get("status")))
    _dedupe(report)
    if not report.reports:
        return
    # A diagnostic in the text part is often more telling than the status part's.
    texts = _blocks_by_recipient(bounce_text, [r.recipient for r in report.reports], message)
    for entry in report.reports:
        key = entry.recipient.lower()
        _finish(
            entry,
            texts.get(key, ""),
            report.reporter,
            whole_text=bounce_text,
            status_note=notes.get(key, ""),
        )


def _status_note(value: str | None) -> str:
    """The words written beside a Status field's code: "5.2.1 (mailbox disabled)"."""
    if not value or "(" not in value:
        return ""
    return value.partition("(")[2].rpartition(")")[0].strip()


def _status_of(value: str | None) -> str | None:
    """The first failure status (4.x.x, 5.x.x) in `value`, else the first status.

    A session transcript answers each step that worked with a 2.x.x code before
    the refusal; those say nothing about the failure.
    """
    if not value:
        return None
    found = STATUS.search(value)
    if found is None or found.group(1)[0] != "2":
        return found.group(1) if found else None
    first: str | None = None
    for m in STATUS.finditer(value, found.start()):
        code = m.group(1)
        if code[0] != "2":
            return code
        first = first or code
    return first


def _address(value: str) -> str:
    value = value.strip().strip("<>\"' ")
    if value.startswith("@") and ":" in value:
        # An RFC 821 source route: "@relay.example:user@example.org".
        value = value.rsplit(":", 1)[1]
    if not value:
        return ""
    m = ADDRESS.search(value)
    if m:
        return m.group(1)
    return value if "@" in value and " " not in value else ""


def _routable(address: str) -> bool:
    return "." in address.rpartition("@")[2]


def _dedupe(report: Report) -> None:
    seen: dict[str, RecipientReport] = {}
    kept: list[RecipientReport] = []
    for entry in report.reports:
        key = entry.recipient.lower()
        if key in seen:
            first = seen[key]
            first.diagnostic_code = first.diagnostic_code or entry.diagnostic_code
            first.status = first.status or entry.status
            continue
        seen[key] = entry
        kept.append(entry)
    report.reports = kept


# --- completing one recipient -----------------------------------------------


def _finish(
    entry: RecipientReport,
    extra_text: str,
    reporter: str | None,
    *,
    whole_text: str = "",
    status_note: str = "",
) -> None:
    """Fill in reply code, status, reason and hard bounce from what is known.

    `extra_text` is what the report's text says of this recipient; `whole_text`
    the report's whole text part, read only for a delivery program's notice;
    `status_note` the words the reporting MTA wrote beside its status code.
    """
    diagnostic = entry.diagnostic_code or ""
    shared_reply, shared_status, shared_command = _text_facts(extra_text)
    if not entry.reply_code:
        entry.reply_code = _reply_code(diagnostic) or shared_reply
    replied = _replied_status(diagnostic)
    text_status = replied or _status_of(diagnostic) or shared_status
    if not entry.status or (entry.status.endswith(".0.0") and text_status):
        entry.status = text_status or entry.status
    elif replied and replied != entry.status and replied[0] == entry.status[0]:
        # The remote server's own reply names the cause; the field is the
        # reporting MTA's summary of it, sometimes a poor one.
        entry.status = replied
    elif (
        entry.action == "failed"
        and entry.status[0] == "4"
        and text_status
        and text_status[0] == "5"
        and text_status[1:] == entry.status[1:]
    ):
        # The remote server refused for good; the field kept the sender's view.
        entry.status = text_status
    if entry.status and entry.status.endswith(".4.7"):
        _underlying_failure(entry, diagnostic, extra_text)
    status_given = bool(entry.status)
    given_action = entry.action
    if not entry.status and entry.reply_code:
        entry.status = _status_from_reply(entry.reply_code)
    if not entry.action and entry.status:
        entry.action = "failed" if entry.status.startswith("5") else "delayed"
    if entry.action in ("delivered", "relayed", "expanded") or (entry.status or "").startswith("2"):
        entry.reason = "delivered"
        entry.hard_bounce = False
        return
    if status_note and reasons.by_text(status_note):
        # "Status: 5.2.1 (mailbox disabled, not accepting messages)": the
        # reporting MTA's own account of the failure comes before the reply.
        text = f"{status_note}\n{diagnostic}"
    elif reasons.by_text(diagnostic):
        text = diagnostic
    else:
        text = f"{diagnostic}\n{extra_text[: reasons.TEXT_LIMIT]}"
    command = smtp.command_of(diagnostic) or shared_command
    reason = reasons.classify(
        text,
        entry.status,
        command=command,
        status_given=status_given,
        action=given_action,
        reply_code=entry.reply_code,
    )
    # A provider's own code says more than generic wording or the status code.
    own_text = f"{diagnostic}\n{extra_text[: reasons.TEXT_LIMIT]}"
    # With the report's whole text: a notice may state the cause away from the address.
    context = f"{own_text}\n{whole_text[: reasons.TEXT_LIMIT]}" if whole_text else own_text
    # Without a diagnostic of its own, a provider's notice is read whole.
    provider_text = own_text if diagnostic else context
    reason = (
        providers.reason_for(
            entry.remote_mta,
            provider_text,
            command,
            reporting_mta=entry.reporting_mta,
            reply_code=entry.reply_code,
        )
        or reason
    )
    # A delivery program's own words say more than the status the MTA chose.
    local = lda.reason_for(context, command)
    reason = local or reason
    entry.reason = reason
    entry.hard_bounce = reasons.is_hard_bounce(reason, entry.status, entry.reply_code)


# A remote server's refusal quoted in a diagnostic: "552 5.2.2", "550-'5.7.1"; 2xx replies
# in a transcript are steps that worked.
_REPLIED = re.compile(r"[45](?<![\w.].)\d\d[ -]['\"]?([45]\.\d{1,3}\.\d{1,3})(?!\.?\d)")


def _replied_status(diagnostic: str) -> str | None:
    """The status of the first remote reply quoted in `diagnostic`, or None."""
    m = _REPLIED.search(diagnostic) if diagnostic else None
    return m.group(1) if m else None


# A status code with the reply code said just before it ("421 4.4.2").
_CODED = re.compile(
    r"(?:(?<![\w.])([45][0-5]\d)[\s-]+)?(?<![\w.])([45]\.\d{1,3}\.\d{1,3})(?!\.?\d)"
)


def _underlying_failure(entry: RecipientReport, diagnostic: str, extra_text: str) -> None:
    """Replace x.4.7 ("delivery time expired") by the code of the failure behind it.

    x.4.7 only says that the queue gave up; reports often quote the last refusal
    that kept the message queued ("554 4.4.7 Message expired <421 4.4.2 Connection
    timed out>"), and its code tells what actually went wrong.
    """
    for text in (diagnostic, extra_text[: reasons.TEXT_LIMIT]):
        for m in _CODED.finditer(text):
            if not m.group(2).endswith(".4.7"):
                entry.status = m.group(2)
                if m.group(1):
                    entry.reply_code = m.group(1)
                return


@lru_cache(maxsize=16)
def _text_facts(text: str) -> tuple[str | None, str | None, str | None]:
    """Reply code, status and SMTP command of a text every recipient shares.

    Cached so that a bounce naming thousands of recipients reads its text once,
    not once per recipient.
    """
    return _reply_code(text), _status_of(text), smtp.command_of(text)


def _reply_code(text: str) -> str | None:
    if not text:
        return None
    for m in REPLY_CODE.finditer(text):
        code = m.group(1)
        if code[0] in "45":
            return code
    return None


def _status_from_reply(code: str) -> str | None:
    if code[0] not in "45":
        return None
    return f"{code[0]}.0.0"


# --- free-text bounces ----------------------------------------------------


def _own_addresses(message: Message) -> set[str]:
    values: list[str] = []
    for name in ("From", "To", "Return-Path", "Sender", "Reply-To", "Delivered-To", "Cc"):
        values.extend(str(v) for v in message.get_all(name) or [])
    found = {addr.lower() for addr in addrlist.addresses(*values)}
    return found


def _candidate_lines(text: str) -> list[tuple[int, str]]:
    """(line index, address) for every address that stands where a failed recipient does."""
    out: list[tuple[int, str]] = []
    for index, line in enumerate(text.split("\n")):
        stripped = line.strip()
        if "@" not in stripped:
            continue
        lowered = stripped.lower()
        if lowered.startswith(
            ("from:", "to:", "cc:", "reply-to:", "sender:", "return-path:", "message-id:")
        ):
            continue
        for m in ADDRESS.finditer(stripped):
            out.append((index, m.group(1)))
    return out


_LEADING = re.compile(
    r"^\s*(?:[\"'(]?\s*)?(?:recipient(?: address)?:|to:|address:|failed recipient:|"
    r"original-recipient:|final-recipient:|rcpt to:|for|x-failed-recipients:|"
    r"rfc822;|\*+|-|•|[45]\d\d(?= <))?\s*<?([^\s<>\"']+@[^\s<>\"':;,]+)>?",
    re.I,
)


def _leading_address(line: str) -> str | None:
    """The address a line starts with, as a failed recipient is listed, or None."""
    m = _LEADING.match(line)
    if m is None:
        return None
    address = _address(m.group(1))
    head, colon, _ = line.strip().partition(": ")
    if colon and head.endswith(">") and not head.startswith("<"):
        # The address as the sender wrote it, display part and all (Exim's
        # "incorrectly constructed" notices): the bracketed part is the address.
        angled = head[head.rfind("<") + 1 : -1]
        if "@" in angled and not any(c.isspace() for c in angled):
            return angled
    return address


def _read_free_text(report: Report, message: Message, text: str, original: Message | None) -> None:
    own = _own_addresses(message)
    if original is not None:
        for name in ("From", "Return-Path", "Sender", "Reply-To"):
            sender = addrlist.first_address(str(original.get(name) or "")).lower()
            if sender:
                own.add(sender)
    recipients = _pick_recipients(text, own, message, original)
    blocks = _blocks_by_recipient(text, recipients, message)
    for recipient in recipients:
        block = blocks.get(recipient.lower(), "")
        entry = RecipientReport(recipient=recipient, diagnostic_code=_diagnostic(block) or None)
        _remote_mta(entry, block)
        # With several recipients, facts said near another one are not this one's.
        _finish(entry, block if len(recipients) > 1 and block else text, report.reporter)
        report.reports.append(entry)


def _pick_recipients(
    text: str, own: set[str], message: Message, original: Message | None
) -> list[str]:
    failed_header = ", ".join(str(v) for v in message.get_all("X-Failed-Recipients") or [])
    strong: list[str] = addrlist.addresses(failed_header)
    lines = text.split("\n")
    weak: list[str] = []
    # The bounce's own addressee named where a failed recipient stands: a message
    # sent to oneself, or a report whose addresses were masked alike.
    own_strong: list[str] = []
    for index, address in _candidate_lines(text):
        local = address.split("@", 1)[0]
        if _SYSTEM_LOCALS.match(local):
            continue
        line = lines[index]
        lead = _leading_address(line)
        lowered = line.lower()
        leading = (lead is not None and lead.lower() == address.lower()) or (
            "rcpt to" in lowered and "<" + address.lower() in lowered
        )
        if address.lower() in own:
            if leading:
                own_strong.append(address)
        elif leading:
            strong.append(address)
        else:
            weak.append(address)
    chosen = strong or weak or own_strong
    if not chosen and original is not None:
        chosen = addrlist.addresses(str(original.get("To") or ""))
    out: list[str] = []
    seen: set[str] = set()
    for address in chosen:
        address = address.strip(".,;:")
        if address.lower() not in seen:
            seen.add(address.lower())
            out.append(address)
    return out


def _blocks_by_recipient(text: str, recipients: list[str], message: Message) -> dict[str, str]:
    """For each recipient, the lines of text that speak of it."""
    if not text or not recipients:
        return {}
    lines = text.split("\n")
    keys = [r.lower() for r in recipients]
    rank = {k: i for i, k in reversed(list(enumerate(keys)))}
    owner: list[str | None] = []
    current: str | None = None
    # Lines of the paragraph under way that name no recipient yet: they belong to
    # the recipient the paragraph goes on to name (a transcript leading up to its
    # refusal), or, if it names none, to the recipient before them.
    pending: list[int] = []
    for index, line in enumerate(lines):
        # Look up the line's own addresses rather than test every recipient against
        # every line: a bounce naming thousands of recipients stays linear.
        hits = (
            {m.group(1).lower() for m in ADDRESS.finditer(line)} & rank.keys()
            if "@" in line
            else set()
        )
        if hits:
            if current not in hits:
                current = min(hits, key=rank.__getitem__)
            for earlier in pending:
                owner[earlier] = current
            pending = []
        elif not line.strip():
            pending = []
        elif "alking to" in line and _SECTION.match(line):
            pending = [index]
        elif pending or current is None:
            pending.append(index)
        owner.append(current)
    blocks: dict[str, list[str]] = {k: [] for k in keys}
    for line, key in zip(lines, owner, strict=True):
        if key is not None:
            blocks[key].append(line)
    if len(keys) == 1 and not blocks[keys[0]]:
        blocks[keys[0]] = lines
    # Lines before the first address describe every recipient (one-recipient bounces).
    return {k: "\n".join(v[:60]) for k, v in blocks.items()}


# A line that starts a new account of one delivery attempt (sendmail transcripts).
_SECTION = re.compile(r"^\W*while talking to\b", re.I)

_DIAG_NOISE = re.compile(r"^\s*(?:-{3,}|={3,}|\*{3,}).*$", re.M)


def _diagnostic(block: str) -> str:
    text = _DIAG_NOISE.sub("", block)
    return " ".join(text.split())[:1000]


# Matched against lower-case text (case-insensitive matching is several times slower).
_REMOTE = re.compile(
    r"(?:host|server|by|from|while talking to|remote host|mx)\s+"
    r"\[?([a-z0-9][a-z0-9.-]*\.[a-z0-9-]+)\]?"
    r"(?:\s*\[[0-9a-f.:]+\])?[^\n]{0,40}?(?:said|refused|:)"
)


_REMOTE_ANY_CASE = re.compile(_REMOTE.pattern, re.I)


def _remote_mta(entry: RecipientReport, block: str) -> None:
    if block.isascii():
        # Lower-casing ASCII keeps every offset: the host is cut from the block as written.
        m = _REMOTE.search(block.lower())
        host = block[m.start(1) : m.end(1)] if m else ""
    else:
        m = _REMOTE_ANY_CASE.search(block)
        host = m.group(1) if m else ""
    if host:
        entry.remote_mta = host.rstrip(".")


def _recipients_from_inline_fields(report: Report, text: str, message: Message) -> None:
    head, blocks = parse_fields(text)
    for block in blocks:
        recipient = _address(strip_type(block.get("final-recipient") or "")) or _address(
            strip_type(block.get("original-recipient") or "")
        )
        if not recipient:
            continue
        entry = RecipientReport(
            recipient=recipient,
            status=_status_of(block.get("status")),
            action=(block.get("action") or "").lower() or None,
            diagnostic_code=strip_type(block.get("diagnostic-code")) or None,
            remote_mta=strip_type(block.get("remote-mta")) or None,
            reporting_mta=strip_type(head.get("reporting-mta")) or None,
        )
        _finish(entry, "", report.reporter)
        report.reports.append(entry)
    _dedupe(report)


# --- complaints ---------------------------------------------------------------


def _looks_arf(text: str) -> bool:
    # Whatever matches the field name case-insensitively lower-cases to it.
    if "feedback-type" not in text.lower():
        return False
    return bool(re.search(r"^feedback-type:\s*\S", text, re.I | re.M)) and bool(
        re.search(
            r"^(?:user-agent|version|original-rcpt-to|original-mail-from):", text, re.I | re.M
        )
    )


def _read_complaint(report: Report, parts: Parts, own_text: str, original: Message | None) -> None:
    text = "\n".join(parts.feedback_texts) or own_text
    head, blocks = parse_fields(text)
    fields = dict(head)
    for block in blocks:
        for k, v in block.items():
            fields.setdefault(k, v)
    feedback_type = (fields.get("feedback-type") or "abuse").split()[0].lower()
    # Opt-out reports name the address to remove in Removal-Recipient.
    recipients = [
        _address(v)
        for v in re.findall(r"^(?:original-rcpt-to|removal-recipient):\s*(.+)$", text, re.I | re.M)
        if _address(v)
    ]
    if not recipients and original is not None:
        recipients = [a for a in addrlist.addresses(str(original.get("To") or "")) if "@" in a]
    if not recipients:
        found = re.search(r"^to:\s*(.+)$", own_text, re.I | re.M)
        if found:
            recipients = [a for a in addrlist.addresses(found.group(1)) if "@" in a]
    source_ip = fields.get("source-ip")
    for recipient in dict.fromkeys(recipients):
        report.reports.append(
            RecipientReport(
                recipient=recipient,
                reason="feedback",
                feedback_type=feedback_type,
                diagnostic_code=" ".join(own_text.split())[:1000] or None,
                remote_mta=source_ip,
                reporting_mta=fields.get("reporting-mta") or None,
                last_attempt=fields.get("arrival-date") or fields.get("received-date"),
            )
        )
    if report.original_sender is None:
        report.original_sender = _address(fields.get("original-mail-from") or "") or None


# --- unsubscribe requests ------------------------------------------------------


def _is_unsubscribe_request(message: Message, subject: str) -> bool:
    """A mail client's request to leave a list (RFC 2369 List-Unsubscribe by mail)."""
    if subject.strip().lower() != "unsubscribe":
        return False
    if (message.get("X-Apple-Unsubscribe") or "").strip().lower() == "true":
        return True
    return (message.get("Auto-Submitted") or "no").strip().lower() != "no"


def _read_unsubscribe_request(report: Report, message: Message) -> None:
    sender = addrlist.first_address(decode_words(message.get("From")))
    if "@" in sender:
        # The recipient opted out of the sender's mail: an opt-out complaint.
        report.reports.append(
            RecipientReport(recipient=sender, reason="feedback", feedback_type="opt-out")
        )


# --- auto-replies -----------------------------------------------------------


def _is_auto_reply(message: Message, subject: str) -> bool:
    submitted = (message.get("Auto-Submitted") or "").lower()
    if submitted.startswith("auto-replied"):
        return True
    if message.get("X-Autoreply") or message.get("X-Autorespond") or message.get("X-Autoresponder"):
        return True
    precedence = (message.get("Precedence") or "").lower()
    if "auto_reply" in precedence:
        return True
    return bool(_AUTOREPLY_SUBJECT.search(subject))


# An auto-reply that says the mailbox is gone is a refusal in all but form.
_GONE_REASONS: Final = frozenset({"suspend", "userunknown", "hasmoved"})


def _read_auto_reply(report: Report, message: Message) -> None:
    sender = addrlist.first_address(decode_words(message.get("From")))
    if _SYSTEM_LOCALS.match(sender.split("@", 1)[0]):
        # Sent from a no-reply address on behalf of the mailbox it names for replies.
        sender = addrlist.first_address(decode_words(message.get("Reply-To"))) or sender
    if not sender:
        return
    body = ""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                body = payload.decode("utf-8", "replace")
            break
    said = " ".join(body.split())[:300]
    gone = reasons.by_text(said)
    report.reports.append(
        RecipientReport(
            recipient=sender,
            reason=gone if gone in _GONE_REASONS else "vacation",
            diagnostic_code=said or None,
        )
    )


# --- is it a bounce at all? ---------------------------------------------------


def _is_bounce(message: Message, text: str) -> bool:
    from_header = str(message.get("From") or "")
    name, sender = addrlist.name_and_address(from_header)
    local = sender.lower().split("@", 1)[0]
    return_path = (message.get("Return-Path") or "").strip()
    subject = decode_words(message.get("Subject"))
    # "MAILER-DAEMON <>" and "<>" are the null sender that bounces come from.
    from_daemon = (
        bool(_SYSTEM_LOCALS.match(local))
        or bool(_SYSTEM_LOCALS.match(name.strip()))
        or (not sender and "<>" in from_header)
        or "mail delivery" in from_header.lower()
    )
    if message.get("X-Failed-Recipients"):
        return True
    if _BOUNCE_SUBJECT.search(subject) and from_daemon:
        return True
    if from_daemon and return_path in ("<>", ""):
        return True
    if not (from_daemon or return_path == "<>" or _BOUNCE_SUBJECT.search(subject)):
        return False
    # The body is read last: the headers above decide most messages.
    return _BOUNCE_BODY.search(text.lower()) is not None
