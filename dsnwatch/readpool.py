"""The DSN reader in worker processes, for a large sync on a machine with several cores.

Each worker is `python -m dsnwatch.readpool`: it imports the reader and nothing
else (unlike multiprocessing's spawn, which imports the caller's main module
again, a console or a script, in every worker). It reads pickled batches of
messages on its standard input and writes the pickled reports back, in order.
One thread per worker feeds it and collects its answers, so that the caller
never blocks on a pipe. The pipes carry only what this process sent and what its
own workers wrote.

If a worker cannot be started or dies, the batch it had is read in this process,
and the pool reads everything here from then on: a sync never stops for it.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import IO, Any

from dsnwatch.dsn import read_report
from dsnwatch.model import Report

Job = tuple[bytes, str]  # a message's bytes, and where it was read (the report's source)

_SIZE = struct.Struct(">Q")


def read_all(jobs: list[Job]) -> list[Report]:
    """Read each message here, in order."""
    return [read_report(data, source=source) for data, source in jobs]


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _send(pipe: IO[bytes], payload: Any) -> None:
    blob = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    pipe.write(_SIZE.pack(len(blob)))
    pipe.write(blob)
    pipe.flush()


def _receive(pipe: IO[bytes]) -> Any:
    head = pipe.read(_SIZE.size)
    if len(head) < _SIZE.size:
        raise EOFError("the worker's pipe closed")
    (size,) = _SIZE.unpack(head)
    blob = pipe.read(size)
    if len(blob) < size:
        raise EOFError("the worker's pipe closed")
    return pickle.loads(blob)  # written by this process or by its own worker


class _Worker:
    """One worker process and the thread that talks to it."""

    def __init__(self, index: int, on_failure: Callable[[], None]) -> None:
        self._jobs: queue.Queue[tuple[list[Job], Future[list[Report]]] | None] = queue.Queue()
        self._on_failure = on_failure
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "dsnwatch.readpool"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
        )
        self._thread = threading.Thread(target=self._serve, name=f"dsn-reader-{index}", daemon=True)
        self._thread.start()

    def submit(self, jobs: list[Job]) -> Future[list[Report]]:
        future: Future[list[Report]] = Future()
        self._jobs.put((jobs, future))
        return future

    def _serve(self) -> None:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        failed = False
        while True:
            item = self._jobs.get()
            if item is None:
                break
            jobs, future = item
            if not failed:
                try:
                    _send(self._proc.stdin, jobs)
                    reports = _receive(self._proc.stdout)
                except (OSError, EOFError, pickle.UnpicklingError, ValueError):
                    failed = True
                    self._on_failure()
                else:
                    future.set_result(reports)
                    continue
            try:  # the worker is gone: this batch is read here
                future.set_result(read_all(jobs))
            except BaseException as exc:  # the caller gets what reading raised
                future.set_exception(exc)
        self._end()

    def stop(self) -> None:
        self._jobs.put(None)

    def _end(self) -> None:
        with contextlib.suppress(OSError):
            if self._proc.stdin is not None:
                self._proc.stdin.close()  # the worker returns at the end of its input
        try:
            self._proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=2.0)
        with contextlib.suppress(OSError):
            if self._proc.stdout is not None:
                self._proc.stdout.close()


class ReaderPool:
    """Reads batches of messages in `workers` processes; `read` returns at once."""

    def __init__(self, workers: int) -> None:
        self._broken = False
        self._workers: list[_Worker] = []
        try:
            for index in range(workers):
                self._workers.append(_Worker(index, self._failed))
        except OSError:
            self._broken = True

    @property
    def broken(self) -> bool:
        """True once a worker failed: everything is read in this process from then on."""
        return self._broken

    def _failed(self) -> None:
        self._broken = True

    def read(self, jobs: list[Job]) -> Callable[[], list[Report]]:
        """Start reading a batch, shared among the workers; the function returned waits
        for its reports and gives them in the order of `jobs`."""
        if self._broken or not self._workers or not jobs:
            reports = read_all(jobs)
            return lambda: reports
        share = -(-len(jobs) // len(self._workers))
        futures = [
            worker.submit(jobs[at : at + share])
            for worker, at in zip(self._workers, range(0, len(jobs), share), strict=False)
        ]
        return lambda: [report for future in futures for report in future.result()]

    def close(self) -> None:
        """Let the workers finish what they have, then end them (in the background)."""
        for worker in self._workers:
            worker.stop()
        self._workers = []


def _serve_stdio() -> int:
    """The worker's side: batches in on stdin, reports out on stdout, until stdin ends."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            jobs = _receive(stdin)
        except EOFError:
            return 0
        _send(stdout, read_all(jobs))


if __name__ == "__main__":
    raise SystemExit(_serve_stdio())
