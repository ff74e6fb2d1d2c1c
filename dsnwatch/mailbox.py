"""The mailbox watcher: the central mailbox over IMAP, into the reader and the store.

It resumes by UIDVALIDITY and UID (a restart fetches only what is new), waits
for new mail with IDLE (or polls where the server has none), and reconnects
with backoff. Each message is fetched once, in batches, read by the DSN reader
and stored; progress and connection state are reported through callbacks so
that the console and the CLI show the same thing.
"""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from dsnwatch.imapfetch import WHOLE_LIMIT, fetch_for_reader
from dsnwatch.model import Report
from dsnwatch.readpool import Job, ReaderPool, cores, read_all
from dsnwatch.store import Store, Where

TlsMode = Literal["ssl", "starttls", "plain"]

BATCH = 200
IDLE_RESTART = 25 * 60  # RFC 2177: re-issue IDLE well before 29 minutes
IDLE_CHECK = 1.0  # seconds each IDLE poll waits (how soon a stop is noticed)
EOF_CHECKS = 3  # empty IDLE polls in a row that return at once: the connection is closed


class MailboxError(Exception):
    """The mailbox cannot be used; one line saying what to do."""


@dataclass(slots=True, frozen=True)
class ImapSettings:
    """How to reach the central mailbox."""

    host: str
    user: str
    password: str
    port: int = 993
    tls: TlsMode = "ssl"
    ca: str = ""  # a CA file to trust instead of the system's
    folder: str = "INBOX"
    verify: bool = True  # certificate and host name checks
    timeout: float = 30.0

    def __repr__(self) -> str:  # never show the password
        return (
            f"ImapSettings(host={self.host!r}, port={self.port}, user={self.user!r},"
            f" tls={self.tls!r}, folder={self.folder!r})"
        )


@dataclass(slots=True, frozen=True)
class Progress:
    """Where a sync stands."""

    done: int
    total: int


StateCallback = Callable[[str, str], None]  # (state, one-line detail)
ReportCallback = Callable[[Where, Report], None]
ProgressCallback = Callable[[Progress], None]


def _ssl_context(settings: ImapSettings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=settings.ca or None)
    if not settings.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def connect(settings: ImapSettings) -> Any:
    """A logged-in IMAPClient; MailboxError with one line when that fails."""
    from imapclient import IMAPClient
    from imapclient.exceptions import IMAPClientError, LoginError

    where = f"{settings.host}:{settings.port}"
    try:
        context = _ssl_context(settings)
    except (OSError, ssl.SSLError) as exc:
        raise MailboxError(f"cannot read the CA file {settings.ca}: {exc}") from None
    try:
        client = IMAPClient(
            settings.host,
            port=settings.port,
            ssl=settings.tls == "ssl",
            ssl_context=context,
            timeout=settings.timeout,
        )
        if settings.tls == "starttls":
            client.starttls(context)
    except ssl.SSLCertVerificationError as exc:
        raise MailboxError(
            f"IMAP at {where}: certificate not trusted ({exc.verify_message}); set the CA file"
        ) from None
    except (OSError, ssl.SSLError, IMAPClientError) as exc:
        raise MailboxError(f"cannot reach IMAP at {where}: {_one_line(exc)}") from None
    try:
        client.login(settings.user, settings.password)
    except LoginError:
        _quietly_close(client)
        raise MailboxError(
            f"IMAP login as {settings.user} at {where} failed: check the user and password"
        ) from None
    except (OSError, IMAPClientError) as exc:
        _quietly_close(client)
        raise MailboxError(f"IMAP login at {where} failed: {_one_line(exc)}") from None
    return client


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _quietly_close(client: Any) -> None:
    try:
        client.logout()
    except Exception:
        with contextlib.suppress(Exception):
            client.shutdown()


def fetch_message(settings: ImapSettings, folder: str, uidvalidity: int, uid: int) -> bytes:
    """The stored bytes of one message, found by UIDVALIDITY and UID; MailboxError if gone."""
    client = connect(settings)
    try:
        try:
            info = client.select_folder(folder, readonly=True)
        except Exception as exc:
            raise MailboxError(f"cannot open folder {folder!r}: {_one_line(exc)}") from None
        if int(info[b"UIDVALIDITY"]) != uidvalidity:
            raise MailboxError(
                f"{folder} was renumbered (UIDVALIDITY changed); the message is gone"
            )
        fetched = client.fetch([uid], [f"BODY.PEEK[]<0.{WHOLE_LIMIT}>"])
        data = fetched.get(uid, {})
        raw = data.get(b"BODY[]<0>") or data.get(b"BODY[]")
        if raw is None:
            raise MailboxError(f"message {uid} is no longer in {folder}")
        return bytes(raw)
    finally:
        _quietly_close(client)


class MailboxWatcher:
    """Syncs the central mailbox into the store, then follows it."""

    def __init__(
        self,
        settings: ImapSettings,
        store: Store,
        *,
        on_report: ReportCallback | None = None,
        on_state: StateCallback | None = None,
        on_progress: ProgressCallback | None = None,
        poll_seconds: float = 30.0,
    ) -> None:
        self.settings = settings
        self.store = store
        self.on_report = on_report
        self.on_state = on_state
        self.on_progress = on_progress
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._client: Any = None
        self._readers = _Readers()

    # --- one-shot ----------------------------------------------------------

    def sync_once(self) -> int:
        """Connect, store every new message, disconnect; the number of messages read."""
        client = connect(self.settings)
        try:
            return self._sync(client)
        finally:
            _quietly_close(client)
            self._readers.close()

    def _select(self, client: Any) -> int:
        try:
            info = client.select_folder(self.settings.folder, readonly=True)
        except Exception as exc:
            raise MailboxError(
                f"cannot open folder {self.settings.folder!r}: {_one_line(exc)}"
            ) from None
        return int(info[b"UIDVALIDITY"])

    def _sync(self, client: Any) -> int:
        folder = self.settings.folder
        uidvalidity = self._select(client)
        state = self.store.sync_state(folder)
        last = state[1] if state and state[0] == uidvalidity else 0
        uids = [u for u in client.search(["UID", f"{last + 1}:*"]) if u > last]
        uids.sort()
        total = len(uids)
        if total:
            self._state("syncing", f"{total} new message(s) in {folder}")
        done = 0
        readers = self._readers
        readers.prepare(total)
        # While one batch is being read (by worker processes in a large sync), the next
        # one is fetched; a batch is stored, and the high-water mark moved, once read.
        pending: tuple[list[int], Callable[[], list[Report]]] | None = None
        for batch in [*_batches(uids, BATCH), []]:
            started = None
            if batch:
                fetched = fetch_for_reader(client, batch)
                jobs = [
                    (fetched.get(uid, b""), f"imap:{folder}/{uidvalidity}/{uid}") for uid in batch
                ]
                started = (batch, readers.read(jobs))
            if pending is not None:
                done_batch, result = pending
                items = [
                    (Where(folder, uidvalidity, uid), report)
                    for uid, report in zip(done_batch, result(), strict=True)
                ]
                self._store_batch(folder, uidvalidity, items)
                done += len(done_batch)
                if self.on_progress is not None:
                    self.on_progress(Progress(done, total))
            pending = started
        # The workers of a finished sync go; a sync cut short keeps them for the retry.
        readers.close()
        if state is None or state[0] != uidvalidity:
            self.store.set_sync_state(folder, uidvalidity, uids[-1] if uids else last)
        return total

    def _store_batch(
        self, folder: str, uidvalidity: int, items: list[tuple[Where, Report]]
    ) -> None:
        # One transaction per batch; the high-water mark moves only once it is stored.
        self.store.add_reports(items)
        self.store.set_sync_state(folder, uidvalidity, items[-1][0].uid)
        if self.on_report is not None:
            for where, report in items:
                self.on_report(where, report)

    # --- following --------------------------------------------------------

    def stop(self) -> None:
        """Ask `run` to return soon (safe from any thread)."""
        self._stop.set()

    def run(self) -> None:
        """Sync, then wait for new mail until stopped; reconnects with backoff."""
        delay = 1.0
        while not self._stop.is_set():
            try:
                self._state("connecting", f"{self.settings.host}:{self.settings.port}")
                client = connect(self.settings)
                self._client = client
                delay = 1.0
                try:
                    self._sync(client)
                    self._follow(client)
                finally:
                    self._client = None
                    _quietly_close(client)
            except MailboxError as exc:
                self._state("error", str(exc))
                if "login" in str(exc) or "certificate" in str(exc):
                    delay = max(delay, 30.0)  # a wrong password will not fix itself soon
            except (TimeoutError, OSError, ssl.SSLError) as exc:
                self._state("reconnecting", f"connection lost: {_one_line(exc)}")
            except Exception as exc:
                self._state("reconnecting", f"IMAP error: {_one_line(exc)}")
            if self._stop.is_set():
                break
            self._state("reconnecting", f"retry in {delay:.0f}s")
            self._stop.wait(delay)
            delay = min(delay * 2, 60.0)
        self._readers.close()
        self._state("stopped", "")

    def _follow(self, client: Any) -> None:
        if client.has_capability("IDLE"):
            self._idle(client)
        else:
            self._poll(client)

    def _idle(self, client: Any) -> None:
        while not self._stop.is_set():
            self._state("idle", f"waiting for new mail in {self.settings.folder}")
            client.idle()
            started = time.monotonic()
            # New mail that arrived between the last search and the IDLE continuation is
            # announced before "+ idling": imaplib files that EXISTS away where idle_check
            # never looks, and the watcher would wait for the next message to see it.
            news = _exists_before_idle(client)
            early = 0  # empty answers long before the timeout: the socket is at EOF
            try:
                while (
                    not news
                    and not self._stop.is_set()
                    and time.monotonic() - started < IDLE_RESTART
                ):
                    asked = time.monotonic()
                    responses = client.idle_check(timeout=IDLE_CHECK)
                    if any(_is_bye(r) for r in responses):
                        raise ConnectionError(
                            f"the server ended the session: {_bye_text(responses)}"
                        )
                    if any(_is_new_mail(r) for r in responses):
                        news = True
                        break
                    # idle_check swallows EOF: a closed socket polls readable at once and
                    # yields nothing, so without this the watcher would wait on a dead
                    # connection until the next IDLE restart, 25 minutes later.
                    if not responses and time.monotonic() - asked < IDLE_CHECK / 4:
                        early += 1
                        if early >= EOF_CHECKS:
                            raise ConnectionError("the server closed the connection")
                    else:
                        early = 0
            except ConnectionError:
                raise  # the session is gone: there is no IDLE to end
            except BaseException:
                with contextlib.suppress(Exception):
                    client.idle_done()
                raise
            _text, responses = _done(client.idle_done())
            if news or any(_is_new_mail(r) for r in responses):
                self._sync(client)

    def _poll(self, client: Any) -> None:
        while not self._stop.is_set():
            self._state("polling", f"every {self.poll_seconds:g}s")
            if self._stop.wait(self.poll_seconds):
                return
            client.noop()
            self._sync(client)

    def _state(self, state: str, detail: str) -> None:
        if self.on_state is not None:
            self.on_state(state, detail)


def _exists_before_idle(client: Any) -> bool:
    """True when the server announced new mail while IDLE was being started."""
    imap = getattr(client, "_imap", None)
    untagged = getattr(imap, "untagged_responses", None)
    if not isinstance(untagged, dict):
        return False
    return untagged.pop("EXISTS", None) is not None


def _done(result: Any) -> tuple[Any, list[Any]]:
    """idle_done's (text, responses); anything else counts as no responses."""
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], list):
        return result[0], result[1]
    return result, []


def _is_bye(response: Any) -> bool:
    return isinstance(response, tuple) and len(response) >= 1 and response[0] == b"BYE"


def _bye_text(responses: list[Any]) -> str:
    for response in responses:
        if _is_bye(response) and len(response) > 1:
            return (
                bytes(response[1]).decode("utf-8", "replace")[:200]
                if isinstance(response[1], bytes)
                else str(response[1])[:200]
            )
    return "BYE"


# A sync of this many messages or more is read in worker processes, one per core.
PARALLEL_FROM = 1_000


class _Readers:
    """The DSN reader of one watcher: in this process, or, once a sync is large, in
    worker processes (one per core) while this one talks IMAP and writes the store.

    The workers are started by a large sync and end with it; when the connection is
    lost in the middle, they are kept, and the sync that resumes after the reconnect
    goes on with them instead of waiting for new ones.
    """

    def __init__(self) -> None:
        self._pool: ReaderPool | None = None
        self._lock = threading.Lock()

    def prepare(self, total: int) -> None:
        """Start the workers when a sync of `total` messages is worth them."""
        workers = cores()
        if total < PARALLEL_FROM or workers < 2:
            return
        with self._lock:
            if self._pool is None:
                self._pool = ReaderPool(workers)

    def read(self, jobs: list[Job]) -> Callable[[], list[Report]]:
        """Start reading a batch; the function returned gives its reports, in order."""
        pool = self._pool
        if pool is None:
            reports = read_all(jobs)
            return lambda: reports
        return pool.read(jobs)

    def close(self) -> None:
        """End the workers, if any (without waiting for them)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()


def _is_new_mail(response: Any) -> bool:
    return isinstance(response, tuple) and len(response) >= 2 and response[1] == b"EXISTS"


def _batches(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
