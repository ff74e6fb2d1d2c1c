"""The SQLite timeline: idempotent report storage, sync state, filters, export."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from conftest import fixture_bytes
from hypothesis import given, settings
from hypothesis import strategies as st

from dsnwatch.dsn import read_report
from dsnwatch.logs.correlator import Alert
from dsnwatch.logs.readers import read_line
from dsnwatch.store import Store, StoreError, Where


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "dsnwatch.sqlite")


def test_same_message_is_stored_once(store: Store) -> None:
    report = read_report(fixture_bytes("postfix-userunknown.eml"))
    where = Where("INBOX", 7, 1)
    assert store.add_report(where, report, now=100.0) == 1
    assert store.add_report(where, report, now=101.0) == 0
    assert store.count_messages() == 1
    [row] = store.reports()
    assert row["recipient"] == "nobody@remote.test"
    assert row["reason"] == "userunknown"
    assert row["hard_bounce"] == 1
    assert row["queue_id"] == "AB12CD34"


def test_new_uidvalidity_is_a_new_message(store: Store) -> None:
    report = read_report(fixture_bytes("qmail-freetext.eml"))
    store.add_report(Where("INBOX", 7, 1), report)
    store.add_report(Where("INBOX", 8, 1), report)
    assert store.count_messages() == 2


def test_non_reports_are_remembered_without_rows(store: Store) -> None:
    report = read_report(fixture_bytes("plain-mail.eml"))
    assert store.add_report(Where("INBOX", 1, 5), report) == 0
    assert store.has_message(Where("INBOX", 1, 5))
    assert store.reports() == []


def test_filters(store: Store) -> None:
    store.add_report(Where("INBOX", 1, 1), read_report(fixture_bytes("postfix-userunknown.eml")))
    store.add_report(Where("INBOX", 1, 2), read_report(fixture_bytes("global-dsn-utf8.eml")))
    assert [r["reason"] for r in store.reports(hard_only=True)] == ["userunknown"]
    assert [r["reason"] for r in store.reports(reason="mailboxfull")] == ["mailboxfull"]
    assert [r["recipient_domain"] for r in store.reports(domain="REMOTE.test")] == ["remote.test"]


def test_sync_state_round_trip(store: Store) -> None:
    assert store.sync_state("INBOX") is None
    store.set_sync_state("INBOX", 42, 10)
    store.set_sync_state("INBOX", 42, 11)
    assert store.sync_state("INBOX") == (42, 11)


def test_export_csv_and_json(store: Store) -> None:
    store.add_report(Where("INBOX", 1, 1), read_report(fixture_bytes("postfix-userunknown.eml")))
    store.add_events(
        [read_line("Dec  3 16:00:00 h postfix/qmgr[1]: ABCDEF123: from=<>, size=1, nrcpt=1")]
    )
    store.add_alert(Alert("redirect-loop", "loop at x"))
    store.add_test_run("local", "tok", 1.0, 2.0, True, "passed", [{"stage": "sent"}])
    rows = list(csv.DictReader(io.StringIO("".join(store.export("csv")))))
    assert [r["recipient"] for r in rows] == ["nobody@remote.test"]
    tables = [json.loads(line)["table"] for line in store.export("json")]
    assert tables == ["reports", "events", "alerts", "test_runs"]
    with pytest.raises(ValueError, match="csv or json"):
        list(store.export("xml"))


def test_store_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite"
    first = Store(path)
    first.add_report(Where("INBOX", 1, 1), read_report(fixture_bytes("qmail-freetext.eml")))
    first.close()
    again = Store(path)
    assert again.count_messages() == 1


def test_unwritable_place_gives_a_one_line_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError) as info:
        Store(blocker / "sub" / "db.sqlite")
    assert "\n" not in str(info.value)
    assert "cannot open the store" in str(info.value)


def test_a_new_store_is_at_the_current_schema(store: Store) -> None:
    from dsnwatch.store import SCHEMA_VERSION

    assert store.schema_version == SCHEMA_VERSION


def test_a_store_from_a_newer_dsnwatch_is_refused(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "future.sqlite"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value='999' WHERE key='schema_version'")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="newer dsnwatch"):
        Store(path)


def test_migrations_run_in_order_from_an_older_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dsnwatch import store as store_module

    path = tmp_path / "old.sqlite"
    Store(path).close()
    nxt = store_module.SCHEMA_VERSION + 1
    steps = dict(store_module.MIGRATIONS)
    steps[nxt] = ["ALTER TABLE reports ADD COLUMN note TEXT"]
    monkeypatch.setattr(store_module, "MIGRATIONS", steps)
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", nxt)
    upgraded = Store(path)
    assert upgraded.schema_version == nxt
    columns = [r[1] for r in upgraded._db.execute("PRAGMA table_info(reports)")]
    assert "note" in columns


def test_summary_groups_by_reason_provider_and_domain(store: Store) -> None:
    store.add_report(Where("INBOX", 1, 1), read_report(fixture_bytes("postfix-userunknown.eml")))
    store.add_report(Where("INBOX", 1, 2), read_report(fixture_bytes("qmail-freetext.eml")))
    store.add_report(Where("INBOX", 1, 3), read_report(fixture_bytes("global-dsn-utf8.eml")))
    summary = store.summary()
    reasons = {r["name"]: (r["count"], r["hard"]) for r in summary["by_reason"]}
    assert reasons == {"userunknown": (2, 2), "mailboxfull": (1, 0)}
    providers = {r["name"] for r in summary["by_provider"]}
    assert {"Postfix", "qmail"} <= providers


def test_retention_prunes_old_rows_but_remembers_what_was_read(store: Store) -> None:
    report = read_report(fixture_bytes("postfix-userunknown.eml"))
    store.add_report(Where("INBOX", 1, 1), report, now=100.0)
    store.add_report(
        Where("INBOX", 1, 2), read_report(fixture_bytes("qmail-freetext.eml")), now=500.0
    )
    assert store.prune(older_than=200.0) == 1
    assert [r["recipient"] for r in store.reports()] == ["gone@example.net"]
    # The pruned message is not stored again when the mailbox still holds it.
    assert store.add_report(Where("INBOX", 1, 1), report) == 0


# Tue, 1 Dec 2026 10:00:00 +0000: the Date of postfix-userunknown.eml.
DEC_1 = 1_796_119_200.0


def test_a_report_is_dated_by_its_date_header_never_later_than_it_was_stored(
    store: Store,
) -> None:
    report = read_report(fixture_bytes("postfix-userunknown.eml"))
    store.add_report(Where("INBOX", 1, 1), report, now=DEC_1 + 86_400)
    store.add_report(Where("INBOX", 2, 1), report, now=DEC_1 - 3_600)  # a date in the future
    undated = read_report(fixture_bytes("qmail-freetext.eml").replace(b"Date:", b"X-Was-Date:"))
    store.add_report(Where("INBOX", 3, 1), undated, now=DEC_1 + 5)
    times = {r["uidvalidity"]: (r["reported_at"], r["stored_at"]) for r in store.reports()}
    assert times == {
        1: (DEC_1, DEC_1 + 86_400),
        2: (DEC_1 - 3_600, DEC_1 - 3_600),
        3: (DEC_1 + 5, DEC_1 + 5),
    }


def test_since_and_summary_ask_when_the_report_was_written(store: Store) -> None:
    # A first sync a week after the bounce: the bounce is a week old, not new.
    report = read_report(fixture_bytes("postfix-userunknown.eml"))
    store.add_report(Where("INBOX", 1, 1), report, now=DEC_1 + 7 * 86_400)
    assert store.reports(since=DEC_1 + 86_400) == []
    assert [r["uid"] for r in store.reports(since=DEC_1 - 60)] == [1]
    [by_reason] = store.summary()["by_reason"]
    assert (by_reason["first"], by_reason["last"]) == (DEC_1, DEC_1)
    assert store.summary(since=DEC_1 + 1)["by_reason"] == []
    assert store.table("reports", since=DEC_1 + 1) == []


def test_newest_report_first_whatever_order_they_were_stored_in(store: Store) -> None:
    older = read_report(fixture_bytes("postfix-userunknown.eml"))  # 10:00
    raw = fixture_bytes("qmail-freetext.eml")
    newer = read_report(raw.replace(b"Date: 1 Dec 2026 10:00", b"Date: 1 Dec 2026 12:00", 1))
    store.add_report(Where("INBOX", 1, 2), newer, now=DEC_1 + 86_400)
    store.add_report(Where("INBOX", 1, 1), older, now=DEC_1 + 86_400)
    assert [r["uid"] for r in store.reports()] == [2, 1]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Tue, 1 Dec 2026 10:00:00 +0000", DEC_1),
        ("Tue, 1 Dec 2026 11:00:00 +0100", DEC_1),
        ("1 Dec 2026 10:00:00 -0000", DEC_1),  # no zone known: read as UTC
        ("", None),
        (None, None),
        ("yesterday", None),
        ("Tue, 41 Dec 2026 10:00:00 +0000", None),
        ("Tue, 1 Dec 99999 10:00:00 +0000", None),
    ],
)
def test_date_headers_read_or_refused(value: str | None, expected: float | None) -> None:
    from dsnwatch.store import date_epoch

    assert date_epoch(value) == expected


def test_the_upgrade_to_schema_2_dates_the_reports_already_stored(tmp_path: Path) -> None:
    import sqlite3

    from dsnwatch import store as store_module

    path = tmp_path / "v1.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    for statement in store_module.MIGRATIONS[1]:
        db.execute(statement)
    db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    row = (
        "INSERT INTO reports (stored_at, mailbox, uidvalidity, uid, kind, recipient,"
        " recipient_domain, reason, hard_bounce, report_date) VALUES (?, 'INBOX', 1, ?,"
        " 'delivery-status', 'a@b.example', 'b.example', 'userunknown', 1, ?)"
    )
    db.execute(row, (DEC_1 + 900, 1, "Tue, 1 Dec 2026 10:00:00 +0000"))
    db.execute(row, (DEC_1 + 900, 2, "not a date"))
    db.execute(row, (DEC_1 + 900, 3, None))
    db.commit()
    db.close()
    upgraded = Store(path)
    assert upgraded.schema_version == 2
    dated = {r["uid"]: r["reported_at"] for r in upgraded.reports()}
    assert dated == {1: DEC_1, 2: DEC_1 + 900, 3: DEC_1 + 900}


_DATE_PIECES = [
    *(
        [
            "Tue,",
            "1",
            "Dec",
            "2026",
            "10:00:00",
            "+0000",
            "(UTC)",
            "GMT",
            "-9999",
            "+2400",
            "99999",
            "60:60:60",
            "31",
            "Feb",
            "0000",
        ]
    ),
    " ",
    ",",
    ":",
    "\x00",
    "é",
    "\ud800",
]


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.text(max_size=40), st.lists(st.sampled_from(_DATE_PIECES), max_size=12).map(" ".join)
    )
)
def test_any_date_header_is_read_or_refused_never_raised(value: str) -> None:
    """Hostile or broken Date headers reach date_epoch from mail and from the upgrade."""
    from dsnwatch.store import date_epoch

    result = date_epoch(value)
    assert result is None or isinstance(result, float)
