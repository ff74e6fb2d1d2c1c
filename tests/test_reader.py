"""The DSN reader on messages we wrote, one behaviour per test."""

from __future__ import annotations

from conftest import fixture_bytes

from dsnwatch.dsn import read_report


def test_rfc3464_bounce_gives_every_field() -> None:
    report = read_report(fixture_bytes("postfix-userunknown.eml"), source="x")
    assert report.kind == "delivery-status"
    assert report.reporter == "Postfix"
    assert report.queue_id == "AB12CD34"
    assert report.original_message_id == "<token-1234@lab.test>"
    assert report.original_subject == "Quarterly figures"
    assert report.original_sender == "sender@lab.test"
    [entry] = report.reports
    assert entry.recipient == "nobody@remote.test"
    assert entry.original_recipient == "nobody@remote.test"
    assert entry.action == "failed"
    assert entry.status == "5.1.1"
    assert entry.reply_code == "550"
    assert entry.reason == "userunknown"
    assert entry.hard_bounce is True
    assert entry.remote_mta == "mx.remote.test"
    assert entry.reporting_mta == "mail.lab.test"
    assert "User unknown" in (entry.diagnostic_code or "")


def test_global_delivery_status_keeps_utf8_address() -> None:
    report = read_report(fixture_bytes("global-dsn-utf8.eml"))
    assert report.kind == "delivery-status"
    [entry] = report.reports
    assert entry.recipient == "δοκιμή@παράδειγμα.δοκιμή"
    assert entry.status == "5.2.2"
    assert entry.reason == "mailboxfull"
    assert entry.hard_bounce is False


def test_arf_complaint_names_the_complaining_recipient() -> None:
    report = read_report(fixture_bytes("arf-abuse.eml"))
    assert report.kind == "complaint"
    [entry] = report.reports
    assert entry.recipient == "reader@example.net"
    assert entry.reason == "feedback"
    assert entry.feedback_type == "abuse"
    assert entry.hard_bounce is False
    assert report.original_message_id == "<news-1@lab.test>"


def test_out_of_office_is_an_auto_reply_not_a_failure() -> None:
    report = read_report(fixture_bytes("out-of-office.eml"))
    assert report.kind == "auto-reply"
    assert [r.reason for r in report.reports] == ["vacation"]
    assert report.reports[0].recipient == "kim@example.net"


def test_qmail_free_text_gives_status_from_the_text() -> None:
    report = read_report(fixture_bytes("qmail-freetext.eml"))
    assert report.kind == "delivery-status"
    [entry] = report.reports
    assert entry.recipient == "gone@example.net"
    assert entry.status == "5.1.1"
    assert entry.reason == "userunknown"
    assert entry.hard_bounce is True
    assert report.original_message_id == "<q-1@lab.test>"


def test_ordinary_mail_is_not_a_report() -> None:
    report = read_report(fixture_bytes("plain-mail.eml"))
    assert report.kind == "not-a-report"
    assert report.reports == []


def test_crlf_and_cr_line_endings_read_the_same_as_lf() -> None:
    lf = fixture_bytes("postfix-userunknown.eml")
    want = read_report(lf).to_dict()
    for ending in (b"\r\n", b"\r"):
        got = read_report(lf.replace(b"\n", ending)).to_dict()
        assert got == want


def test_broken_mime_still_finds_the_recipient() -> None:
    data = fixture_bytes("postfix-userunknown.eml")
    # Cut before the closing boundary and in the middle of the headers part.
    cut = data[: data.index(b"Subject: Quarterly")]
    report = read_report(cut)
    assert [r.recipient for r in report.reports] == ["nobody@remote.test"]


def test_badly_encoded_headers_do_not_stop_the_reader() -> None:
    data = fixture_bytes("qmail-freetext.eml").replace(
        b"Subject: failure notice", b"Subject: =?x-unknown-charset?Q?fa=FFilure?= notice \xff\xfe"
    )
    report = read_report(data)
    assert report.kind == "delivery-status"
    assert report.reports[0].recipient == "gone@example.net"


def test_garbage_gives_no_exception() -> None:
    for data in (b"", b"\x00\xff" * 100, b"Content-Type: multipart/report; boundary=\n\n--\n--"):
        report = read_report(data)
        assert report.kind in ("not-a-report", "error")


def test_delivery_status_without_blank_line_between_blocks() -> None:
    data = fixture_bytes("postfix-userunknown.eml").replace(
        b"Arrival-Date: Tue,  1 Dec 2026 09:59:59 +0000 (UTC)\n\n",
        b"Arrival-Date: Tue,  1 Dec 2026 09:59:59 +0000 (UTC)\n",
    )
    report = read_report(data)
    assert [r.recipient for r in report.reports] == ["nobody@remote.test"]
    assert report.reports[0].status == "5.1.1"


def test_raw_8bit_byte_beside_an_encoded_word_reads() -> None:
    # Found by the fuzz campaign: the standard library raises CharsetError here.
    data = fixture_bytes("hostile-subject.eml").replace(
        b"Subject: [/INBOX]", b"Subject: \x80[/INBOX]"
    )
    report = read_report(data)
    assert report.kind == "delivery-status"
    assert report.subject is not None and "Undelivered" in report.subject
