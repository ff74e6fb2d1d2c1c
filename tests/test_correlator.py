"""The correlator links Postfix and Sieve lines and raises the alerts that matter."""

from __future__ import annotations

from dsnwatch.logs.correlator import Correlator
from dsnwatch.logs.readers import read_line

MONITOR = "dsn-monitor@example.org"
P = "Dec  3 16:00:00 a3865add0dfb postfix/{prog}[9]: {rest}"
D = "Dec  3 16:00:01 0b10bd82d601 dovecot: lmtp({user})<1><{session}>: sieve: msgid={msgid}: {rest}"


def _postfix_dsn(c: Correlator, qid: str, msgid: str) -> None:
    for prog, rest in (
        ("bounce", f"AAAA000001: sender non-delivery notification: {qid}"),
        ("cleanup", f"{qid}: message-id={msgid}"),
        ("qmgr", f"{qid}: from=<>, size=2097, nrcpt=1 (queue active)"),
    ):
        assert c.feed(read_line(P.format(prog=prog, rest=rest))) == []


def _dovecot(c: Correlator, user: str, session: str, msgid: str, rest: str) -> list[str]:
    line = D.format(user=user, session=session, msgid=msgid, rest=rest)
    return [a.kind for a in c.feed(read_line(line))]


def test_dsn_discarded_without_copy_raises_an_alert() -> None:
    c = Correlator(MONITOR)
    _postfix_dsn(c, "CAE0417895E", "<b1@mx.example.org>")
    assert c.is_dsn("<b1@mx.example.org>")
    kinds = _dovecot(
        c,
        "alice@example.org",
        "s1",
        "<b1@mx.example.org>",
        "discard action: Marked message to be discarded if not explicitly delivered",
    )
    assert kinds == ["dsn-discarded"]


def test_dsn_copied_before_discard_is_fine() -> None:
    c = Correlator(MONITOR)
    _postfix_dsn(c, "CAE0417895E", "<b2@mx.example.org>")
    assert (
        _dovecot(
            c,
            "alice@example.org",
            "s2",
            "<b2@mx.example.org>",
            f"redirect action: forwarded to <{MONITOR}>",
        )
        == []
    )
    assert (
        _dovecot(
            c,
            "alice@example.org",
            "s2",
            "<b2@mx.example.org>",
            "discard action: Marked message to be discarded if not explicitly delivered",
        )
        == []
    )


def test_dsn_kept_or_filed_before_discard_is_fine_and_other_sessions_still_alert() -> None:
    c = Correlator(MONITOR)
    _postfix_dsn(c, "CAE0417895E", "<b4@mx.example.org>")
    discard = "discard action: Marked message to be discarded if not explicitly delivered"
    for session, first in (
        ("s4", "stored mail into mailbox 'INBOX'"),
        ("s5", "fileinto action: stored mail into mailbox 'Bounces'"),
        ("s6", "redirect action: forwarded to <someone-else@example.org>"),
    ):
        assert _dovecot(c, "alice@example.org", session, "<b4@mx.example.org>", first) == []
    for session, kinds in (("s4", []), ("s5", []), ("s6", ["dsn-discarded"])):
        assert _dovecot(c, "alice@example.org", session, "<b4@mx.example.org>", discard) == kinds


def test_ordinary_mail_discarded_is_not_an_alert() -> None:
    c = Correlator(MONITOR)
    kinds = _dovecot(
        c,
        "alice@example.org",
        "s3",
        "<news@example.net>",
        "discard action: Marked message to be discarded if not explicitly delivered",
    )
    assert kinds == []


def test_failed_and_looping_redirects_and_broken_sieve_alert() -> None:
    c = Correlator(MONITOR)
    assert _dovecot(
        c,
        "ivan@example.org",
        "s4",
        "<x@y>",
        f"redirect action: failed to redirect message to <{MONITOR}>: RCPT TO failed"
        " (temporary failure)",
    ) == ["redirect-failed"]
    assert _dovecot(
        c,
        MONITOR,
        "s5",
        "<x@y>",
        f"redirect action: not forwarding message to <{MONITOR}>: the"
        " `x-sieve-redirected-from' header indicates a mail loop",
    ) == ["redirect-loop"]
    line = "Dec  3 16:00:01 0b10bd82d601 dovecot: lmtp(a@b)<1><s6>: Error: sieve: dsn: parse failed"
    assert [a.kind for a in c.feed(read_line(line))] == ["sieve-broken"]


def test_burst_of_bounces_for_one_domain_alerts_once_per_window() -> None:
    c = Correlator(MONITOR, burst_count=3, burst_seconds=60)
    line = (
        "Dec  3 16:00:00 h postfix/smtp[1]: ABCDEF{n:04d}: to=<u{n}@big.example>, relay=mx,"
        " dsn=5.7.1, status=bounced (blocked)"
    )
    kinds = [[a.kind for a in c.feed(read_line(line.format(n=n)), now=float(n))] for n in range(6)]
    assert kinds == [[], [], ["bounce-burst"], [], [], []]
    # A new window, a new alert.
    later = c.feed(read_line(line.format(n=100)), now=200.0)
    assert later == []
    kinds2 = [c.feed(read_line(line.format(n=n)), now=100.0 + n) for n in (101, 102)]
    assert [a.kind for a in kinds2[-1]] == ["bounce-burst"]


def test_memory_stays_bounded() -> None:
    c = Correlator(MONITOR)
    for n in range(30_000):
        c.feed(read_line(P.format(prog="cleanup", rest=f"{n:012X}: message-id=<m{n}@x>")))
    assert len(c._queue_msgid) <= 20_000
