"""Addresses of a header such as To or From, read cheaply.

The standard library's address parser handles every corner of RFC 5322 but costs
more than the rest of reading a bounce's headers. Most headers are plain
("a@example.org", "Name <a@example.org>, b@example.org"); those are split here
with string operations and anything unusual goes to the standard parser, so the
result is the same.
"""

from __future__ import annotations

import re
from email.utils import getaddresses, parseaddr

# Characters after which a header needs the full grammar (quotes, comments,
# groups, escapes, source routes).
_UNUSUAL = frozenset('"()\\;:[]')
_SIMPLE = re.compile(r"[\w+-]+(?:\.[\w+-]+)*@[\w-]+(?:\.[\w-]+)*")
_NAME = re.compile(r"[\w' -]*")
_NAME_IN_QUOTES = re.compile(r'[^"\\]*')
# One address with a quoted name or a trailing comment, the usual From of a bounce:
# '"Mail Delivery System" <MAILER-DAEMON@example.org>', 'a@example.org (Name)'.
_QUOTED_NAME = re.compile(r'\s*"[^"\\]*"\s*<(' + _SIMPLE.pattern + r")>\s*")
_COMMENTED = re.compile(r"\s*(" + _SIMPLE.pattern + r")\s*\([^()\\\"]*\)\s*")


def addresses(*values: str) -> list[str]:
    """The addresses in header values, in order; empty ones dropped."""
    out: list[str] = []
    for value in values:
        if not value:
            continue
        plain = _plain(value)
        if plain is None:
            out.extend(a for _, a in getaddresses([value]) if a)
        else:
            out.extend(plain)
    return out


def first_address(value: str) -> str:
    """The first address in a header value, or an empty string."""
    if not value:
        return ""
    plain = _plain(value)
    if plain is None or value.lstrip().startswith(","):
        return parseaddr(value)[1]
    return plain[0] if plain else ""


_BARE = re.compile(r"\s*(" + _SIMPLE.pattern + r")(?:\s*\(([^()\\\"]*)\))?\s*")


def name_and_address(value: str) -> tuple[str, str]:
    """(display name, address) of a one-address header, as `parseaddr` gives them."""
    if not value:
        return parseaddr(value)
    end = value.rstrip().rfind(">")
    lt = value.find("<")
    if (
        0 <= lt < end
        and value.count("<") == 1
        and value.count(">") == 1
        and not value[end + 1 :].strip()
    ):
        address, name = value[lt + 1 : end], value[:lt]
        if _SIMPLE.fullmatch(address) is not None:
            quoted = name.strip()
            if (
                len(quoted) > 1
                and quoted[0] == quoted[-1] == '"'
                and _NAME_IN_QUOTES.fullmatch(quoted[1:-1])
            ):
                return quoted[1:-1], address
            if _NAME.fullmatch(name) is not None:
                return " ".join(name.split()), address
    m = _BARE.fullmatch(value)
    if m is not None and m.group(2) is None:
        return "", m.group(1)
    return parseaddr(value)


def _plain(value: str) -> list[str] | None:
    """Addresses of a plain header ("a@b", "Name <a@b>", lists of those), else None."""
    if not _UNUSUAL.isdisjoint(value):
        single = _QUOTED_NAME.fullmatch(value) or _COMMENTED.fullmatch(value)
        return [single.group(1)] if single else None
    out: list[str] = []
    for piece in value.split(","):
        piece = piece.strip()
        if not piece:
            continue
        lt = piece.find("<")
        if lt < 0:
            address, name = piece, ""
        elif piece.endswith(">"):
            address, name = piece[lt + 1 : -1], piece[:lt]
        else:
            return None
        if _SIMPLE.fullmatch(address) is None or _NAME.fullmatch(name) is None:
            return None
        out.append(address)
    return out
