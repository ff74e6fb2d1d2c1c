"""`dsnwatch tail`, `list`, `export` and `config show`: the live sources from the shell."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dsnwatch.config import Config, ConfigError, load_config
from dsnwatch.config import parse_duration as config_duration
from dsnwatch.text import clean

if TYPE_CHECKING:
    from dsnwatch.logs.correlator import Alert
    from dsnwatch.logs.events import LogEvent


class UsageError(ValueError):
    """Wrong use of a command: exit code 2 with one line."""


def parse_duration(text: str) -> float:
    """Seconds in `30s`, `10m`, `2h`, `7d`, `1w`; UsageError otherwise."""
    try:
        return config_duration(text)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def load(config: str | None, lab: bool) -> Config:
    """The effective configuration, or a one-line error and exit 2."""
    try:
        return load_config(config, lab=lab)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


# --- tail -------------------------------------------------------------------


def run_tail(
    cfg: Config,
    *,
    json_out: bool,
    since: str | None,
    service: str | None,
    files: list[str],
    journal: bool = False,
    duration: float | None = None,
) -> int:
    """Follow the logs, print typed events and alerts; store both in the timeline."""
    from dsnwatch.logs.correlator import Correlator
    from dsnwatch.logs.follow import DockerLogFollower, FollowerState, LogQueue, host_followers
    from dsnwatch.runtime.base import RuntimeFailure
    from dsnwatch.runtime.docker import DockerRuntime
    from dsnwatch.store import Store

    if service not in (None, "dovecot", "postfix", "both"):
        raise UsageError("--service takes dovecot, postfix or both")
    queue = LogQueue()
    followers: list[Any] = []
    if files or journal:
        followers.append(host_followers(files, queue, from_start=since is not None))
    elif cfg.runtime == "host":
        followers.append(host_followers(cfg.host.log_files, queue, from_start=since is not None))
    else:
        runtime = DockerRuntime(cfg.compose_project, base_url=cfg.docker_host)
        services: tuple[Any, ...] = (
            ("dovecot", "postfix") if service in (None, "both") else (service,)
        )
        start = time.time() - parse_duration(since) if since else time.time()
        # A wrong engine or project is a setting to fix, not an outage to wait out.
        try:
            for name in services:
                runtime.container(name)
        except RuntimeFailure as exc:
            raise UsageError(str(exc)) from None
        followers.append(DockerLogFollower(runtime, queue, services=services, since=start))
    store = Store(cfg.store)
    correlator = Correlator(cfg.mailbox or "dsn-monitor")
    for follower in followers:
        follower.start()
    deadline = None if duration is None else time.monotonic() + duration
    stopping = threading.Event()
    restore = _stop_on_signals(stopping)
    try:
        while not stopping.is_set() and (deadline is None or time.monotonic() < deadline):
            batch = queue.drain(wait=0.25)
            events: list[LogEvent] = []
            for item in batch:
                if isinstance(item, FollowerState):
                    _print_state(item.source, item.state, item.detail, json_out)
                    continue
                if service in ("dovecot", "postfix") and item.service != service:
                    continue
                events.append(item)
                _print_event(item, json_out)
                for alert in correlator.feed(item):
                    store.add_alert(alert)
                    _print_alert(alert, json_out)
            if events:
                store.add_events(events)
            sys.stdout.flush()
    except KeyboardInterrupt:
        pass  # a second Ctrl-C while the last batch was being stored
    finally:
        restore()
        for follower in followers:
            follower.stop()
        store.close()
    return 0


def _stop_on_signals(stopping: threading.Event) -> Callable[[], None]:
    """Ctrl-C and SIGTERM (a service manager's stop) end the loop after the batch in hand.

    The batch being printed is stored before the command returns, so what was shown is
    in the timeline; a second Ctrl-C stops at once. A signal ignored when the command
    started (a job in the background of a script) stays ignored. Returns what puts the
    previous handlers back.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def stop(signum: int, frame: Any) -> None:
        if stopping.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stopping.set()

    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(signum) is not signal.SIG_IGN:
            previous[signum] = signal.signal(signum, stop)

    def restore() -> None:
        for signum, handler in previous.items():
            # None: a handler Python did not install, which it cannot put back.
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)

    return restore


def _print_state(source: str, state: str, detail: str, json_out: bool) -> None:
    if json_out:
        print(json.dumps({"type": "state", "source": source, "state": state, "detail": detail}))
    else:
        print(f"-- {source}: {state}{': ' + clean(detail) if detail else ''}", file=sys.stderr)


def _print_event(event: LogEvent, json_out: bool) -> None:
    if json_out:
        print(json.dumps({"type": "event", **event.to_dict()}))
        return
    when = (event.time or "")[:19].replace("T", " ") or (event.syslog_time or "")
    parts = [when, event.service or "-", event.kind]
    for value in (event.user, event.msgid, event.queue_id, event.recipient, event.status):
        if value:
            parts.append(value)
    if event.kind == "plain":
        parts.append(event.raw)
    elif event.detail and event.kind.startswith("postfix-delivery"):
        parts.append(event.detail)
    print(clean("  ".join(parts)))


def _print_alert(alert: Alert, json_out: bool) -> None:
    if json_out:
        print(json.dumps({"type": "alert", "kind": alert.kind, "message": alert.message}))
    else:
        print(f"!! ALERT {alert.kind}: {clean(alert.message)}")


# --- list -------------------------------------------------------------------

LIST_COLUMNS = ("time", "recipient", "status", "reason", "bounce", "reporter", "subject")


def run_list(
    cfg: Config,
    *,
    fmt: str,
    since: str | None,
    reason: str | None,
    domain: str | None,
    hard: bool,
    sync: bool = True,
) -> int:
    """Sync the central mailbox into the store, then print the stored reports."""
    from dsnwatch.mailbox import MailboxError, MailboxWatcher, Progress
    from dsnwatch.store import Store

    store = Store(cfg.store)
    try:
        if cfg.retention_seconds:
            store.prune(time.time() - cfg.retention_seconds)
        if sync:
            try:
                settings = cfg.imap_settings()
            except ConfigError as exc:
                raise UsageError(str(exc)) from None

            def progress(p: Progress) -> None:
                print(f"\rreading the mailbox: {p.done}/{p.total}", end="", file=sys.stderr)

            watcher = MailboxWatcher(settings, store, on_progress=progress)
            try:
                count = watcher.sync_once()
            except MailboxError as exc:
                print(f"dsnwatch: {exc}", file=sys.stderr)
                return 1
            if count:
                print(file=sys.stderr)
        cutoff = time.time() - parse_duration(since) if since else None
        rows = store.reports(since=cutoff, reason=reason, domain=domain, hard_only=hard)
    finally:
        store.close()
    _print_rows(rows, fmt)
    return 0


def _print_rows(rows: list[dict[str, Any]], fmt: str) -> None:
    if fmt == "json":
        for row in rows:
            print(json.dumps(row))
        return
    if fmt == "csv":
        import csv

        from dsnwatch.store import REPORT_FIELDS

        writer = csv.DictWriter(sys.stdout, fieldnames=REPORT_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(show_edge=False, pad_edge=False)
    for name in LIST_COLUMNS:
        table.add_column(name, overflow="fold", no_wrap=name in ("status", "bounce"))
    for row in rows:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(row["reported_at"]))
        bounce = "hard" if row["hard_bounce"] else "soft"
        if row["reason"] in ("feedback", "vacation", "delivered"):
            bounce = "-"
        cells = [
            when,
            row["recipient"],
            row["status"] or "-",
            row["reason"],
            bounce,
            row["reporter"] or "-",
            row["original_subject"] or row["subject"] or "",
        ]
        table.add_row(*(Text(clean(str(c))) for c in cells))
    Console().print(table)
    if not rows:
        print("no reports stored yet", file=sys.stderr)


# --- export and config ----------------------------------------------------------


def run_export(cfg: Config, *, fmt: str, since: str | None) -> int:
    """Write the audit trail to standard output."""
    from dsnwatch.store import Store

    if fmt not in ("csv", "json"):
        raise UsageError("--format takes csv or json")
    cutoff = time.time() - parse_duration(since) if since else None
    store = Store(cfg.store)
    try:
        for chunk in store.export(fmt, cutoff):
            sys.stdout.write(chunk)
    finally:
        store.close()
    return 0


def run_config_show(cfg: Config, *, json_out: bool) -> int:
    """Print the effective settings with the passwords masked."""
    shown = cfg.shown()
    if json_out:
        print(json.dumps(shown, indent=1))
        return 0
    for key, value in shown.items():
        print(f"{key} = {json.dumps(value)}")
    return 0
