"""Managed blocks: the lines dsnwatch owns inside a file that is otherwise the operator's.

Both Postfix and Sieve files use `#` comments, so one pair of marker lines serves both.
Inserting and then removing a block gives back the original text byte for byte.
"""

from __future__ import annotations

BEGIN = "# BEGIN dsnwatch managed block (change with `dsnwatch install`, remove with `dsnwatch uninstall`)"
# Written instead of BEGIN when the file's last line had no newline and one was added.
BEGIN_JOINED = BEGIN + " +newline"
END = "# END dsnwatch managed block"


class BlockError(ValueError):
    """The file's managed block is damaged or cannot be placed; the message says what to do."""


def find_block(text: str) -> tuple[int, int, bool] | None:
    """Start and end offsets of the managed block and whether a newline was added before it."""
    starts = _line_starts_with(text, BEGIN)
    if not starts:
        if _line_starts_with(text, END):
            raise BlockError("an END dsnwatch line has no BEGIN line; remove it and install again")
        return None
    if len(starts) > 1:
        raise BlockError("the file has two dsnwatch managed blocks; remove one and install again")
    start = starts[0]
    line_end = text.find("\n", start)
    begin_line = text[start : line_end if line_end >= 0 else len(text)]
    ends = [e for e in _line_starts_with(text, END) if e > start]
    if not ends or line_end < 0:
        raise BlockError("the dsnwatch managed block has no END line; restore it and install again")
    end_line_end = text.find("\n", ends[0])
    end = len(text) if end_line_end < 0 else end_line_end + 1
    return start, end, begin_line == BEGIN_JOINED


def _line_starts_with(text: str, marker: str) -> list[int]:
    found: list[int] = []
    pos = 0
    while True:
        pos = text.find(marker, pos)
        if pos < 0:
            return found
        if pos == 0 or text[pos - 1] == "\n":
            found.append(pos)
        pos += len(marker)


def block_body(text: str) -> str | None:
    """The lines between the markers, or None when there is no block."""
    found = find_block(text)
    if found is None:
        return None
    start, end, _ = found
    inner_start = text.index("\n", start) + 1
    inner_end = text.rfind(END, start, end)
    return text[inner_start:inner_end]


def render_block(body: str, joined: bool = False) -> str:
    """The block's full text: markers around `body`, which ends with a newline."""
    if body and not body.endswith("\n"):
        body += "\n"
    return f"{BEGIN_JOINED if joined else BEGIN}\n{body}{END}\n"


def upsert_block(text: str, body: str, at: int | None = None) -> str:
    """The text with the managed block set to `body`: replaced in place, else inserted.

    `at` is where a new block goes (a line start, or the end of the text); the default
    is the end.
    """
    found = find_block(text)
    if found is not None:
        start, end, joined = found
        block = render_block(body, joined)
        if end == len(text) and not text.endswith("\n"):
            # mailcow rewrites extra.cf with a shell `$(cat ...)`, which drops the final
            # newline; an otherwise identical block is not a change.
            block = block[:-1]
        return text[:start] + block + text[end:]
    at = len(text) if at is None else at
    if at < len(text) and at > 0 and text[at - 1] != "\n":
        raise BlockError("a managed block can only start at the beginning of a line")
    if at == len(text) and text and not text.endswith("\n"):
        return text + "\n" + render_block(body, joined=True)
    return text[:at] + render_block(body) + text[at:]


def remove_block(text: str) -> str:
    """The text without the managed block, exactly as it was before the block was added."""
    found = find_block(text)
    if found is None:
        return text
    start, end, joined = found
    if joined and start > 0:
        start -= 1
    return text[:start] + text[end:]


def decode(data: bytes | None) -> str:
    """File bytes as text that encodes back to the same bytes, whatever they were."""
    return "" if data is None else data.decode("utf-8", "surrogateescape")


def encode(text: str) -> bytes:
    """The inverse of `decode`."""
    return text.encode("utf-8", "surrogateescape")
