"""Who wrote a report: the MTA or provider, told by its signatures and wording."""

from __future__ import annotations

import re
from email.message import Message
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from dsnwatch.dsn.mime import Parts

# (reporter, pattern over the report's headers and its own text), first match wins.
_SIGNATURES: Final[list[tuple[str, re.Pattern[str]]]] = [
    (
        "Amazon SES",
        re.compile(r"@amazonses\.com|x-ses-outgoing|amazonses|email-abuse\.amazonses", re.I),
    ),
    ("Amazon WorkMail", re.compile(r"x-mailer: amazon workmail|amazonworkmail|awsapps\.com", re.I)),
    ("SendGrid", re.compile(r"sendgrid", re.I)),
    ("Google Groups", re.compile(r"google groups|googlegroups\.com", re.I)),
    (
        "Gmail",
        re.compile(r"mailer-daemon@(?:googlemail|google)\.com|google tried to deliver", re.I),
    ),
    (
        "Microsoft 365",
        re.compile(
            r"x-ms-exchange-|outlook\.com|protection\.outlook|office ?365|"
            r"microsoft exchange server 20(?:07|10|13|16|19)",
            re.I,
        ),
    ),
    (
        "Exchange",
        re.compile(r"microsoft mapi|exchange server|x-mimeole: produced by microsoft", re.I),
    ),
    ("Yahoo", re.compile(r"yahoo", re.I)),
    ("Outlook.com", re.compile(r"hotmail|msn\.com|live\.com", re.I)),
    ("Yandex", re.compile(r"yandex", re.I)),
    ("Mail.ru", re.compile(r"mail\.ru", re.I)),
    ("GMX", re.compile(r"gmx\.(?:net|de|com)", re.I)),
    ("1&1", re.compile(r"1und1|1&1|ionos", re.I)),
    ("Zoho", re.compile(r"zoho", re.I)),
    ("Mimecast", re.compile(r"mimecast", re.I)),
    ("Barracuda", re.compile(r"barracuda", re.I)),
    ("Trend Micro", re.compile(r"interscan|trend ?micro", re.I)),
    (
        "Postfix",
        re.compile(r"this is the mail system at host|x-postfix-queue-id|\(postfix\)", re.I),
    ),
    ("qmail", re.compile(r"this is the qmail-send program|qmail", re.I)),
    (
        "Exim",
        re.compile(
            r"this message was created automatically by mail delivery software|\bexim\b", re.I
        ),
    ),
    ("OpenSMTPD", re.compile(r"opensmtpd|delivery (?:status|notification) from \S+ smtpd", re.I)),
    ("Courier", re.compile(r"courier mail server|courier-mta", re.I)),
    ("Lotus Domino", re.compile(r"lotus|domino", re.I)),
    ("Sendmail", re.compile(r"transcript of session follows|sendmail", re.I)),
    ("Dovecot", re.compile(r"dovecot|pigeonhole", re.I)),
]


def identify(message: Message, text: str, parts: Parts) -> str | None:
    """The name of the MTA or provider that wrote the report, or None."""
    headers = "\n".join(f"{k}: {v}" for k, v in message.items())
    haystack = headers + "\n" + text[:4000] + "\n" + "\n".join(parts.status_texts)[:2000]
    for name, pattern in _SIGNATURES:
        if pattern.search(haystack):
            return name
    return None
