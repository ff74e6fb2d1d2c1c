"""Who wrote a report: the MTA or provider, told by its signatures and wording."""

from __future__ import annotations

import re
from email.message import Message
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from dsnwatch.dsn.mime import Parts

# (reporter, pattern over the lower-cased headers and own text), first match wins.
_SIGNATURES: Final[list[tuple[str, re.Pattern[str]]]] = [
    (
        "Amazon SES",
        re.compile(r"@amazonses\.com|x-ses-outgoing|amazonses|email-abuse\.amazonses"),
    ),
    ("Amazon WorkMail", re.compile(r"x-mailer: amazon workmail|amazonworkmail|awsapps\.com")),
    ("SendGrid", re.compile(r"sendgrid")),
    ("Google Groups", re.compile(r"google groups|googlegroups\.com")),
    (
        "Gmail",
        re.compile(r"mailer-daemon@(?:googlemail|google)\.com|google tried to deliver"),
    ),
    (
        "Microsoft 365",
        re.compile(
            r"x-ms-exchange-|outlook\.com|protection\.outlook|office ?365|"
            r"microsoft exchange server 20(?:07|10|13|16|19)",
        ),
    ),
    (
        "Exchange",
        re.compile(r"microsoft mapi|exchange server|x-mimeole: produced by microsoft"),
    ),
    ("Yahoo", re.compile(r"yahoo")),
    ("Outlook.com", re.compile(r"hotmail|msn\.com|live\.com")),
    ("Yandex", re.compile(r"yandex")),
    ("Mail.ru", re.compile(r"mail\.ru")),
    ("GMX", re.compile(r"gmx\.(?:net|de|com)")),
    ("1&1", re.compile(r"1und1|1&1|ionos")),
    ("Zoho", re.compile(r"zoho")),
    ("Mimecast", re.compile(r"mimecast")),
    ("Barracuda", re.compile(r"barracuda")),
    ("Trend Micro", re.compile(r"interscan|trend ?micro")),
    (
        "Postfix",
        re.compile(r"this is the mail system at host|x-postfix-queue-id|\(postfix\)"),
    ),
    ("qmail", re.compile(r"this is the qmail-send program|qmail")),
    (
        "Exim",
        re.compile(r"this message was created automatically by mail delivery software|\bexim\b"),
    ),
    ("OpenSMTPD", re.compile(r"opensmtpd|delivery (?:status|notification) from \S+ smtpd")),
    ("Courier", re.compile(r"courier mail server|courier-mta")),
    ("Lotus Domino", re.compile(r"lotus|domino")),
    ("Sendmail", re.compile(r"transcript of session follows|sendmail")),
    ("Dovecot", re.compile(r"dovecot|pigeonhole")),
]


def identify(message: Message, text: str, parts: Parts) -> str | None:
    """The name of the MTA or provider that wrote the report, or None."""
    headers = "\n".join(f"{k}: {v}" for k, v in message.items())
    # Lower-cased once: case-insensitive patterns are several times slower.
    haystack = (
        headers[:6000] + "\n" + text[:4000] + "\n" + "\n".join(parts.status_texts)[:2000]
    ).lower()
    for name, pattern in _SIGNATURES:
        if pattern.search(haystack):
            return name
    return None
