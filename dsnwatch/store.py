"""The store: an SQLite audit timeline of reports, log events, alerts and test runs.

It outlives the console. Reports are keyed by where they were read (mailbox,
UIDVALIDITY, UID, recipient), so reading the same message twice stores it once.
Nothing that passes through here holds a password.

A report has two times: `stored_at`, when dsnwatch read it, and `reported_at`,
when it was written (its Date header, never later than `stored_at`; `stored_at`
when it has no readable date). "Since when" is asked of `reported_at`: the first
sync of a mailbox that holds a year of bounces shows a year, not one minute.
Retention is counted from `stored_at`: how long dsnwatch keeps what it read.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from dsnwatch.logs.correlator import Alert
from dsnwatch.logs.events import LogEvent
from dsnwatch.model import Report

SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reports (
    id INTEGER PRIMARY KEY,
    stored_at REAL NOT NULL,
    mailbox TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    kind TEXT NOT NULL,
    reporter TEXT,
    recipient TEXT NOT NULL,
    recipient_domain TEXT NOT NULL,
    original_recipient TEXT,
    action TEXT,
    status TEXT,
    reply_code TEXT,
    reason TEXT NOT NULL,
    hard_bounce INTEGER NOT NULL,
    diagnostic_code TEXT,
    remote_mta TEXT,
    reporting_mta TEXT,
    last_attempt TEXT,
    feedback_type TEXT,
    original_message_id TEXT,
    original_subject TEXT,
    original_sender TEXT,
    queue_id TEXT,
    report_date TEXT,
    message_id TEXT,
    subject TEXT,
    UNIQUE (mailbox, uidvalidity, uid, recipient)
);
CREATE INDEX IF NOT EXISTS reports_time ON reports (stored_at);
CREATE INDEX IF NOT EXISTS reports_reason ON reports (reason);
CREATE TABLE IF NOT EXISTS messages (
    mailbox TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    stored_at REAL NOT NULL,
    kind TEXT NOT NULL,
    error TEXT,
    PRIMARY KEY (mailbox, uidvalidity, uid)
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    stored_at REAL NOT NULL,
    time TEXT,
    service TEXT NOT NULL,
    kind TEXT NOT NULL,
    user TEXT,
    msgid TEXT,
    queue_id TEXT,
    recipient TEXT,
    status TEXT,
    dsn TEXT,
    relay TEXT,
    detail TEXT,
    raw TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_time ON events (stored_at);
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY,
    stored_at REAL NOT NULL,
    time TEXT,
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    msgid TEXT,
    queue_id TEXT
);
CREATE TABLE IF NOT EXISTS test_runs (
    id INTEGER PRIMARY KEY,
    started_at REAL NOT NULL,
    finished_at REAL,
    test TEXT NOT NULL,
    token TEXT NOT NULL,
    passed INTEGER,
    verdict TEXT,
    stages TEXT
);
CREATE TABLE IF NOT EXISTS sync_state (
    mailbox TEXT PRIMARY KEY,
    uidvalidity INTEGER NOT NULL,
    last_uid INTEGER NOT NULL
);
"""

_REPORT_COLUMNS = (
    "stored_at",
    "reported_at",
    "mailbox",
    "uidvalidity",
    "uid",
    "kind",
    "reporter",
    "recipient",
    "recipient_domain",
    "original_recipient",
    "action",
    "status",
    "reply_code",
    "reason",
    "hard_bounce",
    "diagnostic_code",
    "remote_mta",
    "reporting_mta",
    "last_attempt",
    "feedback_type",
    "original_message_id",
    "original_subject",
    "original_sender",
    "queue_id",
    "report_date",
    "message_id",
    "subject",
)
# The columns of a report row as `list --csv` and `export --format csv` write them.
REPORT_FIELDS = ("id", *_REPORT_COLUMNS)


# MIGRATIONS[n] takes a store from schema n - 1 to n. Never edit a released step: add one.
MIGRATIONS: dict[int, list[str]] = {
    1: [statement.strip() for statement in _SCHEMA.split(";") if statement.strip()],
    2: [
        "ALTER TABLE reports ADD COLUMN reported_at REAL",
        "UPDATE reports SET reported_at = min(coalesce(dsnwatch_epoch(report_date), stored_at),"
        " stored_at)",
        "CREATE INDEX IF NOT EXISTS reports_reported ON reports (reported_at)",
    ],
}


def date_epoch(value: str | None) -> float | None:
    """A Date header as seconds since the epoch (UTC when it names no zone), or None."""
    if not value:
        return None
    try:
        stamp = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    try:
        if stamp.tzinfo is None:
            return stamp.replace(tzinfo=UTC).timestamp()
        return stamp.timestamp()
    except (ValueError, OverflowError, OSError):
        return None


def reported_time(date: str | None, stored_at: float) -> float:
    """When a report was written: its date, never later than when it was stored."""
    epoch = date_epoch(date)
    return stored_at if epoch is None else min(epoch, stored_at)


class StoreError(Exception):
    """The store cannot be opened or written; the message says what to do."""


@dataclass(slots=True, frozen=True)
class Where:
    """Where a message was read: the key that makes storing it idempotent."""

    mailbox: str
    uidvalidity: int
    uid: int


class Store:
    """The timeline. One connection; use it from one thread at a time."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path) if str(path) != ":memory:" else None
        try:
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), check_same_thread=False)
            # For migration 2, which dates the reports stored before it.
            self._db.create_function("dsnwatch_epoch", 1, date_epoch, deterministic=True)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the store at {path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    def _migrate(self) -> None:
        """Bring the file to SCHEMA_VERSION, one migration at a time, each in a transaction."""
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        version = int(row[0]) if row else 0
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the store {self.path} was written by a newer dsnwatch (schema {version});"
                " upgrade dsnwatch or point DSNWATCH_STORE elsewhere"
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self._db:
                for statement in MIGRATIONS[target]:
                    self._db.execute(statement)
                self._db.execute(
                    "INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT(key)"
                    " DO UPDATE SET value=excluded.value",
                    (str(target),),
                )

    @property
    def schema_version(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        return int(row[0]) if row else 0

    def prune(self, older_than: float) -> int:
        """Delete what was stored before `older_than` (retention); the rows deleted.

        The messages table keeps its keys, so a report pruned from the timeline is
        not read again from a mailbox that still holds it.
        """
        deleted = 0
        with self._db:
            for table, column in (
                ("reports", "stored_at"),
                ("events", "stored_at"),
                ("alerts", "stored_at"),
                ("test_runs", "started_at"),
            ):
                cur = self._db.execute(f"DELETE FROM {table} WHERE {column} < ?", (older_than,))
                deleted += cur.rowcount
        return deleted

    def summary(self, since: float | None = None) -> dict[str, Any]:
        """What failed, for whom, why and since when: counts by reason, provider and domain.

        `first` and `last` are report times (`reported_at`), as is `since`.
        """
        where, args = ("WHERE reported_at >= ?", [since]) if since is not None else ("", [])
        out: dict[str, Any] = {}
        for key, column in (
            ("by_reason", "reason"),
            ("by_provider", "coalesce(reporter, 'unknown')"),
            ("by_domain", "recipient_domain"),
        ):
            rows = self._db.execute(
                f"SELECT {column}, count(*), sum(hard_bounce), min(reported_at), max(reported_at)"
                f" FROM reports {where} GROUP BY 1 ORDER BY 2 DESC, 1",
                args,
            ).fetchall()
            out[key] = [
                {"name": r[0], "count": r[1], "hard": r[2], "first": r[3], "last": r[4]}
                for r in rows
            ]
        return out

    # --- writing ------------------------------------------------------------

    def add_report(self, where: Where, report: Report, now: float | None = None) -> int:
        """Store one read message; returns how many recipient rows were new."""
        return self.add_reports([(where, report)], now)

    def add_reports(self, items: list[tuple[Where, Report]], now: float | None = None) -> int:
        """Store read messages in one transaction; returns how many recipient rows were new."""
        stamp = time.time() if now is None else now
        placeholders = ", ".join("?" for _ in _REPORT_COLUMNS)
        insert = (
            f"INSERT OR IGNORE INTO reports ({', '.join(_REPORT_COLUMNS)}) VALUES ({placeholders})"
        )
        added = 0
        with self._db:
            for where, report in items:
                cur = self._db.execute(
                    "INSERT OR IGNORE INTO messages VALUES (?, ?, ?, ?, ?, ?)",
                    (where.mailbox, where.uidvalidity, where.uid, stamp, report.kind, report.error),
                )
                if cur.rowcount == 0:
                    continue  # read before: stored once, whatever happens
                # One message's times, shared by each of its recipient rows.
                times = (stamp, reported_time(report.date, stamp))
                rows = [self._report_row(where, report, r, times) for r in report.reports]
                self._db.executemany(insert, rows)
                added += len(rows)
        return added

    @staticmethod
    def _report_row(
        where: Where, report: Report, entry: Any, times: tuple[float, float]
    ) -> tuple[Any, ...]:
        return (
            *times,  # stored_at, reported_at
            where.mailbox,
            where.uidvalidity,
            where.uid,
            report.kind,
            report.reporter,
            entry.recipient,
            entry.recipient.rpartition("@")[2].lower(),
            entry.original_recipient,
            entry.action,
            entry.status,
            entry.reply_code,
            entry.reason,
            int(entry.hard_bounce),
            entry.diagnostic_code,
            entry.remote_mta,
            entry.reporting_mta,
            entry.last_attempt,
            entry.feedback_type,
            report.original_message_id,
            report.original_subject,
            report.original_sender,
            report.queue_id,
            report.date,
            report.message_id,
            report.subject,
        )

    def has_message(self, where: Where) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM messages WHERE mailbox=? AND uidvalidity=? AND uid=?",
            (where.mailbox, where.uidvalidity, where.uid),
        ).fetchone()
        return row is not None

    def add_events(self, events: Iterable[LogEvent], now: float | None = None) -> int:
        """Store a batch of log events (one transaction)."""
        stamp = time.time() if now is None else now
        rows = [
            (
                stamp,
                e.time,
                e.service,
                e.kind,
                e.user,
                e.msgid,
                e.queue_id,
                e.recipient,
                e.status,
                e.dsn,
                e.relay,
                e.detail,
                e.raw,
            )
            for e in events
        ]
        with self._db:
            self._db.executemany(
                "INSERT INTO events (stored_at, time, service, kind, user, msgid, queue_id,"
                " recipient, status, dsn, relay, detail, raw)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        return len(rows)

    def add_alert(self, alert: Alert, now: float | None = None) -> None:
        stamp = time.time() if now is None else now
        with self._db:
            self._db.execute(
                "INSERT INTO alerts (stored_at, time, kind, message, msgid, queue_id)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (stamp, alert.time, alert.kind, alert.message, alert.msgid, alert.queue_id),
            )

    def add_test_run(
        self,
        test: str,
        token: str,
        started_at: float,
        finished_at: float,
        passed: bool,
        verdict: str,
        stages: list[dict[str, Any]],
    ) -> int:
        with self._db:
            cur = self._db.execute(
                "INSERT INTO test_runs (started_at, finished_at, test, token, passed, verdict,"
                " stages) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (started_at, finished_at, test, token, int(passed), verdict, json.dumps(stages)),
            )
        return int(cur.lastrowid or 0)

    # --- sync state -----------------------------------------------------------

    def sync_state(self, mailbox: str) -> tuple[int, int] | None:
        """(UIDVALIDITY, highest UID stored) of a mailbox, or None before the first sync."""
        row = self._db.execute(
            "SELECT uidvalidity, last_uid FROM sync_state WHERE mailbox=?", (mailbox,)
        ).fetchone()
        return (int(row[0]), int(row[1])) if row else None

    def set_sync_state(self, mailbox: str, uidvalidity: int, last_uid: int) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO sync_state VALUES (?, ?, ?) ON CONFLICT(mailbox) DO UPDATE"
                " SET uidvalidity=excluded.uidvalidity, last_uid=excluded.last_uid",
                (mailbox, uidvalidity, last_uid),
            )

    # --- reading ----------------------------------------------------------------

    def reports(
        self,
        *,
        since: float | None = None,
        reason: str | None = None,
        domain: str | None = None,
        hard_only: bool = False,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Stored recipient reports, newest report first, filtered (`since`: report time)."""
        where: list[str] = []
        args: list[Any] = []
        if since is not None:
            where.append("reported_at >= ?")
            args.append(since)
        if reason:
            where.append("reason = ?")
            args.append(reason)
        if domain:
            where.append("recipient_domain = ?")
            args.append(domain.lower())
        if hard_only:
            where.append("hard_bounce = 1")
        sql = "SELECT * FROM reports"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY reported_at DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return self._dicts(sql, args)

    def events_about(
        self,
        *,
        msgids: Iterable[str] = (),
        queue_ids: Iterable[str] = (),
        recipients: Iterable[str] = (),
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        """Stored log events naming any of these Message-IDs, queue ids or recipients."""
        where: list[str] = []
        args: list[Any] = []
        for column, values in (
            ("msgid", msgids),
            ("queue_id", queue_ids),
            ("recipient", recipients),
        ):
            wanted = sorted({v for v in values if v})
            if wanted:
                where.append(f"{column} IN ({', '.join('?' for _ in wanted)})")
                args.extend(wanted)
        if not where:
            return []
        sql = f"SELECT * FROM events WHERE {' OR '.join(where)} ORDER BY id DESC LIMIT ?"
        return self._dicts(sql, [*args, limit])[::-1]

    def count_messages(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM messages").fetchone()[0])

    def count_report_rows(self) -> int:
        """Recipient rows (a report with several recipients has one each)."""
        return int(self._db.execute("SELECT count(*) FROM reports").fetchone()[0])

    def table(self, name: str, since: float | None = None) -> list[dict[str, Any]]:
        """Every row of one timeline table since a time (a report's: when it was written)."""
        if name not in ("reports", "events", "alerts", "test_runs"):
            raise ValueError(f"no table named {name}")
        column = {"test_runs": "started_at", "reports": "reported_at"}.get(name, "stored_at")
        sql = f"SELECT * FROM {name}"
        args: list[Any] = []
        if since is not None:
            sql += f" WHERE {column} >= ?"
            args.append(since)
        return self._dicts(sql + " ORDER BY id", args)

    def _dicts(self, sql: str, args: list[Any]) -> list[dict[str, Any]]:
        cur = self._db.execute(sql, args)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def export(self, fmt: str, since: float | None = None) -> Iterator[str]:
        """The audit trail as CSV (reports) or JSON lines (every table, tagged)."""
        if fmt == "csv":
            rows = self.table("reports", since)
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=REPORT_FIELDS)
            writer.writeheader()
            yield buffer.getvalue()
            for row in rows:
                buffer.seek(0)
                buffer.truncate()
                writer.writerow(row)
                yield buffer.getvalue()
            return
        if fmt == "json":
            for name in ("reports", "events", "alerts", "test_runs"):
                for row in self.table(name, since):
                    yield json.dumps({"table": name, **row}) + "\n"
            return
        raise ValueError(f"unknown export format {fmt!r}: use csv or json")
