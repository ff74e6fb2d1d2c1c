"""Fetching only what the reader needs from an IMAP server.

A bounce usually carries the original message, often with its attachments: a
10 MB attachment bounced is 10 MB to download for a few lines of report. So the
structure comes first (BODYSTRUCTURE and the top header block), then only the
parts the reader looks at: text parts, the report parts, and the header block of
a quoted original. A message whose structure cannot be used is fetched whole,
up to a limit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# Text parts are read up to this many bytes; a report's own text is far shorter.
TEXT_LIMIT = 256 * 1024
# Messages up to this size are fetched whole; larger ones part by part.
SMALL = 64 * 1024
# A message fetched whole is read up to this many bytes.
WHOLE_LIMIT = 1_000_000
_REPORT_PARTS = {
    (b"message", b"delivery-status"),
    (b"message", b"global-delivery-status"),
    (b"message", b"feedback-report"),
    (b"text", b"rfc822-headers"),
    (b"message", b"rfc822-headers"),
    (b"message", b"global-headers"),
}
_ORIGINALS = {(b"message", b"rfc822"), (b"message", b"global")}


@dataclass(slots=True, frozen=True)
class Section:
    """One part to fetch: its number, and whether only the header block is wanted."""

    number: str
    headers_only: bool = False

    def items(self) -> list[str]:
        """The FETCH items: the part's MIME header, then its body or its header block."""
        if self.headers_only:
            return [f"BODY.PEEK[{self.number}.MIME]", f"BODY.PEEK[{self.number}.HEADER]"]
        return [f"BODY.PEEK[{self.number}.MIME]", f"BODY.PEEK[{self.number}]<0.{TEXT_LIMIT}>"]

    def keys(self) -> tuple[bytes, bytes]:
        """How imapclient names the two answers."""
        if self.headers_only:
            return f"BODY[{self.number}.MIME]".encode(), f"BODY[{self.number}.HEADER]".encode()
        return f"BODY[{self.number}.MIME]".encode(), f"BODY[{self.number}]<0>".encode()


def _lower(value: Any) -> bytes:
    return value.lower() if isinstance(value, bytes) else b""


def plan(structure: Any) -> list[Section] | None:
    """The sections the reader needs, or None when the whole message should be fetched."""
    try:
        if not getattr(structure, "is_multipart", False):
            return None  # a single part: its text is the report
        sections: list[Section] = []
        _walk(structure, "", sections)
        return sections
    except (IndexError, TypeError, AttributeError):
        return None


def _walk(structure: Any, prefix: str, out: list[Section]) -> None:
    for index, part in enumerate(structure[0], start=1):
        number = f"{prefix}{index}"
        if getattr(part, "is_multipart", False):
            _walk(part, f"{number}.", out)
            continue
        kind = (_lower(part[0]), _lower(part[1]))
        # A part without a Content-Type is text/plain (RFC 2045); servers show it empty.
        if kind in _REPORT_PARTS or kind[0] in (b"text", b""):
            out.append(Section(number))
        elif kind in _ORIGINALS:
            inner = part[8] if len(part) > 8 else None
            # A bounce forwarded as an attachment is itself read; an original is not.
            forwarded = getattr(inner, "is_multipart", False)
            out.append(Section(number, headers_only=not forwarded))
        # Anything else (images, documents, archives) the reader never looks at.


def boundary_of(structure: Any) -> bytes:
    """The multipart boundary a BODYSTRUCTURE names (a made-up one if it names none)."""
    params = structure[2] if len(structure) > 2 else None
    if isinstance(params, tuple):
        for key, value in zip(params[::2], params[1::2], strict=False):
            if _lower(key) == b"boundary" and isinstance(value, bytes):
                return value
    return b"dsnwatch-part"


def assemble(header: bytes, boundary: bytes, parts: Iterable[tuple[bytes, bytes]]) -> bytes:
    """A message the reader can take: the top header, then each fetched part, flat."""
    chunks = [header.rstrip(b"\r\n") + b"\r\n\r\n"]
    for mime, body in parts:
        chunks.append(b"--" + boundary + b"\r\n")
        chunks.append(mime.rstrip(b"\r\n") + b"\r\n\r\n")
        chunks.append(body.rstrip(b"\r\n") + b"\r\n")
    chunks.append(b"--" + boundary + b"--\r\n")
    return b"".join(chunks)


def fetch_for_reader(client: Any, uids: list[int]) -> dict[int, bytes]:
    """For each UID, the bytes the reader needs.

    A message up to SMALL bytes (nearly every report) is fetched whole in one
    FETCH for the batch: that is as cheap as asking for its parts and keeps the
    reader's view exact. Only a larger one has its structure fetched (parsing a
    BODYSTRUCTURE costs more than reading a small report), and gets only the parts
    the reader reads.
    """
    sizes = client.fetch(uids, ["RFC822.SIZE"])
    large = [uid for uid in uids if int(sizes.get(uid, {}).get(b"RFC822.SIZE") or 0) > SMALL]
    structures = client.fetch(large, ["BODYSTRUCTURE"]) if large else {}
    whole: list[int] = []
    by_plan: dict[tuple[Section, ...], list[int]] = defaultdict(list)
    for uid in uids:
        structure = structures.get(uid, {}).get(b"BODYSTRUCTURE")
        sections = plan(structure) if uid in structures else None
        if sections is None or not _has_report_part(sections, structure):
            whole.append(uid)
        else:
            by_plan[tuple(sections)].append(uid)
    out: dict[int, bytes] = {}
    if whole:
        fetched = client.fetch(whole, [f"BODY.PEEK[]<0.{WHOLE_LIMIT}>"])
        for uid in whole:
            data = fetched.get(uid, {})
            out[uid] = bytes(data.get(b"BODY[]<0>") or data.get(b"BODY[]") or b"")
    # Large messages of one shape (a server's bounces all look alike) share one FETCH.
    for shape, group in by_plan.items():
        items = ["BODY.PEEK[HEADER]", *(item for s in shape for item in s.items())]
        fetched = client.fetch(group, items)
        for uid in group:
            data = fetched.get(uid, {})
            parts = [
                (bytes(data.get(mime_key) or b""), bytes(data.get(body_key) or b""))
                for mime_key, body_key in (section.keys() for section in shape)
            ]
            header = bytes(data.get(b"BODY[HEADER]") or b"")
            out[uid] = assemble(header, boundary_of(structures[uid][b"BODYSTRUCTURE"]), parts)
    return out


def _has_report_part(sections: list[Section], structure: Any) -> bool:
    """False when a multipart/report shows no report part: the server's MIME view and
    ours may differ (a broken boundary), so the whole message is the safe read."""
    try:
        if _lower(structure[1]) != b"report":
            return True
    except (IndexError, TypeError):
        return False
    return len(sections) > 1
