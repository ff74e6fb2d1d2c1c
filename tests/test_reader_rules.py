"""Rules of the reader added one by one, each with a small message written for it."""

from __future__ import annotations

from email import message_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsnwatch.dsn import read_report
from dsnwatch.dsn.gates import literal_gate
from dsnwatch.dsn.mime import POLICY, parse_bytes, split_parts
from dsnwatch.dsn.reasons import PHRASES

# --- literal gates ----------------------------------------------------------------


def test_gate_of_an_alternation_names_each_branch() -> None:
    gate = literal_gate(r"(?:user|mailbox) (?:is )?unknown|no such user")
    assert gate is not None
    assert "unknown" in gate
    assert "no such user" in gate


def test_gate_is_none_without_a_required_literal() -> None:
    assert literal_gate(r"\|\s*/") is None
    assert literal_gate(r"[0-9]+") is None


@pytest.mark.parametrize(("reason", "index"), [(r, i) for i, (r, _) in enumerate(PHRASES)])
def test_every_reason_gate_lets_its_own_matches_through(reason: str, index: int) -> None:
    pattern = PHRASES[index][1]
    gate = literal_gate(pattern.pattern)
    if gate is None:
        return

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
    @given(st.from_regex(pattern))
    def check(text: str) -> None:
        assert any(literal in text for literal in gate), (reason, text)

    check()


# --- MIME splitting ---------------------------------------------------------------

_NESTED = b"""From: MAILER-DAEMON@mx.example.org
To: sender@example.com
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="outer"

preamble text
--outer
Content-Type: text/plain

The mail system: your message could not be delivered.

--outer
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

Final-Recipient: rfc822; gone@example.net
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <gone@example.net>: Recipient address rejected:
    User unknown in local recipient table

--outer
Content-Type: message/rfc822

From: sender@example.com
To: gone@example.net
Subject: hello
Message-ID: <m1@example.com>
Content-Type: multipart/mixed; boundary="inner"

--inner
Content-Type: text/plain

--outer-looking but not a boundary: --outerX
--inner--
--outer--
epilogue
"""


def test_split_matches_the_standard_parser_on_parts_that_are_read() -> None:
    ours = split_parts(parse_bytes(_NESTED))
    theirs = split_parts(message_from_bytes(_NESTED, policy=POLICY))
    assert ours.texts == theirs.texts
    assert [t.split() for t in ours.status_texts] == [t.split() for t in theirs.status_texts]
    assert ours.original is not None and theirs.original is not None
    assert ours.original.items() == theirs.original.items()


def test_nested_original_body_is_not_taken_apart() -> None:
    parts = split_parts(parse_bytes(_NESTED))
    assert parts.original is not None
    assert isinstance(parts.original.get_payload(), str)


def test_multipart_without_its_opening_boundary_keeps_the_body_as_text() -> None:
    data = (
        b"From: MAILER-DAEMON@example.org\nSubject: Undelivered\n"
        b'Content-Type: multipart/mixed; boundary="nothere"\n\n'
        b"<gone@example.net>: 550 5.1.1 user unknown\n"
    )
    message = parse_bytes(data)
    assert isinstance(message.get_payload(), str)
    [entry] = read_report(data).reports
    assert entry.recipient == "gone@example.net"
