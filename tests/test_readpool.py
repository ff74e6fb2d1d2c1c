"""The DSN reader in worker processes: the same reports as reading here, in order,
and a sync that goes on when a worker dies."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from dsnwatch.readpool import Job, ReaderPool, read_all

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def jobs(count: int) -> list[Job]:
    samples = sorted(FIXTURES.glob("*.eml"))
    return [(samples[n % len(samples)].read_bytes(), f"test:{n}") for n in range(count)]


def test_workers_give_the_reports_reading_here_gives_in_order() -> None:
    batch = jobs(57)
    pool = ReaderPool(2)
    try:
        results = [pool.read(batch[at : at + 20]) for at in range(0, len(batch), 20)]
        got = [report for result in results for report in result()]
        assert not pool.broken
    finally:
        pool.close()
    assert got == read_all(batch)
    assert [r.source for r in got] == [f"test:{n}" for n in range(57)]


def test_workers_are_separate_processes_that_end_with_the_pool() -> None:
    pool = ReaderPool(2)
    procs = [worker._proc for worker in pool._workers]
    assert len({p.pid for p in procs}) == 2 and os.getpid() not in {p.pid for p in procs}
    assert len(pool.read(jobs(4))()) == 4
    pool.close()
    deadline = time.monotonic() + 10
    while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(p.poll() == 0 for p in procs), [p.poll() for p in procs]


def test_a_dead_worker_costs_no_report() -> None:
    batch = jobs(40)
    pool = ReaderPool(2)
    try:
        assert len(pool.read(batch[:4])()) == 4
        victim = pool._workers[0]._proc
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        got = pool.read(batch)()
        assert pool.broken
        assert got == read_all(batch)
        # From then on everything is read here.
        assert pool.read(batch[:3])() == read_all(batch[:3])
    finally:
        pool.close()


def test_an_empty_batch_is_an_empty_answer() -> None:
    pool = ReaderPool(2)
    try:
        assert pool.read([])() == []
    finally:
        pool.close()
