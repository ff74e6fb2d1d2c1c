"""The Docker log stream taken apart byte by byte: HTTP chunks, Docker frames, lines.

The engine's answer is rebuilt here exactly as it travels (chunked transfer coding
around the multiplexed frames), then fed to the stream's readers cut at every
possible place, so that no read boundary can lose, split or repeat a line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from dsnwatch.logs.follow import StreamError, _dechunk, _lines, _unframe


def frame(payload: bytes, stream: int = 1) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload


def chunked(*pieces: bytes, extension: bool = False) -> bytes:
    ext = b";name=value" if extension else b""
    body = b"".join(b"%x%s\r\n%s\r\n" % (len(p), ext, p) for p in pieces if p)
    return body + b"0\r\n\r\n"


def reader(data: bytes, sizes: list[int]) -> Callable[[int], bytes]:
    """A socket file's read: hands out `data` in the given sizes, then b"" (closed)."""
    cuts = iter(sizes)
    pos = 0

    def read(limit: int) -> bytes:
        nonlocal pos
        size = min(next(cuts, limit), limit)
        out = data[pos : pos + size]
        pos += len(out)
        return out

    return read


def stream_lines(body: bytes, sizes: list[int], framed: bool = True) -> list[str]:
    chunks: Iterator[bytes] = _dechunk(reader(body, sizes))
    return [line for batch in _lines(_unframe(chunks) if framed else chunks) for line in batch]


LINES = [
    "2026-12-03T16:00:09.123456789Z Dec  3 16:00:09 host postfix/smtp[1]: ABC: to=<a@b>",
    "2026-12-03T16:00:09.223456789Z héllo wörld, ünïcode: ✓",
    "2026-12-03T16:00:09.323456789Z a TTY line\r",
    "2026-12-03T16:00:09.423456789Z",
    "2026-12-03T16:00:09.523456789Z " + "x" * 300,
]
EXPECTED = [line.rstrip("\r") for line in LINES]


def one_frame_per_chunk() -> bytes:
    return chunked(*(frame(line.encode() + b"\n", 1 + n % 2) for n, line in enumerate(LINES)))


def test_each_line_comes_out_once_whatever_the_read_sizes() -> None:
    body = one_frame_per_chunk()
    assert stream_lines(body, [len(body)]) == EXPECTED
    for size in range(1, 40):
        assert stream_lines(body, [size] * len(body)) == EXPECTED, size
    # Every single cut point of a two-read delivery.
    for cut in range(1, len(body)):
        assert stream_lines(body, [cut, len(body)]) == EXPECTED, cut


def test_frames_that_span_chunks_and_chunks_that_hold_several_frames() -> None:
    framed = b"".join(frame(line.encode() + b"\n") for line in LINES)
    # The same frames cut into HTTP chunks without regard for the frame boundaries.
    for piece in (1, 3, 7, 8, 9, 64, len(framed)):
        body = chunked(*(framed[i : i + piece] for i in range(0, len(framed), piece)))
        assert stream_lines(body, [17] * len(body)) == EXPECTED, piece


def test_a_line_split_over_frames_is_one_line() -> None:
    # The engine cuts a message longer than 16 KiB into several frames; only the last ends it.
    long = "2026-12-03T16:00:09.123456789Z " + "y" * 40_000
    raw = long.encode() + b"\n"
    body = chunked(frame(raw[:16_384]), frame(raw[16_384:32_768]), frame(raw[32_768:]))
    assert stream_lines(body, [4096] * 20) == [long]


def test_tty_stream_has_no_frames_and_loses_only_the_carriage_returns() -> None:
    raw = "".join(line + "\r\n" if not line.endswith("\r") else line + "\n" for line in LINES)
    body = chunked(raw.encode())
    assert stream_lines(body, [5] * len(body), framed=False) == EXPECTED


def test_invalid_utf8_is_replaced_within_its_own_line() -> None:
    payloads = [b"caf\xc3\n", b"\xa9 ok\n", b"\xff\xfe\n", "é\n".encode()]
    body = chunked(*(frame(p) for p in payloads))
    expected = [p[:-1].decode("utf-8", "replace") for p in payloads]
    for size in (1, 2, 3, 1000):
        assert stream_lines(body, [size] * len(body)) == expected


def test_an_unterminated_last_line_is_still_handed_over() -> None:
    body = chunked(frame(b"first\n"), frame(b"last, no newline"))
    assert stream_lines(body, [3] * len(body)) == ["first", "last, no newline"]


def test_chunk_extensions_are_ignored() -> None:
    body = chunked(frame(b"one\n"), frame(b"two\n"), extension=True)
    assert stream_lines(body, [len(body)]) == ["one", "two"]


def test_the_stream_ends_at_the_last_chunk_without_reading_further() -> None:
    body = one_frame_per_chunk()
    reads = 0

    def read(limit: int) -> bytes:
        nonlocal reads
        reads += 1
        if reads > 1:
            raise AssertionError("read past the end of the body (a kept-alive socket blocks)")
        return body

    assert [x for b in _lines(_unframe(_dechunk(read))) for x in b] == EXPECTED


def test_a_connection_closed_between_chunks_ends_the_stream_quietly() -> None:
    # A stopped follower shuts the socket: the reads see the end of the connection.
    frames = [frame(line.encode() + b"\n") for line in LINES[:2]]
    body = chunked(*frames)[: -len(b"0\r\n\r\n")]
    assert stream_lines(body, [9] * len(body)) == EXPECTED[:2]


def test_a_connection_closed_inside_a_chunk_or_a_bad_size_is_an_error() -> None:
    body = one_frame_per_chunk()
    with pytest.raises(StreamError):
        list(_dechunk(reader(body[:20], [20])))
    with pytest.raises(StreamError):
        list(_dechunk(reader(b"zz\r\nabc\r\n0\r\n\r\n", [100])))
