"""How a first sync grows with the mailbox: 1,000, 10,000 and 100,000 reports.

Each size has its own folder in the lab's central mailbox (`Scale1k`, ...), kept
between runs. Appending 100,000 messages over IMAP takes minutes, so a folder is
filled inside the Dovecot container instead: the sample reports are copied in
once, then hard-linked into the folder's maildir under new names (a second per
10,000), and Dovecot indexes them at the next IMAP access, which the bench does
before timing anything.

Each sync runs in a process of its own, and its peak memory is read from /proc
(VmHWM, not ru_maxrss, which also counts the process a child was forked from):
dsnwatch's first sync into an empty store (the main process, and the largest of
its reader workers), and mbsync into an empty Maildir.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dsnwatch.bench.mailbox import _messages, run_mbsync, time_first_sync
from dsnwatch.mailbox import ImapSettings, connect

SIZES = (1_000, 10_000, 100_000)
VMAIL_UID = 5000  # Dovecot's vmail user in mailcow (and in the lab)


def folder_for(count: int) -> str:
    return f"Scale{count // 1000}k" if count % 1000 == 0 else f"Scale{count}"


@dataclass(slots=True)
class Row:
    """One mailbox size: our first sync and mbsync's, with peak memory."""

    count: int
    seconds: float
    peak_mb: float  # the syncing process
    worker_mb: float  # the largest reader worker (0 without workers)
    rows: int
    mbsync_seconds: float | None = None
    mbsync_mb: float | None = None


def vm_hwm_kb(pid: int | str) -> int:
    """A process's peak resident memory so far, in KiB (0 once it is gone).

    Read from /proc rather than ru_maxrss, which also counts the memory of the
    process a child was forked from, before its exec.
    """
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as children:
                found += [int(child) for child in children.read().split()]
    except (OSError, ValueError):
        pass
    return found


def _is_reader(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return b"dsnwatch.readpool" in cmdline.read()
    except OSError:
        return False


class _ChildPeaks:
    """The largest peak memory of this process's reader workers, sampled every 0.1 s."""

    def __init__(self) -> None:
        self.kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.1):
            for child in _children(os.getpid()):
                # Between fork and exec a child still counts this process's memory.
                if _is_reader(child):
                    self.kb = max(self.kb, vm_hwm_kb(child))

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.kb


def _maildir(user: str, folder: str) -> str:
    local, _, domain = user.partition("@")
    return f"/var/vmail/{domain}/{local}/Maildir/.{folder}"


_LINKER = r"""
use strict;
my ($dir, $from, $to, @samples) = @ARGV;
my $t = time;
for my $n ($from .. $to - 1) {
    my $src = $samples[$n % @samples];
    my $size = -s $src;
    link($src, "$dir/cur/$t.B$n.dsnwatch-bench,S=$size:2,") or die "link $n: $!\n";
}
"""


def fill_fast(settings: ImapSettings, dovecot: Any, corpus: Path | None, count: int) -> int:
    """Make sure the folder for `count` holds `count` reports; how many it holds."""
    folder = folder_for(count)
    client = connect(settings)
    try:
        if not client.folder_exists(folder):
            client.create_folder(folder)
        have = int(client.folder_status(folder, ["MESSAGES"])[b"MESSAGES"])
    finally:
        client.logout()
    if have < count:
        maildir = _maildir(settings.user, folder)
        samples_dir = f"{maildir}/dsnwatch-samples"
        samples = _messages(corpus)
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w") as tar:
            for index, data in enumerate(samples):
                info = tarfile.TarInfo(f"dsnwatch-samples/{index:05d}.eml")
                info.size = len(data)
                info.uid = info.gid = VMAIL_UID
                info.mode = 0o600
                info.mtime = int(time.time())
                tar.addfile(info, io.BytesIO(data))
        if not dovecot.put_archive(maildir, archive.getvalue()):
            raise RuntimeError(f"cannot copy the sample reports into {maildir}")
        names = [f"{samples_dir}/{index:05d}.eml" for index in range(len(samples))]
        code, out = dovecot.exec_run(
            ["perl", "-e", _LINKER, maildir, str(have), str(count), *names], user=str(VMAIL_UID)
        )
        if code != 0:
            raise RuntimeError(f"filling {folder} failed: {out.decode('utf-8', 'replace')[:300]}")
    # Dovecot indexes the new files now, not during the first timed sync.
    client = connect(settings)
    try:
        client.select_folder(folder, readonly=True)
        # Sizes too (the first FETCH of them reads every file): imaplib's own call, since
        # imapclient takes a list of UIDs, and 100,000 of them exceed a command line.
        client._imap.uid("FETCH", "1:*", "(RFC822.SIZE)")
        return int(client.folder_status(folder, ["MESSAGES"])[b"MESSAGES"])
    finally:
        client.logout()


def _sync_child(folder: str) -> None:
    """In a process of its own: a first sync of `folder`; prints seconds, rows, memory."""
    from dsnwatch.config import load_config

    peaks = _ChildPeaks()
    seconds, count, rows = time_first_sync(load_config(lab=True).imap_settings(), folder)
    print(
        json.dumps(
            {
                "count": count,
                "seconds": seconds,
                "rows": rows,
                "peak_kb": vm_hwm_kb("self"),
                "worker_kb": peaks.stop(),
            }
        )
    )


def time_ours(folder: str) -> dict[str, Any]:
    """A first sync of `folder` in a fresh process, measured by that process."""
    done = subprocess.run(
        [sys.executable, "-m", "dsnwatch.bench.scale", "--sync", folder],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    if done.returncode != 0:
        raise RuntimeError(f"sync of {folder} failed: {done.stderr.strip()[-300:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def time_mbsync_peak(settings: ImapSettings, folder: str, count: int) -> tuple[float, float] | None:
    """(seconds, peak MB) of mbsync downloading `folder` into an empty Maildir."""
    if shutil.which("mbsync") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        seconds, peak_kb = run_mbsync(settings, Path(tmp), folder, count)
    return seconds, peak_kb / 1024


def run(
    settings: ImapSettings, corpus: Path | None, dovecot: Any, sizes: tuple[int, ...] = SIZES
) -> list[Row]:
    """One row per size (the lab must be up)."""
    rows: list[Row] = []
    for count in sizes:
        folder = folder_for(count)
        print(f"[bench] scaling: {count:,} reports", file=sys.stderr, flush=True)
        held = fill_fast(settings, dovecot, corpus, count)
        if held < count:
            raise RuntimeError(f"{folder} holds {held:,} of {count:,} reports")
        ours = time_ours(folder)
        row = Row(
            count=int(ours["count"]),
            seconds=float(ours["seconds"]),
            peak_mb=ours["peak_kb"] / 1024,
            worker_mb=ours["worker_kb"] / 1024,
            rows=int(ours["rows"]),
        )
        peer = time_mbsync_peak(settings, folder, count)
        if peer is not None:
            row.mbsync_seconds, row.mbsync_mb = peer
        rows.append(row)
    return rows


def table(rows: list[Row]) -> list[str]:
    """Markdown lines: the scaling table."""
    lines = [
        "| reports | dsnwatch first sync | per 1,000 | peak memory (main; largest reader worker)"
        " | mbsync | mbsync peak memory | ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        theirs = "-" if r.mbsync_seconds is None else f"{r.mbsync_seconds:.2f} s"
        their_mb = "-" if r.mbsync_mb is None else f"{r.mbsync_mb:.0f} MB"
        ratio = "-" if not r.mbsync_seconds else f"{r.seconds / r.mbsync_seconds:.2f}"
        worker = f"; {r.worker_mb:.0f} MB" if r.worker_mb else ""
        lines.append(
            f"| {r.count:,} | {r.seconds:.2f} s | {r.seconds / r.count * 1000:.2f} s |"
            f" {r.peak_mb:.0f} MB{worker} | {theirs} | {their_mb} | {ratio} |"
        )
    return lines


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--sync":
        _sync_child(sys.argv[2])
    else:
        print("usage: python -m dsnwatch.bench.scale --sync FOLDER", file=sys.stderr)
        raise SystemExit(2)
