"""What flows through the lab during the fault run: test mail, reports, a host log file.

Every recipient passes the test launcher's target rules (`check_target`): an
`.invalid` address, the lab's remote domain or the SES stand-in's simulator, so
the stream can never reach anyone.
"""

from __future__ import annotations

import email.utils
import os
import smtplib
import ssl
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from dsnwatch.config import Config
from dsnwatch.mailbox import ImapSettings, connect
from dsnwatch.tester.targets import SES_SIMULATOR, check_target

KINDS = ("local", "remote", "ses")


def recipient(kind: str, token: str, n: int, remote_domain: str) -> str:
    """A fresh address that must bounce, checked against the target rules."""
    address = {
        "local": f"nobody-{token}-{n}@faults.invalid",
        "remote": f"dsnwatch-nonexistent-{token}-{n}@{remote_domain}",
        "ses": f"bounce+{token}-{n}@{SES_SIMULATOR}",
    }[kind]
    return check_target(kind, address, remote_target=remote_domain)


@dataclass(slots=True)
class StreamCounts:
    """What the mail stream handed over, and what the lab refused while it was down."""

    sent: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    failed: int = 0
    last_error: str = ""


class MailStream:
    """Submits a test message every `interval` seconds, up to `limit`, until stopped."""

    def __init__(self, cfg: Config, token: str, *, interval: float = 1.5, limit: int = 400) -> None:
        self.cfg = cfg
        self.token = token
        self.interval = interval
        self.limit = limit
        self.counts = StreamCounts()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mail-stream", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.cfg.smtp_ca or None)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set() and n < self.limit:
            kind = KINDS[n % len(KINDS)]
            try:
                self._send_retrying(kind, n)
                self.counts.sent[kind] += 1
            except (OSError, smtplib.SMTPException) as exc:
                # The lab is down in the middle of a fault: that message is simply not sent.
                self.counts.failed += 1
                self.counts.last_error = str(exc).splitlines()[0][:200] if str(exc) else repr(exc)
            n += 1
            self._stop.wait(self.interval)

    def _send_retrying(self, kind: str, n: int) -> None:
        """Send; a 4xx answer (Postfix's auth link to a restarted Dovecot) is tried again."""
        for attempt in range(3):
            try:
                self._send(kind, n)
                return
            except smtplib.SMTPResponseException as exc:
                if not 400 <= exc.smtp_code < 500 or attempt == 2 or self._stop.is_set():
                    raise
                self._stop.wait(1.0)

    def _send(self, kind: str, n: int) -> None:
        cfg = self.cfg
        to = recipient(kind, self.token, n, cfg.remote_target)
        msg = EmailMessage()
        msg["From"] = cfg.smtp_user
        msg["To"] = to
        msg["Subject"] = f"dsnwatch fault run {kind} {self.token} {n}"
        msg["Message-ID"] = f"<fault-{self.token}-{n}@{cfg.smtp_user.rpartition('@')[2]}>"
        msg["Date"] = email.utils.formatdate(localtime=True)
        msg["X-Dsnwatch-Test"] = f"{kind} {self.token}"
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(f"A fault-run test message; it must bounce.\n{self.token} {n}\n")
        with smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=10) as smtp:
            smtp.starttls(context=self._context())
            smtp.login(cfg.smtp_user, cfg.smtp_password)
            # The envelope goes to the checked address only, whatever the headers say.
            smtp.send_message(
                msg, to_addrs=[check_target(kind, to, remote_target=cfg.remote_target)]
            )


def report_bytes(token: str, n: int) -> bytes:
    """A Postfix-style DSN for a unique recipient at the lab's remote domain."""
    rcpt = f"gone-{n}@remote.test"
    boundary = f"B{token}{n}"
    return (
        "From: MAILER-DAEMON@mail.lab.test (Mail Delivery System)\r\n"
        "To: dsn-monitor@lab.test\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <report-{token}-{n}@mail.lab.test>\r\n"
        "Date: Thu, 03 Dec 2026 10:00:00 +0000\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n'
        "\r\n"
        f"--{boundary}\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
        f"<{rcpt}>: host mx.remote.test said: 550 5.1.1 user unknown\r\n\r\n"
        f"--{boundary}\r\n"
        "Content-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mail.lab.test\r\n\r\n"
        f"Final-Recipient: rfc822; {rcpt}\r\n"
        "Action: failed\r\n"
        "Status: 5.1.1\r\n"
        "Remote-MTA: dns; mx.remote.test\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
        f"--{boundary}\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n"
        "From: alice@lab.test\r\n"
        f"To: {rcpt}\r\n"
        f"Message-ID: <orig-{token}-{n}@lab.test>\r\n"
        f"Subject: fault run {n}\r\n\r\n"
        f"--{boundary}--\r\n"
    ).encode()


def fill(settings: ImapSettings, token: str, count: int, batch: int = 500) -> int:
    """Append `count` reports to the watched folder with MULTIAPPEND; how many went in."""
    client = connect(settings)
    done = 0
    try:
        while done < count:
            size = min(batch, count - done)
            client.multiappend(
                settings.folder, [report_bytes(token, done + i) for i in range(size)]
            )
            done += size
    finally:
        try:
            client.logout()
        except Exception:
            client.shutdown()
    return done


class RotatingLog:
    """A host log file the run writes and rotates as logrotate (without copytruncate) does."""

    def __init__(self, path: Path, token: str, interval: float = 0.05) -> None:
        self.path = path
        self.token = token
        self.interval = interval
        self.written: list[str] = []
        self.rotations = 0
        self._rotate = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rotating-log", daemon=True)

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def rotate(self) -> None:
        """Rename the file away; the writer goes on in the old one briefly, then reopens."""
        self._rotate.set()

    def _line(self, n: int) -> str:
        stamp = time.strftime("%b %e %H:%M:%S", time.localtime())
        return f"{stamp} faults postfix/smtp[{os.getpid()}]: FAULT{n:06d}: to=<nobody-{n}@faults.invalid>, status=bounced ({self.token} line {n})"

    def _run(self) -> None:
        n = 0
        handle = self.path.open("a", encoding="utf-8")
        reopen_at: float | None = None
        try:
            while not self._stop.is_set():
                if self._rotate.is_set():
                    self._rotate.clear()
                    self.rotations += 1
                    self.path.replace(self.path.with_name(f"{self.path.name}.{self.rotations}"))
                    reopen_at = time.monotonic() + 0.5  # a daemon reopens on its signal, later
                if reopen_at is not None and time.monotonic() >= reopen_at:
                    handle.close()
                    handle = self.path.open("a", encoding="utf-8")
                    reopen_at = None
                line = self._line(n)
                handle.write(line + "\n")
                handle.flush()
                self.written.append(line)
                n += 1
                self._stop.wait(self.interval)
        finally:
            handle.close()
