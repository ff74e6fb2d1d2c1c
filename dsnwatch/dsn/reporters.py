"""Who wrote a report: the MTA or provider, told by its signatures and wording."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from typing import TYPE_CHECKING, Final

from dsnwatch.dsn.gates import LiteralIndex

if TYPE_CHECKING:
    from dsnwatch.dsn.mime import Parts


@dataclass(frozen=True, slots=True)
class Signature:
    """Marks of one reporter in the lower-cased headers and text.

    `words` are plain substrings; `patterns` are (literal, regex) pairs where the
    regex is only tried when its literal is present, since finding literals is far
    cheaper than regular expressions over a few kilobytes.
    """

    name: str
    words: tuple[str, ...] = ()
    patterns: tuple[tuple[str, re.Pattern[str]], ...] = ()


def _gated(literal: str, pattern: str) -> tuple[str, re.Pattern[str]]:
    return literal, re.compile(pattern)


# First match wins: providers before the MTA software they run.
_SIGNATURES: Final[tuple[Signature, ...]] = (
    Signature("Amazon SES", ("amazonses", "x-ses-outgoing")),
    Signature("Amazon WorkMail", ("x-mailer: amazon workmail", "amazonworkmail", "awsapps.com")),
    Signature("SendGrid", ("sendgrid",)),
    Signature("Google Groups", ("google groups", "googlegroups.com")),
    Signature(
        "Gmail",
        ("mailer-daemon@googlemail.com", "mailer-daemon@google.com", "google tried to deliver"),
    ),
    Signature(
        "Microsoft 365",
        ("x-ms-exchange-", "outlook.com", "protection.outlook"),
        (
            _gated("office", r"office ?365"),
            _gated("microsoft exchange server 20", r"microsoft exchange server 20(?:07|1[0369])"),
        ),
    ),
    Signature(
        "Exchange",
        ("microsoft mapi", "exchange server", "x-mimeole: produced by microsoft"),
    ),
    Signature("Yahoo", ("yahoo",)),
    Signature("Outlook.com", ("hotmail", "msn.com", "live.com")),
    Signature("Yandex", ("yandex",)),
    Signature("Mail.ru", ("mail.ru",)),
    Signature("GMX", ("gmx.net", "gmx.de", "gmx.com")),
    Signature("1&1", ("1und1", "1&1", "ionos")),
    Signature("Zoho", ("zoho",)),
    Signature("Mimecast", ("mimecast",)),
    Signature("Barracuda", ("barracuda",)),
    Signature("Trend Micro", ("interscan", "trendmicro", "trend micro")),
    Signature("Postfix", ("this is the mail system at host", "x-postfix-queue-id", "(postfix)")),
    Signature("qmail", ("qmail",)),
    Signature(
        "Exim",
        ("this message was created automatically by mail delivery software",),
        (_gated("exim", r"\bexim\b"),),
    ),
    Signature(
        "OpenSMTPD",
        ("opensmtpd",),
        (_gated("smtpd", r"delivery (?:status|notification) from \S+ smtpd"),),
    ),
    Signature("Courier", ("courier mail server", "courier-mta")),
    Signature("Lotus Domino", ("lotus", "domino")),
    Signature("Sendmail", ("transcript of session follows", "sendmail")),
    Signature("Dovecot", ("dovecot", "pigeonhole")),
)


# Every signature's words and literals, found in one pass over a text.
_LITERALS: Final = LiteralIndex()
_INDEXED: Final = [
    (
        signature.name,
        _LITERALS.gate(signature.words),
        [(_LITERALS.gate((literal,)), pattern) for literal, pattern in signature.patterns],
    )
    for signature in _SIGNATURES
]


def _signed_by(haystack: str) -> str | None:
    """The first reporter (in signature order) whose marks are in `haystack` (lower case)."""
    present = _LITERALS.found(haystack)
    if not present:
        return None
    for name, words, patterns in _INDEXED:
        if words and not words.isdisjoint(present):
            return name
        for literal, pattern in patterns:
            if literal and not literal.isdisjoint(present) and pattern.search(haystack):
                return name
    return None


def identify(message: Message, text: str, parts: Parts) -> str | None:
    """The name of the MTA or provider that wrote the report, or None.

    The report's own headers and text are searched before its Received headers:
    those name every relay the bounce passed, not only the one that wrote it.
    """
    own: list[str] = []
    relayed: list[str] = []
    for name, value in message.items():
        (relayed if name.lower() == "received" else own).append(f"{name}: {value}")
    # Lower-cased once: case-insensitive patterns are several times slower.
    haystack = (
        "\n".join(own)[:6000] + "\n" + text[:4000] + "\n" + "\n".join(parts.status_texts)[:2000]
    ).lower()
    return _signed_by(haystack) or _signed_by("\n".join(relayed)[:6000].lower())
