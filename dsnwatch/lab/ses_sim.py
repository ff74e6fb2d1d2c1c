"""The lab's Amazon SES stand-in: answers like the SES mailbox simulator.

Postfix in the lab's `ses` container hands every message for
`*@simulator.amazonses.com` to this program (a pipe transport). It answers the
way SES email feedback forwarding does, into the original sender's mailbox:

- `bounce@`: a DSN from `MAILER-DAEMON@amazonses.com` (550 5.1.1 user unknown);
- `suppressionlist@`: the same DSN for an address on the suppression list;
- `complaint@`: an ARF complaint from `complaints@email-abuse.amazonses.com`;
- `ooto@`: an out-of-office auto-reply (RFC 3834);
- `success@` (and anything else): accepted, nothing comes back.

Labels work as at SES (`bounce+label@...`). This file runs inside the lab image
with the standard library only, and is importable for tests.
"""

from __future__ import annotations

import argparse
import email.utils
import random
import smtplib
import sys
import time
import uuid
from email import message_from_bytes
from email.message import Message
from email.policy import compat32

SIMULATOR_DOMAIN = "simulator.amazonses.com"
EX_OK = 0
EX_TEMPFAIL = 75


def _ses_message_id(region: str = "us-east-1") -> str:
    stamp = f"{int(time.time() * 1000):016x}"
    domain = "email.amazonses.com" if region == "us-east-1" else f"{region}.amazonses.com"
    return f"<{stamp}-{uuid.uuid4()}-000000@{domain}>"


def _boundary() -> str:
    part = random.randint(100000, 999999)
    serial = random.randint(10**8, 10**9 - 1)
    return f"----=_Part_{part}_{serial}.{int(time.time() * 1000)}"


def _outgoing_ip() -> str:
    return f"54.240.{random.randint(0, 15)}.{random.randint(1, 254)}"


def mailbox_of(recipient: str) -> str:
    """The simulator mailbox of an address: `bounce+label@...` gives `bounce`."""
    local = recipient.rsplit("@", 1)[0].lower()
    return local.split("+", 1)[0]


def _header(original: Message, name: str, default: str = "") -> str:
    value = original.get(name)
    return str(value) if value is not None else default


def _crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8", "replace")


def _original_text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace").replace("\r\n", "\n").rstrip("\n")


def build_bounce(
    raw: bytes, sender: str, recipient: str, *, suppressed: bool = False
) -> tuple[str, bytes]:
    """The DSN SES forwards for a hard bounce: (envelope sender, message bytes)."""
    boundary = _boundary()
    now = email.utils.formatdate(usegmt=True)
    ip = _outgoing_ip()
    if suppressed:
        diagnostic = (
            "smtp; 550 5.1.1 Amazon SES did not send the message to this address because it is"
            " on the suppression list for your account."
        )
    else:
        diagnostic = "smtp; 550 5.1.1 user unknown"
    text = f"""From: MAILER-DAEMON@amazonses.com
To: {sender}
Message-ID: {_ses_message_id()}
Subject: Delivery Status Notification (Failure)
MIME-Version: 1.0
Content-Type: multipart/report;
	boundary="{boundary}";
	report-type=delivery-status
Date: {now}
X-SES-Outgoing: {time.strftime("%Y.%m.%d", time.gmtime())}-{ip}

--{boundary}
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit
Content-Description: Notification

An error occurred while trying to deliver the mail to the following recipients:
{recipient}
--{boundary}
Content-Type: message/delivery-status
Content-Transfer-Encoding: 7bit
Content-Description: Delivery Status Notification

Reporting-MTA: dsn; a{random.randint(8, 48)}-{random.randint(1, 250)}.smtp-out.amazonses.com

Action: failed
Final-Recipient: rfc822; {recipient}
Diagnostic-Code: {diagnostic}
Status: 5.1.1


--{boundary}
Content-Type: message/rfc822
Content-Description: Undelivered Message

{_original_text(raw)}

--{boundary}--
"""
    return "", _crlf(text)


def build_complaint(raw: bytes, sender: str, recipient: str) -> tuple[str, bytes]:
    """The ARF report SES forwards for a complaint: (envelope sender, message bytes)."""
    original = message_from_bytes(raw, policy=compat32)
    boundary = _boundary()
    now = email.utils.formatdate(usegmt=True)
    subject = _header(original, "Subject", "(no subject)")
    sender_domain = sender.rsplit("@", 1)[-1] if "@" in sender else sender
    ip = _outgoing_ip()
    text = f"""From: complaints@email-abuse.amazonses.com
To: {sender}
Message-ID: {_ses_message_id()}
Subject: Fw: {subject}
MIME-Version: 1.0
Content-Type: multipart/report;
	boundary="{boundary}";
	report-type=feedback-report
Date: {now}
X-SES-Outgoing: {time.strftime("%Y.%m.%d", time.gmtime())}-{ip}

--{boundary}
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

This is an email abuse report for an email message from amazonses.com on {now}
--{boundary}
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: Yahoo!-Mail-Feedback/2.0
Version: 0.1
Original-Mail-From: <{sender}>
Original-Rcpt-To: <{recipient}>
Received-Date: {now}
Reported-Domain: {sender_domain}
Authentication-Results: email-abuse.amazonses.com; spf=pass smtp.mailfrom={sender}
Source-IP: {ip}

--{boundary}
Content-Type: message/rfc822
Content-Disposition: inline

{_original_text(raw)}

--{boundary}--
"""
    return "no-reply@amazonses.com", _crlf(text)


def build_auto_reply(raw: bytes, sender: str, recipient: str) -> tuple[str, bytes]:
    """The out-of-office reply of `ooto@` (RFC 3834): (envelope sender, message bytes)."""
    original = message_from_bytes(raw, policy=compat32)
    subject = _header(original, "Subject", "(no subject)")
    message_id = _header(original, "Message-ID")
    now = email.utils.formatdate(usegmt=True)
    threading = ""
    if message_id:
        threading = f"In-Reply-To: {message_id}\nReferences: {message_id}\n"
    text = f"""From: {recipient}
To: {sender}
Subject: Out of the Office: {subject}
Date: {now}
Message-ID: {_ses_message_id()}
{threading}Auto-Submitted: auto-replied
Precedence: bulk
X-Autoreply: yes
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

I am out of the office until further notice and will reply when I return.

This is an automatic reply from the Amazon SES mailbox simulator.
"""
    return "", _crlf(text)


def answer(raw: bytes, sender: str, recipient: str) -> tuple[str, bytes] | None:
    """What SES sends back for one simulator recipient, or None for nothing."""
    box = mailbox_of(recipient)
    if box == "bounce":
        return build_bounce(raw, sender, recipient)
    if box == "suppressionlist":
        return build_bounce(raw, sender, recipient, suppressed=True)
    if box == "complaint":
        return build_complaint(raw, sender, recipient)
    if box == "ooto":
        return build_auto_reply(raw, sender, recipient)
    return None


def _log(text: str) -> None:
    try:
        import syslog

        syslog.openlog("ses-simulator", syslog.LOG_PID, syslog.LOG_MAIL)
        syslog.syslog(syslog.LOG_INFO, text)
    except OSError:
        print(text, file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Read one message on standard input and send SES's answer back."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sender", default="")
    parser.add_argument("--recipient", required=True)
    args = parser.parse_args(argv)
    raw = sys.stdin.buffer.read()
    sender = args.sender
    recipient = args.recipient
    box = mailbox_of(recipient)
    if not sender or sender.lower() == "mailer-daemon":
        _log(f"to=<{recipient}>: null sender, no feedback sent")
        return EX_OK
    reply = answer(raw, sender, recipient)
    if reply is None:
        _log(f"to=<{recipient}>: simulator={box}, delivered, no feedback")
        return EX_OK
    envelope_from, message = reply
    try:
        with smtplib.SMTP(
            args.host, args.port, local_hostname="a8-95.smtp-out.amazonses.com"
        ) as smtp:
            smtp.sendmail(envelope_from, [sender], message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        if all(code >= 500 for code in codes):
            _log(f"to=<{recipient}>: simulator={box}, feedback to <{sender}> refused: {codes}")
            return EX_OK
        _log(f"to=<{recipient}>: simulator={box}, feedback to <{sender}> deferred: {codes}")
        return EX_TEMPFAIL
    except (OSError, smtplib.SMTPException) as exc:
        _log(f"to=<{recipient}>: simulator={box}, feedback to <{sender}> deferred: {exc}")
        return EX_TEMPFAIL
    kind = {"bounce": "bounce", "suppressionlist": "bounce", "complaint": "complaint"}.get(
        box, "auto-reply"
    )
    _log(f"to=<{recipient}>: simulator={box}, {kind} sent to <{sender}> from <{envelope_from}>")
    return EX_OK


if __name__ == "__main__":
    sys.exit(main())
