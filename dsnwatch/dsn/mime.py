"""Taking one message apart: its headers, its own text, the report parts, the original.

Everything here tolerates broken MIME: a part that cannot be decoded yields what
could be read and never raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.errors import MessageError
from email.header import decode_header, make_header
from email.message import Message
from email.policy import Compat32
from typing import Any


class _TextHeaders(Compat32):
    """compat32, except that headers with 8-bit bytes come back as text.

    compat32 hands such headers back as `Header` objects, which every caller would
    have to remember; raw UTF-8 (or, failing that, Latin-1) is what they hold.
    """

    def header_fetch_parse(self, name: str, value: str) -> str:
        if value.isascii():
            return value
        # Surrogates stand for undecoded bytes; real characters may sit beside them.
        raw = value.encode("utf-8", "surrogateescape")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            if _only_surrogates(value):
                return raw.decode("latin-1")
            return raw.decode("utf-8", "replace")


class Part(Message):
    """A message or MIME part whose headers are final once parsed.

    Readers ask a part for its content type and parameters many times; the
    standard class parses the header again on every call. Here each answer is
    kept after the first call and forgotten when a header is set, replaced or removed
    (set_raw is used only while parsing, before anything is asked).
    """

    def _forget(self) -> None:
        for key in ("_ctype", "_params"):
            self.__dict__.pop(key, None)

    def replace_header(self, _name: str, _value: Any) -> None:
        super().replace_header(_name, _value)
        self._forget()

    def __delitem__(self, name: str) -> None:
        super().__delitem__(name)
        self._forget()

    def __setitem__(self, name: str, val: Any) -> None:
        super().__setitem__(name, val)
        self._forget()

    def set_default_type(self, ctype: str) -> None:
        super().set_default_type(ctype)
        self._forget()

    def get_content_type(self) -> str:
        cached: str | None = self.__dict__.get("_ctype")
        if cached is None:
            cached = super().get_content_type()
            self.__dict__["_ctype"] = cached
        return cached

    def get_param(  # type: ignore[override]
        self,
        param: str,
        failobj: object = None,
        header: str = "content-type",
        unquote: bool = True,
    ) -> object:
        cache: dict[tuple[str, str, bool], object] = self.__dict__.setdefault("_params", {})
        key = (param, header, unquote)
        if key not in cache:
            value = self.get(header) if unquote else None
            found = _plain_param(value, param.lower()) if isinstance(value, str) else None
            cache[key] = (
                super().get_param(param, _ABSENT, header, unquote) if found is None else found
            )
        found = cache[key]
        return failobj if found is _ABSENT else found


_ABSENT = object()


def _plain_param(value: str, name: str) -> object | None:
    """A parameter of a header without RFC 2231 parts or escapes, read as the
    standard class reads it (`_ABSENT` when missing); None when the value needs
    the standard class."""
    if "*" in value or "\\" in value:
        return None
    pieces = value.split(";")
    if '"' in value:
        # Rejoin pieces split inside a quoted string.
        joined: list[str] = []
        for piece in pieces:
            if joined and joined[-1].count('"') % 2:
                joined[-1] += ";" + piece
            else:
                joined.append(piece)
        pieces = joined
    # The type itself ("multipart/mixed") is tried as a name too, as the standard class does.
    for piece in pieces:
        key, _, val = piece.partition("=")
        if key.strip().lower() != name:
            continue
        val = val.strip()
        if len(val) > 1 and val[0] == '"' and val[-1] == '"':
            return val[1:-1]
        if len(val) > 1 and val[0] == "<" and val[-1] == ">":
            return val[1:-1]
        return val
    return _ABSENT


def _only_surrogates(value: str) -> bool:
    """True when every non-ASCII character is an undecoded byte (a surrogate)."""
    return all(ord(c) < 128 or 0xDC80 <= ord(c) <= 0xDCFF for c in value)


POLICY = _TextHeaders()

_HTML_TAG = re.compile(r"<[^>]{0,2000}>")
_HTML_BREAK = re.compile(r"<(?:br|/p|/div|/tr|/li|p|div|tr|li)\b[^>]{0,200}>", re.I)
_HTML_ENTITY = re.compile(r"&(#\d+|#x[0-9a-f]+|[a-z]+);", re.I)
_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "nbsp": " ", "apos": "'"}

# Lines after which a free-text bounce quotes the original message.
ORIGINAL_MARKERS = re.compile(
    r"^[ \t]*(?:"
    r"-{2,}\s*(?:below this line is a copy of the message|original message|"
    r"this is a copy of the message|the header of the original message|"
    r"original message headers?|message header follows|unsent message (?:below|follows)|"
    r"returned message|forwarded message|undelivered message follows?|"
    r"headers? of (?:the )?(?:original|returned) message|"
    r"this is a copy of the headers|the original message (?:was|headers))"
    r"|-+ ?original message ?-+"
    r"|-+ ?returned mail ?-+"
    r"|-+ ?(?:message|mail) (?:text|body) ?-+"
    r"|the original message (?:was|headers? (?:is|are)) (?:attached|included|below)"
    r"|original message(?: headers?)?:?\s*$"
    r"|message headers follow\.?\s*$"
    r"|\*{3} ?original message follows ?\*{3}"
    r"|content-type: (?:message/rfc822|text/rfc822-headers)"
    r")",
    re.I | re.M,
)


def decode_words(value: str | None) -> str:
    """A header value with RFC 2047 encoded words decoded; never raises."""
    if not value:
        return ""
    value = str(value)
    if "=?" not in value:
        return " ".join(value.split())
    try:
        return " ".join(str(make_header(decode_header(value))).split())
    except (ValueError, LookupError, UnicodeError, AssertionError, MessageError):
        # e.g. a raw 8-bit byte beside an encoded word: the charset check fails.
        return " ".join(value.split())


def _charset(part: Message) -> str:
    charset = part.get_content_charset() or "utf-8"
    if charset in ("unknown-8bit", "x-unknown", "us-ascii", "ascii", "default"):
        return "utf-8"
    return charset


def part_text(part: Message) -> str:
    """The decoded text of a leaf part (HTML reduced to text)."""
    try:
        raw = part.get_payload(decode=True)
    except (ValueError, AssertionError, LookupError):
        raw = None
    if raw is None:
        payload = part.get_payload()
        if isinstance(payload, str):
            text = payload
        elif isinstance(payload, list):
            text = "\n".join(p.as_string() if isinstance(p, Message) else str(p) for p in payload)
        else:
            return ""
    else:
        if not isinstance(raw, bytes):
            return ""
        charset = _charset(part)
        try:
            text = raw.decode(charset, errors="replace")
        except LookupError:
            text = raw.decode("utf-8", errors="replace")
        if "\ufffd" in text and charset == "utf-8":
            text = raw.decode("latin-1")
    if part.get_content_subtype() == "html":
        text = html_to_text(text)
    return text


def html_to_text(html: str) -> str:
    """Visible text of an HTML part, good enough to find phrases and addresses."""
    html = re.sub(r"(?is)<(script|style|head)\b.*?</\1\s*>", " ", html)
    html = _HTML_BREAK.sub("\n", html)
    html = _HTML_TAG.sub(" ", html)

    def entity(m: re.Match[str]) -> str:
        name = m.group(1).lower()
        try:
            if name.startswith("#x"):
                return chr(int(name[2:], 16))
            if name.startswith("#"):
                return chr(int(name[1:]))
        except (ValueError, OverflowError):
            return " "
        return _ENTITIES.get(name, " ")

    return _HTML_ENTITY.sub(entity, html)


def _report_text(part: Message) -> str:
    """The text of a message/delivery-status-like part, however the parser held it."""
    payload = part.get_payload()
    if isinstance(payload, list):
        blocks: list[str] = []
        for block in payload:
            if isinstance(block, Message):
                lines = [f"{name}: {value}" for name, value in block.items()]
                # decode=True hands back the raw bytes, UTF-8 (RFC 6533) included.
                body = block.get_payload(decode=True)
                if isinstance(body, bytes) and body.strip():
                    lines.append("")
                    lines.append(body.decode("utf-8", "replace"))
                blocks.append("\n".join(lines))
        # compat32 keeps non-ASCII bytes as surrogates; make them UTF-8 text again.
        text = "\n\n".join(blocks)
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return part_text(part)


@dataclass(slots=True)
class Parts:
    """What one message is made of, as far as a report reader cares."""

    message: Message
    texts: list[str] = field(default_factory=list)
    status_texts: list[str] = field(default_factory=list)
    global_status: bool = False
    feedback_texts: list[str] = field(default_factory=list)
    original: Message | None = None
    original_text: str = ""
    report_type: str = ""


_REPORT_TYPES = {
    "message/delivery-status": False,
    "message/global-delivery-status": True,
}
_ORIGINAL_TYPES = {
    "message/rfc822",
    "message/global",
    "text/rfc822-headers",
    "message/rfc822-headers",
    "message/global-headers",
    "message/partial",
}


def parse_bytes(data: bytes) -> Message:
    """A message from bytes, with CRLF and CR line endings made LF first.

    The MIME tree is split on its boundaries with string operations, the way the
    standard parser would split it; the body of a quoted original message is kept
    as raw text (only its headers are read), since no report reader needs more.
    """
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    # The standard parser's view of bytes: ASCII, other bytes kept as surrogates.
    return _parse(data.decode("ascii", "surrogateescape"), depth=0)


# The lines at the start of a part that the standard parser takes as its headers.
_HEAD_BLOCK = re.compile(r"(?:(?:From |[\041-\071\073-\176]*:|[\t ])[^\n]*(?:\n|\Z))*")
# Deeper nesting than this is left unread (hostile input); readers stop at 20.
_MAX_DEPTH = 40
# Reports whose bodies are read as text, never as nested messages.
_LEAF_MESSAGE_TYPES = frozenset(
    {"message/delivery-status", "message/global-delivery-status", "message/feedback-report"}
)


def _parse_head(text: str, digest_child: bool = False) -> tuple[Message, str]:
    """The header block of `text` as a Message, and the body that follows it."""
    message = Part(policy=POLICY)
    if digest_child:
        message.set_default_type("message/rfc822")
    match = _HEAD_BLOCK.match(text)
    pos = match.end() if match else 0
    lines = text[:pos].split("\n")
    if lines[-1] == "":
        lines.pop()
    # Where set_raw would append each (name, value): compat32 stores them as given.
    store: list[tuple[str, str]] = message.__dict__["_headers"]
    first: str | None = None  # the first line of the header under way
    folded: list[str] | None = None  # its continuation lines
    pushed_back = -1
    for index, line in enumerate(lines):
        lead = line[:1]
        if lead == " " or lead == "\t":
            if first is not None:
                if folded is None:
                    folded = [line]
                else:
                    folded.append(line)
            continue
        if first is not None:
            store.append(_header(first, folded))
            first = folded = None
        if lead == "F" and line.startswith("From "):
            if index == 0:
                message.set_unixfrom(line)
                continue
            if index == len(lines) - 1:
                # Probably the first line of the body.
                pushed_back = sum(len(earlier) + 1 for earlier in lines[:index])
                break
            continue
        if line.find(":") <= 0:
            continue
        first = line
    if first is not None:
        store.append(_header(first, folded))
    if text[pos : pos + 1] == "\n":
        pos += 1  # the blank line that ends the headers
    if pushed_back >= 0:
        # The standard parser hands that line back as the body's first, having
        # already consumed the blank line after it.
        return message, text[pushed_back : match.end() if match else 0] + text[pos:]
    return message, text[pos:]


def _header(first: str, folded: list[str] | None) -> tuple[str, str]:
    # As the standard parser stores it: folding kept, the first line's leading
    # white space dropped.
    name, _, value = first.partition(":")
    value = value.lstrip(" \t")
    if folded:
        value = value + "\n" + "\n".join(folded)
    return name, value.rstrip("\r\n")


def _parse(text: str, depth: int, digest_child: bool = False) -> Message:
    message, body = _parse_head(text, digest_child)
    if depth > _MAX_DEPTH:
        message.set_payload(body)
        return message
    ctype = message.get_content_type()
    maintype = ctype.partition("/")[0]
    if maintype == "message" and ctype not in _LEAF_MESSAGE_TYPES:
        inner, inner_body = _parse_head(body)
        if inner.get_content_type() == "multipart/report":
            # A bounce forwarded as an attachment: its parts are read too.
            inner = _parse(body, depth + 1)
        else:
            inner.set_payload(inner_body)
        message.set_payload([inner])
        return message
    if maintype == "multipart":
        boundary = message.get_boundary()
        if boundary is not None:
            children = _split_multipart(body, boundary)
            if children is not None:
                digest = ctype == "multipart/digest"
                message.set_payload([_parse(c, depth + 1, digest) for c in children])
                return message
            # No opening boundary: the standard parser keeps the text before
            # any closing boundary as the payload.
            close = _boundary_lines(body, "--" + boundary, first_only=True)
            if close:
                body = body[: close[0][0]]
    message.set_payload(body)
    return message


def _boundary_lines(
    body: str, separator: str, first_only: bool = False
) -> list[tuple[int, int, bool]]:
    """(start, end, closing) of each line that is `separator`, maybe followed by "--"."""
    found: list[tuple[int, int, bool]] = []
    size = len(separator)
    pos = 0
    while True:
        at = body.find(separator, pos)
        if at < 0:
            return found
        pos = at + size
        if at and body[at - 1] != "\n":
            continue
        nl = body.find("\n", pos)
        end = len(body) if nl < 0 else nl
        rest = body[pos:end]
        closing = rest.startswith("--")
        if (rest[2:] if closing else rest).strip(" \t"):
            continue
        found.append((at, end + 1 if nl >= 0 else end, closing))
        if closing or first_only:
            return found


def _split_multipart(body: str, boundary: str) -> list[str] | None:
    """The texts of the parts of a multipart body, or None without an opening boundary."""
    marks = _boundary_lines(body, "--" + boundary)
    if not marks or marks[0][2]:
        return None
    children: list[str] = []
    for (_, end, closing), following in zip(marks, [*marks[1:], None], strict=True):
        if closing:
            break  # what follows the closing boundary is the epilogue
        if following is None:
            children.append(_drop_last_newline(body[end:]))
        elif following[0] > end:
            # The newline before a boundary belongs to the boundary (RFC 2046).
            children.append(_drop_last_newline(body[end : following[0]]))
    return children


def _drop_last_newline(text: str) -> str:
    return text[:-1] if text.endswith("\n") else text


def split_parts(message: Message) -> Parts:
    """Sort a message's parts into its own text, report parts and the original."""
    parts = Parts(message=message)
    ctype = message.get_content_type()
    if ctype == "multipart/report":
        parts.report_type = (message.get_param("report-type") or "").__str__().strip().lower()
    _walk(message, parts, depth=0)
    if not parts.status_texts:
        _status_from_text(parts)
    return parts


# Report fields written as plain text: a part whose MIME structure is broken
# (a boundary that does not match) or a report pasted into a text part.
_INLINE_REPORT = re.compile(
    r"^(?:reporting-mta|final-recipient|original-recipient)[ \t]*:[ \t]*\S", re.I | re.M
)
_PART_END = re.compile(r"^--\S|^content-type:[ \t]*(?:message|text)/rfc822", re.I | re.M)


def _status_from_text(parts: Parts) -> None:
    for text in parts.texts:
        start = _INLINE_REPORT.search(text)
        if start is None or not re.search(r"^(?:status|action)[ \t]*:", text, re.I | re.M):
            continue
        end = _PART_END.search(text, start.start())
        parts.status_texts.append(text[start.start() : end.start() if end else len(text)])
        return


def _walk(part: Message, parts: Parts, depth: int) -> None:
    if depth > 20:
        return
    ctype = part.get_content_type()
    if part.get_content_maintype() == "multipart" and isinstance(part.get_payload(), str):
        # The boundary was not found: the body is all the text there is.
        parts.texts.append(part_text(part))
        return
    if part.is_multipart() and not ctype.startswith("message/"):
        payload = part.get_payload()
        if isinstance(payload, list):
            for child in payload:
                if isinstance(child, Message):
                    _walk(child, parts, depth + 1)
        return
    if ctype in _REPORT_TYPES:
        parts.status_texts.append(_report_text(part))
        parts.global_status = parts.global_status or _REPORT_TYPES[ctype]
        return
    if ctype == "message/feedback-report":
        parts.feedback_texts.append(_report_text(part))
        return
    if ctype in _ORIGINAL_TYPES:
        inner = part.get_payload()
        if (
            not parts.status_texts
            and isinstance(inner, list)
            and inner
            and isinstance(inner[0], Message)
            and inner[0].get_content_type() == "multipart/report"
        ):
            # A bounce forwarded as an attachment: its report is the one to read.
            _walk(inner[0], parts, depth + 1)
            return
        if parts.original is None:
            parts.original, parts.original_text = _original_of(part)
        return
    if ctype.startswith("message/"):
        # An unknown message/* part: keep its text, it may carry the report.
        parts.texts.append(_report_text(part))
        return
    if part.get_content_maintype() == "text" or (
        ctype == "application/octet-stream" and depth == 0
    ):
        if part.get_content_disposition() == "attachment" and depth > 0:
            name = (part.get_filename() or "").lower()
            if not name.endswith((".txt", ".eml")):
                return
        parts.texts.append(part_text(part))


def _original_of(part: Message) -> tuple[Message | None, str]:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        original = payload[0]
        return original, ""
    text = part_text(part)
    return _parse_head(text.lstrip("\n"))[0], text


# The markers for lower-case ASCII text: matching case-insensitively costs more than
# lower-casing, which keeps every offset of ASCII text.
_ORIGINAL_MARKERS_LOWER = re.compile(ORIGINAL_MARKERS.pattern, re.M)


def split_inline_original(text: str) -> tuple[str, str]:
    """Cut a free-text bounce where it starts quoting the original message."""
    if text.isascii():
        m = _ORIGINAL_MARKERS_LOWER.search(text.lower())
    else:
        m = ORIGINAL_MARKERS.search(text)
    if m is None:
        return text, ""
    end = text.find("\n", m.end())
    return text[: m.start()], text[end + 1 :] if end >= 0 else ""


def headers_of(text: str) -> Message | None:
    """The header block at the start of quoted original text, or None."""
    text = text.lstrip("\n ")
    if not text or ":" not in text.split("\n", 1)[0]:
        return None
    return _parse_head(text)[0]
