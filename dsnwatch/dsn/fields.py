"""RFC 3464 / RFC 6533 / RFC 5965 report fields: text in, per-message and per-recipient maps out."""

from __future__ import annotations

import re

_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9-]{0,60})[ \t]*:[ \t]*(.*)$")
RECIPIENT_FIELDS = ("final-recipient", "original-recipient", "x-actual-recipient")


def unfold_lines(text: str) -> list[str]:
    """Lines with header-style continuation lines joined to the line they continue."""
    out: list[str] = []
    for line in text.split("\n"):
        if line[:1] in (" ", "\t") and out and out[-1]:
            out[-1] = out[-1] + " " + line.strip()
        else:
            out.append(line.rstrip())
    return out


def parse_fields(text: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The per-message fields and one map per recipient block of a report.

    Blocks are separated by blank lines; a recipient field after another one of the
    same block also starts a new block, for reports that forget the blank line.
    """
    head: dict[str, str] = {}
    recipients: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    # Fields of a later block seen before its recipient field (some MTAs write
    # Diagnostic-Code and Status first): they describe that recipient.
    leading: dict[str, str] = {}
    first_block = True
    for line in unfold_lines(text):
        if not line.strip():
            if current is not None or head:
                first_block = False
            current = None
            leading = {}
            continue
        m = _FIELD.match(line)
        if m is None:
            continue
        name = m.group(1).lower()
        value = m.group(2).strip()
        if name in RECIPIENT_FIELDS and (current is None or name in current):
            current = {} if current is not None else dict(leading)
            recipients.append(current)
        if current is None:
            head.setdefault(name, value)
            if not first_block:
                leading.setdefault(name, value)
        else:
            current.setdefault(name, value)
    return head, recipients


def strip_type(value: str | None) -> str:
    """`rfc822; user@example.org` -> `user@example.org` (the address type dropped)."""
    if not value:
        return ""
    if ";" in value:
        kind, _, rest = value.partition(";")
        if len(kind) <= 12 and " " not in kind.strip():
            return rest.strip()
    return value.strip()
