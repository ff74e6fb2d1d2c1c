"""Hostile and broken input: the reader never raises and stays linear in the input size.

These call the reader's inner function, which has no catch-all, so an exception
anywhere in it fails the test instead of being turned into an error report.
"""

from __future__ import annotations

import os
import time

from conftest import FIXTURES, corpus_path
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsnwatch.dsn.reader import _read

EXAMPLES = int(os.environ.get("DSNWATCH_FUZZ_EXAMPLES", "300"))


def _seeds() -> list[bytes]:
    seeds = [p.read_bytes() for p in sorted(FIXTURES.glob("*.eml"))]
    bsd = corpus_path() / "maildir" / "bsd"
    if bsd.is_dir():
        files = sorted(bsd.glob("*.eml"))
        seeds.extend(p.read_bytes() for p in files[:: max(1, len(files) // 60)])
    return seeds


SEEDS = _seeds()


def _truncate(data: bytes, at: float) -> bytes:
    return data[: int(len(data) * at)]


def _junk(data: bytes, at: float, junk: bytes) -> bytes:
    i = int(len(data) * at)
    return data[:i] + junk + data[i:]


def _bad_boundary(data: bytes, at: float, junk: bytes) -> bytes:
    return data.replace(b"boundary=", b"boundary=" + junk[:8].replace(b"\n", b""), 1)


def _bad_charset(data: bytes, at: float, junk: bytes) -> bytes:
    return data.replace(b"charset=", b"charset=x-no-such-" + junk[:4].hex().encode(), 1)


def _huge_header(data: bytes, at: float, junk: bytes) -> bytes:
    return b"X-Junk: " + b"a" * int(50_000 * at) + b"\n" + data


def _deep_nesting(data: bytes, at: float, junk: bytes) -> bytes:
    depth = 1 + int(at * 60)
    head = b"".join(
        b'Content-Type: multipart/mixed; boundary="n%d"\n\n--n%d\n' % (i, i) for i in range(depth)
    )
    return b"From: MAILER-DAEMON@x.test\nSubject: Undelivered\n" + head + data


MUTATIONS = [_junk, _bad_boundary, _bad_charset, _huge_header, _deep_nesting]


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    seed=st.sampled_from(SEEDS),
    mutation=st.sampled_from(MUTATIONS),
    at=st.floats(min_value=0.0, max_value=1.0),
    cut=st.floats(min_value=0.05, max_value=1.0),
    junk=st.binary(min_size=0, max_size=200),
)
def test_mutated_messages_never_raise(
    seed: bytes, mutation: object, at: float, cut: float, junk: bytes
) -> None:
    assert callable(mutation)
    data = _truncate(mutation(seed, at, junk), cut)
    report = _read(data, "fuzz")
    assert report.kind in ("delivery-status", "complaint", "auto-reply", "not-a-report")
    for entry in report.reports:
        assert entry.recipient
        assert entry.reason


@settings(max_examples=EXAMPLES // 3, deadline=None)
@given(st.binary(max_size=4000))
def test_random_bytes_never_raise(data: bytes) -> None:
    _read(data, "fuzz")


def _best_time(data: bytes) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        _read(data, "size")
        best = min(best, time.perf_counter() - start)
    return best


def test_time_grows_linearly_with_input_size() -> None:
    base = (FIXTURES / "qmail-freetext.eml").read_bytes()
    filler_lines = [
        b"<x%d@example.net>: host mx said: 550 5.1.1 user unknown (in reply to RCPT TO)\n" % i
        for i in range(2000)
    ]
    small = base.replace(b"<gone@", b"".join(filler_lines[:100]) + b"<gone@", 1)
    large = base.replace(b"<gone@", b"".join(filler_lines) + b"<gone@", 1)
    ratio_size = len(large) / len(small)
    ratio_time = _best_time(large) / max(_best_time(small), 1e-6)
    # Linear work gives ratio_time close to ratio_size; quadratic would be ~ratio_size**2.
    assert ratio_time < ratio_size * 3, (ratio_size, ratio_time)


def test_long_lines_and_many_addresses_stay_fast() -> None:
    line = b"a@b.c " * 20000
    data = b"From: MAILER-DAEMON@x.test\nSubject: Undelivered Mail\n\n" + line + b"\n"
    start = time.perf_counter()
    _read(data, "long")
    assert time.perf_counter() - start < 10


LOG_SEEDS = [
    "Dec  3 16:00:09 a3865add0dfb dovecot: lmtp(carol@example.org)<24497><AEoiGwmSEWuxXwAAg+zDdQ>:"
    " sieve: msgid=<20240101000000.T3@mx.example.org>: redirect action: forwarded to"
    " <dsn-monitor@example.org>",
    "Dec 03 16:00:56 lmtp(gina@example.org)<25501><iJGXDTiSEWudYwAAg+zDdQ>: Error: sieve:"
    " msgid=<a@b>: fileinto action: failed to store into mailbox 'X': Mailbox doesn't exist: X",
    "2026-12-03T16:00:09.123456789Z Jan 23 22:11:07 050ddf1649f8 postfix/smtp[706]: 890EB3023EB:"
    " to=<nobody@remote.test>, relay=mx.remote.test[127.0.0.1]:2525, dsn=5.1.1, status=bounced"
    " (host mx.remote.test[127.0.0.1] said: 550 5.1.1 unknown (in reply to RCPT TO command))",
    "Dec  3 16:00:00 a3865add0dfb postfix/bounce[99]: C211317895A: sender non-delivery"
    " notification: CAE0417895E",
]


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    seed=st.sampled_from(LOG_SEEDS),
    cut=st.integers(min_value=0, max_value=400),
    junk=st.text(max_size=60),
    at=st.integers(min_value=0, max_value=400),
)
def test_mutated_log_lines_never_raise(seed: str, cut: int, junk: str, at: int) -> None:
    from dsnwatch.logs.correlator import Correlator
    from dsnwatch.logs.readers import read_line

    line = (seed[:at] + junk + seed[at:])[: max(cut, 1) * 3]
    event = read_line(line)
    assert event.raw == line.rstrip("\r\n")
    Correlator("dsn-monitor@example.org").feed(event)


def test_log_reader_time_is_linear_in_line_length() -> None:
    from dsnwatch.logs.readers import read_line

    def best(line: str) -> float:
        times = []
        for _ in range(7):
            start = time.perf_counter()
            read_line(line)
            times.append(time.perf_counter() - start)
        return min(times)

    head = "Dec  3 16:00:00 host dovecot: lmtp(a@b)<1><s>: sieve: msgid=<x@y>: "
    # Ten times the length: about ten times the time when linear, a hundred when quadratic.
    # The small line is long enough that its best time is not lost in timer noise.
    small = head + "stored mail into mailbox 'INBOX' " + "x" * 100_000
    large = head + "stored mail into mailbox 'INBOX' " + "x" * 1_000_000
    ratio = best(large) / max(best(small), 1e-6)
    assert ratio < 10 * 4, ratio
