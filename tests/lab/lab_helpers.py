"""Mail and log helpers of the lab tests: real SMTP, IMAP and the Docker log stream."""

from __future__ import annotations

import email.utils
import queue
import re
import smtplib
import ssl
import threading
import time
import uuid
from dataclasses import dataclass
from email.message import EmailMessage, Message
from email.policy import default as default_policy
from typing import Any

from dsnwatch.lab import Lab

# -- mail helpers -----------------------------------------------------------------


def new_token() -> str:
    """A unique word to find one test's messages by."""
    return f"t{uuid.uuid4().hex[:16]}"


def tls_context(lab: Lab) -> ssl.SSLContext:
    """A client context that trusts the lab CA only, with host names checked."""
    return ssl.create_default_context(cafile=str(lab.settings.ca_file))


def send(
    lab: Lab,
    to: str,
    token: str,
    *,
    user: str = "alice",
    body: str = "hello",
    subject: str | None = None,
) -> str:
    """Submit one message (STARTTLS, verified, AUTH) and return its Message-ID."""
    settings = lab.settings
    msg = EmailMessage()
    msg["From"] = settings.address(user)
    msg["To"] = to
    msg["Subject"] = subject or f"lab test {token}"
    msg_id = f"<{token}@{settings.address(user).split('@')[1]}>"
    msg["Message-ID"] = msg_id
    msg["Date"] = email.utils.formatdate(localtime=True)
    msg.set_content(f"{body}\n{token}\n")
    for attempt in range(5):
        try:
            with smtplib.SMTP("127.0.0.1", settings.port("submission"), timeout=30) as smtp:
                smtp.starttls(context=tls_context(lab))
                smtp.login(settings.address(user), settings.password(user))
                smtp.send_message(msg)
            break
        except smtplib.SMTPAuthenticationError as exc:
            # Right after Dovecot restarts, Postfix's first SASL call meets the old,
            # closed auth socket and answers 454: a temporary failure, as it says.
            if exc.smtp_code != 454 or attempt == 4:
                raise
            time.sleep(1.0)
    return msg_id


def imap_login(lab: Lab, user: str) -> Any:
    """An IMAP session over TLS (verified against the lab CA) as a lab user."""
    from imapclient import IMAPClient

    client = IMAPClient(
        "127.0.0.1", port=lab.settings.port("imaps"), ssl=True, ssl_context=tls_context(lab)
    )
    client.login(lab.settings.address(user), lab.settings.password(user))
    return client


def wait_for_messages(
    lab: Lab,
    user: str,
    token: str,
    *,
    folder: str = "INBOX",
    count: int = 1,
    timeout: float = 45.0,
    exclude_own: bool = False,
) -> list[Message]:
    """Messages in a user's folder that mention `token`, once `count` have arrived."""
    deadline = time.monotonic() + timeout
    found: list[Message] = []
    client = imap_login(lab, user)
    try:
        while True:
            client.select_folder(folder, readonly=True)
            uids = client.search(["TEXT", token])
            found = []
            if uids:
                data = client.fetch(uids, ["RFC822"])
                for uid in sorted(data):
                    msg = email.message_from_bytes(data[uid][b"RFC822"], policy=default_policy)
                    if exclude_own and token in str(msg.get("Message-ID", "")):
                        continue
                    found.append(msg)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{len(found)} of {count} message(s) with {token} in {user}'s {folder}"
                    f" after {timeout:.0f}s"
                )
            time.sleep(0.3)
    finally:
        client.logout()


def count_messages(lab: Lab, user: str, token: str, folder: str = "INBOX") -> int:
    """How many messages in a user's folder mention `token`, right now."""
    client = imap_login(lab, user)
    try:
        client.select_folder(folder, readonly=True)
        return len(client.search(["TEXT", token]))
    finally:
        client.logout()


def sender_of(msg: Message) -> str:
    """The address in a message's From header."""
    return email.utils.parseaddr(str(msg.get("From", "")))[1]


def report_fields(msg: Message, content_type: str) -> list[dict[str, str]]:
    """The field groups of a report part (message/delivery-status, .../feedback-report)."""
    for part in msg.walk():
        if part.get_content_type() != content_type:
            continue
        payload = part.get_payload()
        blocks: list[Any] = payload if isinstance(payload, list) else [payload]
        groups: list[dict[str, str]] = []
        for block in blocks:
            if isinstance(block, Message):
                groups.append({k.lower(): str(v) for k, v in block.items()})
            else:
                for chunk in re.split(r"\r?\n\r?\n", str(block)):
                    fields = dict(
                        (k.strip().lower(), v.strip())
                        for k, _, v in (line.partition(":") for line in chunk.splitlines())
                        if v
                    )
                    if fields:
                        groups.append(fields)
        return groups
    raise AssertionError(f"no {content_type} part")


# -- log helpers ------------------------------------------------------------------


@dataclass
class LogFollower:
    """Lines of one container's log, followed live through the Docker API."""

    container: Any
    lines: queue.Queue[str]
    seen: list[str]
    stream: Any

    def wait_for(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        """The first line (seen so far or arriving) that matches `pattern`."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        for line in self.seen:
            match = regex.search(line)
            if match:
                return match
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                tail = "\n".join(self.seen[-15:])
                raise AssertionError(
                    f"no log line of {self.container.name} matches {pattern}:\n{tail}"
                )
            try:
                line = self.lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            self.seen.append(line)
            match = regex.search(line)
            if match:
                return match


def follow_logs(container: Any, since: float) -> LogFollower:
    """Follow a container's log from `since` (epoch seconds) in a thread."""
    stream = container.logs(stream=True, follow=True, since=int(since) - 1)
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        buf = b""
        try:
            for chunk in stream:
                buf += chunk
                while b"\n" in buf:
                    raw, buf = buf.split(b"\n", 1)
                    lines.put(raw.decode("utf-8", "replace").rstrip("\r"))
        except Exception:
            return

    threading.Thread(target=pump, daemon=True).start()
    return LogFollower(container, lines, [], stream)
