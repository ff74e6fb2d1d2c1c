"""Log followers: the containers' logs through the Docker Engine API, or a host log file.

A follower runs in its own thread and hands what it reads to a queue; whoever
shows the lines drains the queue in batches (a console on a timer, the CLI in a
loop), so a busy server costs one hand-over per batch, not one per line.

The Docker follower asks for Docker's own timestamps and remembers the last one
it saw. After a restart or re-creation of the container, a restart of the engine
or a lost connection, it asks again from that timestamp and drops what it has
already seen, so no line is lost or shown twice. States (following,
reconnecting, container missing, stopped) arrive on the same queue.
"""

from __future__ import annotations

import contextlib
import os
import queue
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from dsnwatch.logs.events import LogEvent
from dsnwatch.logs.readers import read_line
from dsnwatch.runtime.base import RuntimeFailure, Service
from dsnwatch.runtime.docker import DockerRuntime


@dataclass(slots=True, frozen=True)
class FollowerState:
    """A change in a follower's connection: shown to the user as it happens."""

    source: str  # "dovecot", "postfix", or a file name
    state: str  # following, reconnecting, missing, stopped
    detail: str = ""


Item = LogEvent | FollowerState


class LogQueue:
    """What followers produce, drained in batches by the consumer."""

    def __init__(self, maxsize: int = 200_000) -> None:
        self._q: queue.Queue[Item] = queue.Queue(maxsize=maxsize)

    def put(self, item: Item) -> None:
        self._q.put(item)

    def drain(self, limit: int = 5_000, wait: float = 0.0) -> list[Item]:
        """Up to `limit` items; waits up to `wait` seconds for the first one."""
        items: list[Item] = []
        try:
            items.append(self._q.get(timeout=wait) if wait > 0 else self._q.get_nowait())
        except queue.Empty:
            return items
        while len(items) < limit:
            try:
                items.append(self._q.get_nowait())
            except queue.Empty:
                break
        return items


def parse_docker_time(stamp: str) -> float:
    """Seconds since the epoch of Docker's RFC 3339 nanosecond stamp (to the microsecond)."""
    head, _, frac = stamp.rstrip("Z").partition(".")
    base = datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp()
    return base + (float("0." + frac[:9]) if frac else 0.0)


class _Resume:
    """The last Docker timestamp seen, and the lines seen at exactly that stamp."""

    def __init__(self) -> None:
        self.stamp: str = ""
        self._first = ""  # the first line seen at `stamp`
        self._more: set[str] | None = None  # any others (rare: stamps are nanoseconds)

    def is_new(self, stamp: str, line: str) -> bool:
        # RFC 3339 stamps of one zone compare correctly as strings once the
        # fraction has the same width, which Docker's nanosecond stamps have.
        if not self.stamp or stamp > self.stamp:
            self.stamp = stamp
            self._first = line
            self._more = None
            return True
        if stamp != self.stamp or line == self._first:
            return False
        if self._more is None:
            self._more = {line}
            return True
        if line in self._more:
            return False
        self._more.add(line)
        return True

    def since(self) -> float | None:
        return parse_docker_time(self.stamp) if self.stamp else None


class LogStream:
    """A container's log as whole lines, read from the Engine API in large chunks.

    docker-py hands a non-TTY container's log over one frame (one line) at a
    time through several generator layers, and urllib3 one HTTP chunk (again one
    line) at a time, which costs more than reading the line does; this reads the
    HTTP body from the socket in large blocks, takes the chunks and then the
    frames apart in one loop each, and decodes each block's lines at once. A TTY
    container's log (dovecot-mailcow's) has no frames.
    """

    def __init__(self, container: Any, *, follow: bool, since: float | None = None) -> None:
        api = container.client.api
        params: dict[str, Any] = {
            "stdout": 1,
            "stderr": 1,
            "timestamps": 1,
            "follow": int(follow),
        }
        if since is not None:
            params["since"] = f"{since:.9f}"
        url = f"{api.base_url}/v{api.api_version}/containers/{container.id}/logs"
        # A log read to its end comes on a connection of its own that the engine closes
        # after the last line, so that it can be read in full 64 KiB blocks (a block
        # read would wait forever at the end of a kept-alive connection).
        headers = {} if follow else {"Connection": "close"}
        self._response = api.get(url, params=params, headers=headers, stream=True, timeout=None)
        self._response.raise_for_status()
        self._framed = not container.attrs.get("Config", {}).get("Tty", False)
        self._follow = follow

    def close(self) -> None:
        """End the stream (from any thread): the reading loop returns."""
        from docker.types.daemon import CancellableStream

        # docker-py's own way to shut the socket under a blocked read.
        with contextlib.suppress(Exception):
            CancellableStream(iter(()), self._response).close()
        with contextlib.suppress(Exception):
            self._response.close()

    def __iter__(self) -> Iterator[str]:
        for lines in self.batches():
            yield from lines

    def batches(self) -> Iterator[list[str]]:
        """The log as lists of whole lines, as they arrive (one list per read)."""
        chunks = _body(self._response, whole_blocks=not self._follow)
        try:
            yield from _lines(_unframe(chunks) if self._framed else chunks)
        finally:
            self.close()  # the connection is not left half read for the next request


def _body(response: Any, *, whole_blocks: bool = False) -> Iterator[bytes]:
    """The raw HTTP body in large reads.

    The engine flushes every log message on its own, so a chunked body holds one
    HTTP chunk per line, and urllib3 spends several function calls on each. The
    body is read here from the connection's buffered socket file instead, and the
    chunks are taken apart in one loop per read. Anything unexpected (no such file,
    a body already partly read) goes through urllib3 as before.

    A followed log is read as it comes (each read returns what has arrived); with
    `whole_blocks` each read waits for 64 KiB or the end of the connection, which
    costs far fewer reads when the engine writes line by line.
    """
    inner = getattr(response.raw, "_fp", None)
    sock_file = getattr(inner, "fp", None)
    read = getattr(sock_file, "read" if whole_blocks else "read1", None)
    if read is None or getattr(inner, "chunk_left", None) is not None:
        return response.raw.stream(1 << 16, decode_content=False)  # type: ignore[no-any-return]
    if getattr(inner, "chunked", False):
        return _dechunk(read)
    if getattr(inner, "length", None) is None:  # no framing: the body ends with the connection
        return iter(lambda: read(1 << 16), b"")
    return response.raw.stream(1 << 16, decode_content=False)  # type: ignore[no-any-return]


class StreamError(Exception):
    """The engine's answer is not what HTTP or Docker's log stream promise."""


def _dechunk(read: Callable[[int], bytes]) -> Iterator[bytes]:
    """The data of an HTTP/1.1 chunked body; returns at its last (empty) chunk."""
    buf = b""
    while True:
        data = read(1 << 16)
        if not data:
            if buf:
                raise StreamError("the connection closed inside a chunk")
            return  # closed (a follower being stopped) between chunks
        buf = buf + data if buf else data
        size = len(buf)
        pos = 0
        out: list[bytes] = []
        last = False
        while True:
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                break
            try:
                length = int(buf[pos:eol].partition(b";")[0], 16)
            except ValueError:
                raise StreamError(f"bad chunk size {bytes(buf[pos:eol])[:20]!r}") from None
            if length == 0:
                last = True
                break
            start = eol + 2
            end = start + length
            if end + 2 > size:
                break
            out.append(buf[start:end])
            pos = end + 2
        buf = buf[pos:]
        if out:
            yield b"".join(out)
        if last:
            return


_FRAME_SIZE = struct.Struct(">4xL").unpack_from


def _unframe(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The payloads of Docker's multiplexed stream (8-byte header, then the data)."""
    buf = b""
    for chunk in chunks:
        buf = buf + chunk if buf else chunk
        size = len(buf)
        pos = 0
        out: list[bytes] = []
        while size - pos >= 8:
            start = pos + 8
            end = start + _FRAME_SIZE(buf, pos)[0]
            if end > size:
                break
            out.append(buf[start:end])
            pos = end
        buf = buf[pos:]
        if out:
            yield b"".join(out)


def _lines(chunks: Iterator[bytes]) -> Iterator[list[str]]:
    """Whole lines from a stream of chunks, a list per chunk; a trailing \\r is dropped.

    Each run of whole lines is decoded at once: a newline never falls inside a UTF-8
    sequence, so that gives what decoding each line alone would.
    """
    rest = b""
    for chunk in chunks:
        data = rest + chunk if rest else chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            rest = data
            continue
        rest = data[cut + 1 :]
        text = data[:cut].decode("utf-8", "replace")
        lines = text.split("\n")
        if "\r" in text:
            lines = [line.rstrip("\r") for line in lines]
        yield lines
    if rest:
        yield [rest.decode("utf-8", "replace").rstrip("\r")]


class DockerLogFollower:
    """Follows dovecot-mailcow and postfix-mailcow through the Engine API."""

    def __init__(
        self,
        runtime: DockerRuntime,
        out: LogQueue,
        *,
        services: tuple[Service, ...] = ("dovecot", "postfix"),
        since: float | None = None,
        max_backoff: float = 10.0,
    ) -> None:
        self.runtime = runtime
        self.out = out
        self.services = services
        self.max_backoff = max_backoff
        self._since = since
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._wake = {s: threading.Event() for s in services}
        self._resume = {s: _Resume() for s in services}
        self._streams: dict[Service, Any] = {}

    def start(self) -> None:
        """Start one thread per service and one for the engine's events."""
        for service in self.services:
            t = threading.Thread(
                target=self._follow, args=(service,), name=f"logs-{service}", daemon=True
            )
            t.start()
            self._threads.append(t)
        t = threading.Thread(target=self._events, name="docker-events", daemon=True)
        t.start()
        self._threads.append(t)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop following; closes the open log streams so the threads return."""
        self._stop.set()
        for event in self._wake.values():
            event.set()
        for stream in list(self._streams.values()):
            with contextlib.suppress(Exception):  # closing a dead stream may fail any way
                stream.close()
        for t in self._threads:
            t.join(timeout)

    def last_stamp(self, service: Service) -> str:
        """The Docker timestamp of the last line seen from a service."""
        return self._resume[service].stamp

    def _state(self, service: Service, state: str, detail: str = "") -> None:
        self.out.put(FollowerState(service, state, detail))

    def _follow(self, service: Service) -> None:
        delay = 0.5
        resume = self._resume[service]
        last_state = ""
        while not self._stop.is_set():
            try:
                container = self.runtime.container(service, refresh=True)
                container.reload()
                if container.status != "running":
                    raise _NotRunning(f"{container.name} is {container.status}")
                stream = LogStream(container, follow=True, since=resume.since() or self._since)
                self._streams[service] = stream
                self._state(service, "following", container.name)
                last_state = "following"
                delay = 0.5
                stopping = self._stop.is_set
                for line in stream:
                    if stopping():
                        break
                    if not resume.is_new(line.partition(" ")[0], line):
                        continue
                    event = read_line(line)
                    if not event.service:
                        event.service = service
                    self.out.put(event)
                self._streams.pop(service, None)
                if self._stop.is_set():
                    break
                # The stream ended: the container stopped or is being re-created.
                self._state(service, "reconnecting", "log stream ended")
                last_state = "reconnecting"
            except (RuntimeFailure, _NotRunning) as exc:
                if last_state != "missing":
                    self._state(service, "missing", str(exc))
                    last_state = "missing"
            except Exception as exc:
                if last_state != "reconnecting":
                    self._state(service, "reconnecting", _one_line(exc))
                    last_state = "reconnecting"
                self.runtime.forget_client()
            self._wake[service].wait(delay)
            self._wake[service].clear()
            delay = min(delay * 2, self.max_backoff)
        self._state(service, "stopped")

    def _events(self) -> None:
        """Wake a follower as soon as its container starts again."""
        from dsnwatch.runtime.docker import SERVICE_LABEL, compose_service

        names = {compose_service(s): s for s in self.services}
        while not self._stop.is_set():
            try:
                stream = self.runtime.client.events(
                    decode=True,
                    filters={"type": "container", "event": ["start", "restart"]},
                )
                self._streams["events"] = stream  # type: ignore[index]
                for event in stream:
                    if self._stop.is_set():
                        break
                    labels = event.get("Actor", {}).get("Attributes", {})
                    service = names.get(str(labels.get(SERVICE_LABEL, "")))
                    if service is not None:
                        self._wake[service].set()
            except Exception:
                self.runtime.forget_client()
            self._stop.wait(2.0)


class _NotRunning(Exception):
    pass


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


class FileLogFollower:
    """Follows a host log file across rotation (rename or truncation)."""

    def __init__(
        self,
        path: Path,
        out: LogQueue,
        *,
        from_start: bool = False,
        poll: float = 0.2,
        reader: Callable[[str], LogEvent] = read_line,
        grace: float = 5.0,
    ) -> None:
        self.path = path
        self.out = out
        self.from_start = from_start
        self.poll = poll
        self.reader = reader
        self.grace = grace
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name=f"file-{self.path.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @staticmethod
    def _rewritten(handle: Any, head: bytes) -> bool:
        return _rewritten_head(handle.fileno(), head)

    def run(self) -> None:
        """Read new lines until stopped; reopen the file when it is rotated."""
        source = self.path.name
        handle = None
        inode = None
        rest = b""
        head = b""  # the file's first bytes: a different start means a new file
        first = True
        # A rotated file, still read: its writer goes on until it reopens the log (on
        # logrotate's signal, often seconds later), and those lines exist nowhere else.
        old: _Rotated | None = None
        while not self._stop.is_set():
            if old is not None and old.drain(self._emit, self.grace):
                old = None
            if handle is None:
                try:
                    handle = self.path.open("rb")
                except OSError as exc:
                    self.out.put(FollowerState(source, "missing", _one_line(exc)))
                    self._stop.wait(1.0)
                    continue
                inode = os.fstat(handle.fileno()).st_ino
                if first and not self.from_start:
                    handle.seek(0, os.SEEK_END)
                first = False
                rest = b""
                head = os.pread(handle.fileno(), _FINGERPRINT, 0)
                self.out.put(FollowerState(source, "following", str(self.path)))
            chunk = handle.read(1 << 16)
            if chunk:
                if len(head) < _FINGERPRINT:
                    head = os.pread(handle.fileno(), _FINGERPRINT, 0)
                rest += chunk
                *whole, rest = rest.split(b"\n")
                for raw in whole:
                    self.out.put(self.reader(raw.decode("utf-8", "replace")))
                continue
            # Nothing new: has the file been rotated or truncated?
            try:
                now = os.stat(self.path)
            except OSError:
                now = None
            if now is None or now.st_ino != inode:
                if old is not None:
                    old.close(self._emit)
                old = _Rotated(handle, rest, time.monotonic())
                handle = None
                self.out.put(FollowerState(source, "reconnecting", "file rotated"))
                continue
            if now.st_size < handle.tell() or self._rewritten(handle, head):
                # copytruncate: the same file, cut and perhaps already written again.
                handle.seek(0)
                rest = b""
                head = b""
                self.out.put(FollowerState(source, "reconnecting", "file truncated"))
                continue
            self._stop.wait(self.poll)
        if old is not None:
            old.close(self._emit)
        if handle is not None:
            handle.close()
        self.out.put(FollowerState(source, "stopped"))

    def _emit(self, raw: bytes) -> None:
        self.out.put(self.reader(raw.decode("utf-8", "replace")))


class _Rotated:
    """A rotated-away log file, read until its writer has been quiet for the grace time."""

    def __init__(self, handle: Any, rest: bytes, now: float) -> None:
        self.handle = handle
        self.rest = rest
        self.last = now

    def drain(self, emit: Callable[[bytes], None], grace: float) -> bool:
        """Hand over new whole lines; True once it is done with (and closed)."""
        chunk = self.handle.read(1 << 16)
        while chunk:
            self.last = time.monotonic()
            self.rest += chunk
            *whole, self.rest = self.rest.split(b"\n")
            for raw in whole:
                emit(raw)
            chunk = self.handle.read(1 << 16)
        if time.monotonic() - self.last < grace:
            return False
        self.close(emit)
        return True

    def close(self, emit: Callable[[bytes], None]) -> None:
        """Read what is left, hand over a last unterminated line too, and close."""
        self.rest += self.handle.read()
        *whole, tail = self.rest.split(b"\n")
        for raw in whole:
            emit(raw)
        if tail:
            emit(tail)  # the writer is gone from this file: the line will not be finished
        self.rest = b""
        self.handle.close()


_FINGERPRINT = 256


def _rewritten_head(fd: int, head: bytes) -> bool:
    return bool(head) and os.pread(fd, len(head), 0) != head


class CommandLogFollower:
    """Follows the output of a command, line by line: `journalctl -f` on a systemd host."""

    def __init__(self, argv: list[str], out: LogQueue, *, source: str = "journal") -> None:
        self.argv = argv
        self.out = out
        self.source = source
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @classmethod
    def journal(cls, out: LogQueue, units: tuple[str, ...] = ("postfix", "dovecot")) -> Self:
        """journalctl following the mail units, in the classic syslog line format."""
        argv = ["journalctl", "--follow", "--lines=0", "--output=short"]
        for unit in units:
            argv += ["--unit", f"{unit}*"]
        return cls(argv, out)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name=f"cmd-{self.source}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        """Run the command until it ends or `stop` is called; restart it with backoff."""
        delay = 1.0
        while not self._stop.is_set():
            try:
                self._proc = subprocess.Popen(
                    self.argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
                )
            except OSError as exc:
                self.out.put(
                    FollowerState(self.source, "missing", f"{self.argv[0]}: {exc.strerror}")
                )
                self._stop.wait(delay)
                delay = min(delay * 2, 30.0)
                continue
            self.out.put(FollowerState(self.source, "following", " ".join(self.argv)))
            assert self._proc.stdout is not None
            for raw in self._proc.stdout:
                self.out.put(read_line(raw.decode("utf-8", "replace")))
            code = self._proc.wait()
            if self._stop.is_set():
                break
            self.out.put(FollowerState(self.source, "reconnecting", f"exited with {code}"))
            self._stop.wait(delay)
            delay = min(delay * 2, 30.0)
        self.out.put(FollowerState(self.source, "stopped"))


class FollowerGroup:
    """Several followers started and stopped as one."""

    def __init__(self, followers: list[Any]) -> None:
        self.followers = followers

    def start(self) -> None:
        for follower in self.followers:
            follower.start()

    def stop(self, timeout: float = 5.0) -> None:
        for follower in self.followers:
            follower.stop(timeout)


def host_followers(
    log_files: list[str], out: LogQueue, *, from_start: bool = False
) -> FollowerGroup:
    """What follows a plain host's mail logs: the given files, or else the journal."""
    if log_files:
        return FollowerGroup(
            [FileLogFollower(Path(name), out, from_start=from_start) for name in log_files]
        )
    return FollowerGroup([CommandLogFollower.journal(out)])


def now_rfc3339() -> str:
    """The current time as Docker writes it, for comparisons in tests and the UI."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def wait_for(predicate: Callable[[], bool], timeout: float, step: float = 0.1) -> bool:
    """Poll `predicate` until it is true or `timeout` passes."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
