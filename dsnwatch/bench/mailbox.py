"""Mailbox benchmarks against the lab: first sync of 20,000 reports, and latency.

* first sync: dsnwatch reads a folder of 20,000 DSNs in the central mailbox into a
  fresh store, against `mbsync` (isync) downloading the same folder into a fresh
  Maildir, in the same run;
* latency: from Dovecot storing a new report (its log line's Docker timestamp) to
  the report being in the store, with the watcher in IDLE.
"""

from __future__ import annotations

import shutil
import smtplib
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from dsnwatch.bench.common import Figure
from dsnwatch.config import Config
from dsnwatch.logs.follow import parse_docker_time
from dsnwatch.mailbox import ImapSettings, MailboxWatcher, connect
from dsnwatch.store import Store

FOLDER = "Bench20k"
COUNT = 20_000


def _messages(corpus: Path | None) -> list[bytes]:
    samples: list[bytes] = []
    if corpus is not None and (corpus / "maildir" / "bsd").is_dir():
        samples = [p.read_bytes() for p in sorted((corpus / "maildir" / "bsd").glob("*.eml"))]
    if not samples:
        here = Path(__file__).resolve().parents[2] / "tests" / "fixtures"
        samples = [p.read_bytes() for p in sorted(here.glob("*.eml"))]
    return samples


def fill_folder(settings: ImapSettings, corpus: Path | None, count: int = COUNT) -> int:
    """Make sure the bench folder holds `count` reports (kept between runs)."""
    client = connect(settings)
    try:
        if not client.folder_exists(FOLDER):
            client.create_folder(FOLDER)
        have = int(client.folder_status(FOLDER, ["MESSAGES"])[b"MESSAGES"])
        samples = _messages(corpus)
        batch: list[bytes] = []
        for n in range(have, count):
            batch.append(samples[n % len(samples)])
            if len(batch) == 500:
                client.multiappend(FOLDER, batch)
                batch = []
        if batch:
            client.multiappend(FOLDER, batch)
        return int(client.folder_status(FOLDER, ["MESSAGES"])[b"MESSAGES"])
    finally:
        client.logout()


def time_first_sync(settings: ImapSettings, folder: str = FOLDER) -> tuple[float, int, int]:
    """(seconds, messages, report rows) for a first sync of a folder into an empty store."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.sqlite")
        watcher = MailboxWatcher(replace(settings, folder=folder), store)
        start = time.perf_counter()
        count = watcher.sync_once()
        elapsed = time.perf_counter() - start
        rows = store.count_report_rows()
        store.close()
    return elapsed, count, rows


def _mbsync_config(settings: ImapSettings, root: Path, folder: str, tls_word: str) -> Path:
    (root / "mail").mkdir(exist_ok=True)
    pass_file = root / "pass"
    pass_file.write_text(settings.password)
    pass_file.chmod(0o600)
    ssl_type = {"ssl": "IMAPS", "starttls": "STARTTLS", "plain": "None"}[settings.tls]
    conf = root / "mbsyncrc"
    conf.write_text(
        "\n".join(
            [
                "IMAPAccount bench",
                # mbsync checks names, not IP addresses, against the certificate.
                f"Host {'localhost' if settings.host == '127.0.0.1' else settings.host}",
                f"Port {settings.port}",
                f"User {settings.user}",
                f"PassCmd \"cat '{pass_file}'\"",
                f"{tls_word} {ssl_type}",
                *([f"CertificateFile {settings.ca}"] if settings.ca else []),
                "",
                "IMAPStore far",
                "Account bench",
                "",
                "MaildirStore near",
                f"Path {root / 'mail'}/",
                f"Inbox {root / 'mail' / 'INBOX'}",
                "",
                "Channel bench",
                "Far :far:",
                "Near :near:",
                f"Patterns {folder}",
                "Create Near",
                "Sync Pull",
                "SyncState *",
                "",
            ]
        )
    )
    return conf


def run_mbsync(settings: ImapSettings, root: Path, folder: str, count: int) -> tuple[float, int]:
    """(seconds, peak resident KiB sampled every 50 ms) of mbsync downloading `folder`
    into an empty Maildir under `root`; RuntimeError when it fails or fetches fewer
    than `count` messages."""
    from dsnwatch.bench.scale import vm_hwm_kb

    mbsync = shutil.which("mbsync")
    if mbsync is None:
        raise FileNotFoundError("mbsync")
    err = ""
    # Older isync spells the TLS setting differently.
    for tls_word in ("TLSType", "SSLType"):
        conf = _mbsync_config(settings, root, folder, tls_word)
        start = time.perf_counter()
        with tempfile.TemporaryFile() as errors:
            proc = subprocess.Popen(
                [mbsync, "-q", "-c", str(conf), "bench"], stdout=subprocess.DEVNULL, stderr=errors
            )
            peak = 0
            while proc.poll() is None:
                peak = max(peak, vm_hwm_kb(proc.pid))
                time.sleep(0.05)
            elapsed = time.perf_counter() - start
            errors.seek(0)
            err = errors.read().decode("utf-8", "replace")
        if proc.returncode == 0:
            got = sum(1 for _ in (root / "mail" / folder).glob("*/*"))
            if got < count:
                raise RuntimeError(f"mbsync fetched {got} of {count} messages")
            return elapsed, peak
    raise RuntimeError(f"mbsync failed: {err.strip()[:300]}")


def time_mbsync(settings: ImapSettings) -> float | None:
    """Seconds for mbsync to download the bench folder into an empty Maildir."""
    if shutil.which("mbsync") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        elapsed, _peak = run_mbsync(settings, Path(tmp), FOLDER, COUNT)
    return elapsed


def time_delivery_to_store(
    cfg: Config, settings: ImapSettings, dovecot: Any, rounds: int = 5
) -> float:
    """Median seconds from Dovecot storing a report to the report being in the store."""
    from dsnwatch.logs.follow import LogStream

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "latency.sqlite")
        arrived: dict[str, float] = {}

        def on_report(where: Any, report: Any) -> None:
            if report.original_message_id:
                arrived[report.original_message_id] = time.time()

        watcher = MailboxWatcher(settings, store, on_report=on_report)
        states: list[str] = []
        watcher.on_state = lambda s, d: states.append(s)
        thread = threading.Thread(target=watcher.run, daemon=True)
        thread.start()
        samples: list[float] = []
        try:
            deadline = time.monotonic() + 60
            while "idle" not in states and time.monotonic() < deadline:
                time.sleep(0.05)
            for _ in range(rounds):
                token = f"<lat-{uuid.uuid4().hex}@bench.invalid>"
                since = time.time() - 1
                _send_dsn(cfg, settings.user, token)
                deadline = time.monotonic() + 30
                while token not in arrived and time.monotonic() < deadline:
                    time.sleep(0.01)
                stored_at = _dovecot_stored_time(LogStream, dovecot, since, settings.user)
                if token in arrived and stored_at is not None:
                    samples.append(arrived[token] - stored_at)
        finally:
            watcher.stop()
            thread.join(10)
            store.close()
    if not samples:
        raise RuntimeError("no report arrived to time")
    samples.sort()
    return samples[len(samples) // 2]


def _dovecot_stored_time(stream_cls: Any, dovecot: Any, since: float, user: str) -> float | None:
    last: float | None = None
    stream = stream_cls(dovecot, follow=False, since=since)
    try:
        for line in stream:
            if f"lmtp({user})" in line and ("stored mail into" in line or "saved mail to" in line):
                last = parse_docker_time(line.partition(" ")[0])
    finally:
        stream.close()
    return last


def _send_dsn(cfg: Config, monitor: str, original_id: str) -> None:
    here = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "postfix-userunknown.eml"
    data = here.read_bytes().replace(b"<token-1234@lab.test>", original_id.encode())
    port = cfg.smtp_port
    with smtplib.SMTP(cfg.smtp_host, port, timeout=30) as smtp:
        smtp.starttls(context=_context(cfg.smtp_ca))
        smtp.login(cfg.smtp_user, cfg.smtp_password)
        smtp.sendmail(cfg.smtp_user, [monitor], data)


def _context(ca: str) -> Any:
    import ssl

    return ssl.create_default_context(cafile=ca or None)


def run(cfg: Config, corpus: Path | None, dovecot: Any) -> list[Figure]:
    """The mailbox figures (the lab must be up)."""
    settings = cfg.imap_settings()
    fill_folder(settings, corpus)
    ours, count, _rows = time_first_sync(settings)
    theirs = time_mbsync(settings)
    latency = time_delivery_to_store(cfg, settings, dovecot)
    return [
        Figure(
            "mailbox (IMAP)",
            f"seconds for a first sync of {count:,} DSNs",
            ours,
            "s",
            peer="mbsync (isync)",
            peer_value=theirs,
            target="faster than mbsync",
            met=None if theirs is None else ours < theirs,
        ),
        Figure(
            "mailbox (IMAP)",
            "delivery of a report to its row in the store (median of 5)",
            latency * 1000,  # a few milliseconds: in seconds it would read 0.00
            "ms",
            target="< 1,000 ms",
            met=latency < 1.0,
        ),
    ]
