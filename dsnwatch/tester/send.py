"""Sending one test message: authenticated submission with verified TLS, or the SES API.

Every path checks the recipient against the target rules once more right before
the envelope is written, whatever chose it.
"""

from __future__ import annotations

import email.utils
import ipaddress
import re
import smtplib
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from dsnwatch.tester.model import TestSpec
from dsnwatch.tester.targets import check_target

TEST_HEADER = "X-Dsnwatch-Test"
_QUEUED = re.compile(r"queued as ([0-9A-Za-z]+)")


class SendError(Exception):
    """The test could not be handed over; one line saying why and what to do."""


@dataclass(slots=True, frozen=True)
class SmtpServer:
    """Where and as whom test messages are submitted."""

    host: str
    port: int
    tls: str  # "starttls", "ssl", or "plain" (loopback only)
    user: str
    password: str
    ca: str = ""

    def __repr__(self) -> str:  # never show the password
        return f"SmtpServer(host={self.host!r}, port={self.port}, tls={self.tls!r}, user={self.user!r})"


def compose(spec: TestSpec) -> EmailMessage:
    """The test message: the token in the Message-ID, a header and the subject."""
    msg = EmailMessage()
    msg["From"] = spec.sender
    msg["To"] = spec.recipient
    msg["Subject"] = f"dsnwatch {spec.kind} test {spec.token}"
    msg["Message-ID"] = spec.message_id
    msg["Date"] = email.utils.formatdate(localtime=True)
    msg[TEST_HEADER] = f"{spec.kind} {spec.token}"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(
        "This message tests that delivery failures reach the central DSN mailbox.\n"
        f"It was sent to an address that cannot receive mail, so it must bounce.\n"
        f"Test: {spec.kind}, token {spec.token}.\n"
    )
    return msg


def message_id_for(kind: str, token: str, sender: str) -> str:
    """The test's Message-ID: the token and the kind, at the sender's domain."""
    domain = sender.rpartition("@")[2] or "dsnwatch.invalid"
    return f"<dsnwatch-test.{kind}.{token}@{domain}>"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = (
            exc.smtp_error.decode("utf-8", "replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        return f"{exc.smtp_code} {' '.join(text.split())}"[:300]
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:300]


def submit(
    spec: TestSpec,
    server: SmtpServer,
    *,
    remote_target: str,
    own_domains: tuple[str, ...] = (),
    timeout: float = 30.0,
) -> None:
    """Send the test over SMTP; sets spec.submitted, queue_id and submit_reply, or SendError."""
    rcpt = check_target(
        spec.kind, spec.recipient, remote_target=remote_target, own_domains=own_domains
    )
    if server.tls == "plain" and not _loopback(server.host):
        raise SendError(
            f"refusing to log in to {server.host} without TLS; set [smtp] tls to starttls or ssl"
        )
    if not server.host or not server.user:
        raise SendError("no sender mailbox: set [smtp] host, user and password in the config")
    where = f"{server.host}:{server.port}"
    try:
        context = ssl.create_default_context(cafile=server.ca or None)
    except (OSError, ssl.SSLError) as exc:
        raise SendError(f"cannot read the CA file {server.ca}: {_one_line(exc)}") from None
    msg = compose(spec)
    try:
        smtp: smtplib.SMTP
        if server.tls == "ssl":
            smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(server.host, server.port, timeout=timeout)
        with smtp:
            smtp.ehlo()
            if server.tls == "starttls":
                if not smtp.has_extn("starttls"):
                    raise SendError(f"{where} offers no STARTTLS; refusing to send the password")
                smtp.starttls(context=context)
                smtp.ehlo()
            smtp.login(server.user, server.password)
            code, reply = smtp.mail(spec.sender)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, reply, spec.sender)
            code, reply = smtp.rcpt(rcpt)
            if code not in (250, 251):
                raise smtplib.SMTPRecipientsRefused({rcpt: (code, reply)})
            code, reply = smtp.data(msg.as_bytes())
            if code != 250:
                raise smtplib.SMTPDataError(code, reply)
    except SendError:
        raise
    except ssl.SSLCertVerificationError as exc:
        raise SendError(
            f"{where}: certificate not trusted ({exc.verify_message}); set [smtp] ca"
        ) from None
    except smtplib.SMTPAuthenticationError as exc:
        raise SendError(
            f"login as {server.user} at {where} failed ({_one_line(exc)}); check the password"
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        code, why = next(iter(exc.recipients.values()))
        reply_text = why.decode("utf-8", "replace") if isinstance(why, bytes) else str(why)
        raise SendError(f"{where} refused the recipient {rcpt}: {code} {reply_text}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise SendError(f"cannot submit to {where}: {_one_line(exc)}") from None
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    spec.submitted = time.time()
    spec.submit_reply = " ".join(text.split())[:200]
    m = _QUEUED.search(text)
    spec.queue_id = m.group(1) if m else None


def send_ses_api(
    spec: TestSpec,
    *,
    region: str,
    client: Any = None,
) -> None:
    """Send the test through the SES API (SESv2 SendEmail with raw content)."""
    check_target(spec.kind, spec.recipient)
    if client is None:
        try:
            import boto3
        except ImportError:
            raise SendError("ses_route api needs boto3: pip install 'dsnwatch[ses]'") from None
        client = boto3.client("sesv2", region_name=region or None)
    try:
        answer = client.send_email(
            FromEmailAddress=spec.sender,
            Destination={"ToAddresses": [spec.recipient]},
            Content={"Raw": {"Data": compose(spec).as_bytes()}},
        )
    except Exception as exc:  # botocore's errors, whatever their class
        raise SendError(f"SES refused the test: {_one_line(exc)}") from None
    spec.submitted = time.time()
    spec.submit_reply = str(answer.get("MessageId", ""))
