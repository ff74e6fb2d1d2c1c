"""Where messages come from: .eml files, folders, Maildirs, mbox files, standard input."""

from __future__ import annotations

import mailbox
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(slots=True, frozen=True)
class Item:
    """One message to read, or the reason it could not be read."""

    source: str
    data: bytes | None
    error: str | None = None


def without_envelope(data: bytes) -> bytes:
    """The message after an mbox envelope line (`From sender date`), whatever ends that
    line: LF, CRLF, or a lone CR (old Mac files have no LF at all)."""
    lf = data.find(b"\n")
    cr = data.find(b"\r")
    if cr < 0 or (0 <= lf < cr):
        return data[lf + 1 :] if lf >= 0 else b""
    return data[cr + 2 :] if data[cr + 1 : cr + 2] == b"\n" else data[cr + 1 :]


def _looks_mbox(data: bytes) -> bool:
    return data.startswith(b"From ") and b"\nFrom " in data


def _mbox_items(path: Path) -> Iterator[Item]:
    box = mailbox.mbox(path, create=False)
    try:
        for index, key in enumerate(box.iterkeys(), start=1):
            yield Item(f"{path}:{index}", box.get_bytes(key))
    finally:
        box.close()


def _split_mbox_bytes(data: bytes, source: str) -> Iterator[Item]:
    chunks = data.split(b"\nFrom ")
    for index, chunk in enumerate(chunks, start=1):
        # Drop the envelope line; mboxrd quoting of ">From " in bodies is left alone.
        yield Item(f"{source}:{index}", without_envelope(chunk))


def _one_message(path: Path) -> bool:
    """Whether a file holds one message by its kind: an `.eml` file, or a Maildir's
    message file (in cur/ or new/). A `From ` line in its body (a quoted original,
    unescaped) then starts no other message, as it would in an mbox file."""
    if path.suffix.lower() == ".eml":
        return True
    folder = path.parent
    return folder.name in ("cur", "new") and all(
        (folder.parent / sub).is_dir() for sub in ("cur", "new", "tmp")
    )


def _file_items(path: Path) -> Iterator[Item]:
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError as exc:
        yield Item(str(path), None, f"cannot read {path}: {exc.strerror or exc}")
        return
    if head.startswith(b"From "):
        try:
            data = path.read_bytes()
        except OSError as exc:
            yield Item(str(path), None, f"cannot read {path}: {exc.strerror or exc}")
            return
        if _looks_mbox(data) and not _one_message(path):
            yield from _mbox_items(path)
            return
        yield Item(str(path), without_envelope(data))
        return
    try:
        yield Item(str(path), path.read_bytes())
    except OSError as exc:
        yield Item(str(path), None, f"cannot read {path}: {exc.strerror or exc}")


def iter_messages(paths: list[str]) -> Iterator[Item]:
    """Every message below the given paths, in a stable order."""
    for raw in paths:
        if raw == "-":
            data = sys.stdin.buffer.read()
            if _looks_mbox(data):
                yield from _split_mbox_bytes(data, "-")
            else:
                if data.startswith(b"From "):
                    data = without_envelope(data)
                yield Item("-", data)
            continue
        path = Path(raw)
        if not path.exists():
            yield Item(raw, None, f"no such file or folder: {raw}")
        elif path.is_dir():
            yield from _dir_items(path)
        else:
            yield from _file_items(path)


def _dir_items(path: Path) -> Iterator[Item]:
    """Files below a folder; a Maildir is such a folder (its tmp/ holds no mail yet)."""
    for root, dirs, files in os.walk(path):
        here = Path(root)
        is_maildir = all((here / sub).is_dir() for sub in ("cur", "new", "tmp"))
        # Maildir++ keeps folders as dot-named Maildirs inside the top one.
        dirs[:] = sorted(
            d
            for d in dirs
            if not (is_maildir and d == "tmp") and (not d.startswith(".") or is_maildir)
        )
        if is_maildir:
            continue  # its own files are index and state files; mail is in cur/ and new/
        for name in sorted(files):
            if name.startswith("."):
                continue
            yield from _file_items(here / name)
