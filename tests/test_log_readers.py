"""Log readers on verbatim lines of mailcow, Dovecot's own format and Docker's timestamps."""

from __future__ import annotations

import pytest

from dsnwatch.logs.readers import read_line

MAILCOW_REDIRECT = (
    "Dec  3 16:00:09 a3865add0dfb dovecot: lmtp(carol@example.org)<24497><AEoiGwmSEWuxXwAAg+zDdQ>:"
    " sieve: msgid=<20240101000000.T3@mx.example.org>: redirect action: forwarded to"
    " <dsn-monitor@example.org>"
)


def test_mailcow_redirect_line() -> None:
    e = read_line(MAILCOW_REDIRECT)
    assert e.kind == "sieve-redirect"
    assert e.service == "dovecot"
    assert e.host == "a3865add0dfb"
    assert e.syslog_time == "Dec  3 16:00:09"
    assert e.user == "carol@example.org"
    assert e.session == "AEoiGwmSEWuxXwAAg+zDdQ"
    assert e.msgid == "<20240101000000.T3@mx.example.org>"
    assert e.recipient == "dsn-monitor@example.org"


def test_docker_timestamp_and_tty_carriage_return() -> None:
    e = read_line("2026-12-03T16:00:09.123456789Z " + MAILCOW_REDIRECT + "\r\n")
    assert e.time == "2026-12-03T16:00:09.123456789Z"
    assert e.kind == "sieve-redirect"
    assert not e.raw.endswith("\r")


@pytest.mark.parametrize(
    ("tail", "kind", "field", "value"),
    [
        (
            "redirect action: discarded duplicate forward to <dsn-monitor@example.org>",
            "sieve-redirect-duplicate",
            "recipient",
            "dsn-monitor@example.org",
        ),
        (
            "redirect action: not forwarding message to <dsn-monitor@example.org>: the"
            " `x-sieve-redirected-from' header indicates a mail loop",
            "sieve-redirect-loop",
            "recipient",
            "dsn-monitor@example.org",
        ),
        (
            "redirect action: failed to redirect message to <dsn-monitor@example.org>:"
            " smtp(127.0.0.1:2599): RCPT TO failed: Failed to connect to remote server"
            " (temporary failure)",
            "sieve-redirect-failed",
            "recipient",
            "dsn-monitor@example.org",
        ),
        (
            "discard action: Marked message to be discarded if not explicitly delivered"
            " (discard action)",
            "sieve-discard",
            "kind",
            "sieve-discard",
        ),
        ("stored mail into mailbox 'INBOX'", "sieve-keep", "mailbox", "INBOX"),
        (
            "fileinto action: stored mail into mailbox 'Bounces'",
            "sieve-fileinto",
            "mailbox",
            "Bounces",
        ),
        (
            "fileinto action: failed to store into mailbox 'NoSuchFolder': Mailbox doesn't"
            " exist: NoSuchFolder",
            "sieve-store-failed",
            "mailbox",
            "NoSuchFolder",
        ),
        (
            "sent vacation response to <test2@example.net>",
            "sieve-vacation",
            "recipient",
            "test2@example.net",
        ),
    ],
)
def test_every_sieve_action(tail: str, kind: str, field: str, value: str) -> None:
    for prefix in (
        "Dec 03 16:00:28 lmtp(erin@example.org)<25114><BiQ2GBySEWsaYgAAg+zDdQ>: Info: sieve: ",
        "Dec  3 16:00:28 0b10bd82d601 dovecot: lmtp(erin@example.org)<25114><BiQ2GBySEWsa>: sieve: ",
    ):
        e = read_line(prefix + "msgid=<m1@example.org>: " + tail)
        assert e.kind == kind, prefix
        assert getattr(e, field) == value
        assert e.msgid == "<m1@example.org>"
        assert e.user == "erin@example.org"


def test_unspecified_msgid_is_none() -> None:
    e = read_line(
        "Dec 03 16:06:53 lmtp(alice@example.org)<31517><EKLIOZ2TEWsdewAAg+zDdQ>: Info: sieve:"
        " msgid=unspecified: redirect action: forwarded to <dsn-monitor@example.org>"
    )
    assert e.kind == "sieve-redirect"
    assert e.msgid is None


def test_custom_deliver_log_format_with_sender_and_subject() -> None:
    e = read_line(
        "Dec 03 16:09:21 lmtp(ivan@example.org)<1112><ROZ8BDGUEWtYBAAAg+zDdQ>: Info: sieve:"
        ' msgid=<20240101000000.FMT1@mx.example.org> env_from=<> subject="Undelivered Mail'
        ' Returned to Sender": redirect action: forwarded to <dsn-monitor@example.org>'
    )
    assert e.kind == "sieve-redirect"
    assert e.msgid == "<20240101000000.FMT1@mx.example.org>"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (
            "Error: sieve: dsn: line 4: expected end of command ';' or the beginning of a"
            " compound block '{', but found '}'",
            "sieve-compile-error",
        ),
        ("Error: sieve: dsn: parse failed", "sieve-compile-error"),
        ("Error: sieve: Failed to compile script `/srv/lab/dsn.sieve'", "sieve-compile-error"),
        (
            "Error: sieve: Execution of script /srv/lab/global-before/dsn.sieve was aborted due"
            " to temporary failure",
            "sieve-runtime-error",
        ),
        (
            "Error: sieve: binary /srv/lab/global-before/dsn.svbin: save: failed to create"
            " temporary file: Permission denied",
            "sieve-binary-error",
        ),
        (
            "Error: sieve: The LDA Sieve plugin does not have permission to save global Sieve"
            " script binaries; global Sieve scripts like `/x.sieve' need to be pre-compiled"
            " using the sievec tool",
            "sieve-binary-error",
        ),
        ("Info: msgid=<a@b>: saved mail to INBOX", "dovecot-saved"),
    ],
)
def test_sieve_errors_and_core_saves(text: str, kind: str) -> None:
    e = read_line(f"Dec 03 16:00:56 lmtp(gina@example.org)<25501><iJGXDTiSEWudYwAAg+zDdQ>: {text}")
    assert e.kind == kind
    assert e.is_alerting == kind.endswith("error")


def test_postfix_bounced_delivery() -> None:
    e = read_line(
        "Jan 23 22:11:07 050ddf1649f8 postfix/smtp[706]: 890EB3023EB: to=<nobody@remote.test>,"
        " relay=mx.remote.test[127.0.0.1]:2525, delay=0.1, delays=0/0/0/0.1, dsn=5.1.1,"
        " status=bounced (host mx.remote.test[127.0.0.1] said: 550 5.1.1 <nobody@remote.test>:"
        " Recipient address rejected: User unknown (in reply to RCPT TO command))"
    )
    assert e.kind == "postfix-delivery"
    assert e.service == "postfix"
    assert e.program == "postfix/smtp"
    assert e.queue_id == "890EB3023EB"
    assert e.recipient == "nobody@remote.test"
    assert e.relay == "mx.remote.test[127.0.0.1]:2525"
    assert e.dsn == "5.1.1"
    assert e.status == "bounced"
    assert e.detail is not None and e.detail.startswith("host mx.remote.test")
    assert e.detail.endswith("(in reply to RCPT TO command)")
    assert e.is_alerting


def test_postfix_deferred_through_lmtp_to_dovecot() -> None:
    e = read_line(
        "Jan 23 22:11:07 050ddf1649f8 postfix/lmtp[706]: 890EB3023EB: to=<email@domain.tld>,"
        " relay=dovecot[172.22.1.250]:24, delay=130376, delays=130376/0.02/0.02/0.01,"
        " dsn=4.2.0, status=deferred (host dovecot[172.22.1.250] said: 451 4.2.0"
        " <email@domain.tld> Execution of Sieve filters was aborted due to temporary failure"
        " (in reply to end of DATA command))"
    )
    assert (e.kind, e.status, e.dsn) == ("postfix-delivery", "deferred", "4.2.0")


@pytest.mark.parametrize(
    "notice",
    [
        "sender non-delivery notification",
        "postmaster non-delivery notification",
        "sender delay notification",
    ],
)
def test_postfix_notices_link_the_new_queue_id(notice: str) -> None:
    e = read_line(
        f"Dec  3 16:00:00 a3865add0dfb postfix/bounce[99]: C211317895A: {notice}: CAE0417895E"
    )
    assert e.kind == "postfix-bounce-notice"
    assert e.queue_id == "C211317895A"
    assert e.new_queue_id == "CAE0417895E"
    assert e.detail == notice


def test_postfix_null_sender_and_message_id() -> None:
    q = read_line(
        "Dec  3 16:00:00 a3865add0dfb postfix/qmgr[9]: CAE0417895E: from=<>, size=2097,"
        " nrcpt=1 (queue active)"
    )
    assert (q.kind, q.sender) == ("postfix-queued", "")
    m = read_line(
        "Oct  9 14:53:48 a3865add0dfb postfix/cleanup[985]: 2D43C8243D54:"
        " message-id=<8cdc@t-online.de>"
    )
    assert (m.kind, m.msgid) == ("postfix-message-id", "<8cdc@t-online.de>")


@pytest.mark.parametrize(
    "line",
    [
        "",
        "\x1b]52;c;aGVsbG8=\x07 [@click=app.quit] [/INBOX]",
        "2024-10-09T12:53:48.208349286Z INFO success: dovecot entered RUNNING state",
        "Dec  3 16:00:00 host dovecot: " + "x" * 1_000_000,
        "Dec  3 16:00:00 host postfix/smtp[1]: ABCDEF1234: to=<" + "a" * 100_000,
        "\udcff\udcfe invalid utf-8 as surrogates",
        "Dec  3 16:00:00 host dovecot: lmtp(",
    ],
)
def test_hostile_and_odd_lines_pass_through(line: str) -> None:
    e = read_line(line)
    assert e.raw == line.rstrip("\r\n")
    assert e.kind in ("plain", "postfix-delivery")
