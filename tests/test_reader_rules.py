"""Rules of the reader added one by one, each with a small message written for it."""

from __future__ import annotations

from email import message_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsnwatch.dsn import read_report
from dsnwatch.dsn.gates import literal_gate
from dsnwatch.dsn.mime import POLICY, parse_bytes, split_parts
from dsnwatch.dsn.reasons import PHRASES, is_hard_bounce

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


def _all_phrases() -> list[tuple[str, str]]:
    from dsnwatch.dsn.reasons import _PHRASES_OF

    return [(r, p) for r, pattern in PHRASES for p in _PHRASES_OF[pattern.pattern]]


@pytest.mark.parametrize(("reason", "phrase"), _all_phrases())
def test_every_phrase_gate_lets_its_own_matches_through(reason: str, phrase: str) -> None:
    gate = literal_gate(phrase)
    if gate is None:
        return

    @settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
    @given(st.from_regex(phrase))
    def check(text: str) -> None:
        assert any(literal in text for literal in gate), (reason, phrase, text)

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


# --- reports and provider codes ---------------------------------------------------


def _dsn(text_part: str, status_part: str) -> bytes:
    return (
        "From: Mail Delivery System <MAILER-DAEMON@relay.example.org>\n"
        "To: sender@example.com\n"
        "Subject: Delivery Status Notification (Failure)\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\n\n'
        f"--b1\nContent-Type: text/plain\n\n{text_part}\n"
        f"--b1\nContent-Type: message/delivery-status\n\n{status_part}\n"
        "--b1--\n"
    ).encode()


def test_fields_written_before_the_recipient_belong_to_it() -> None:
    data = _dsn(
        "This message was created automatically.",
        "Reporting-MTA: dns; 192.0.2.1\n\n"
        "Diagnostic-Code: smtp; 550 5.1.1 RCP-P2 "
        "http://postmaster.facebook.com/response_codes#rcp Refused due to recipient preferences\n"
        "Status: 5.1.1\nFinal-Recipient: rfc822; someone@facebook.com\nAction: failed\n",
    )
    [entry] = read_report(data).reports
    assert entry.status == "5.1.1"
    assert entry.reason == "filtered"
    assert entry.hard_bounce is False


def test_recipient_address_rejected_defers_to_the_detail_and_status() -> None:
    data = _dsn(
        "There was an error delivering your mail.",
        "Reporting-MTA: dns; relay.example.org\n\n"
        "Final-Recipient: rfc822; box@example.net\nAction: failed\nStatus: 5.3.2\n"
        "Diagnostic-Code: smtp; 521 5.3.2 <box@example.net>: Recipient address rejected: "
        "System not accepting network messages\n",
    )
    [entry] = read_report(data).reports
    assert entry.reason == "notaccept"


def test_yahoo_deferral_at_mail_from_is_a_refused_sender() -> None:
    data = _dsn(
        "<user@yahoo.example>: host mta5.am0.yahoodns.net[192.0.2.9] said: 421 4.7.0 "
        "[TSS04] Messages from 192.0.2.7 temporarily deferred (in reply to MAIL FROM command)",
        "Reporting-MTA: dns; relay.example.org\n\n"
        "Final-Recipient: rfc822; user@yahoo.example\nAction: failed\nStatus: 4.7.0\n"
        "Remote-MTA: dns; mta5.am0.yahoodns.net\n"
        "Diagnostic-Code: smtp; 421 4.7.0 [TSS04] Messages from 192.0.2.7 temporarily deferred\n",
    )
    [entry] = read_report(data).reports
    assert entry.reason == "rejected"


def test_google_groups_refusal_is_a_refused_sender() -> None:
    data = (
        b"From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n"
        b"To: poster@example.com\nSubject: Delivery Status Notification (Failure)\n"
        b"X-Failed-Recipients: team@googlegroups.com\nContent-Type: text/plain\n\n"
        b"Hello poster@example.com,\n\nWe're writing to let you know that the group you tried "
        b"to contact (team) may not exist, or you may not have permission to post messages "
        b"to the group.\n\nIf you have questions, visit the Help Center at "
        b"https://groups.google.com/support/.\n"
    )
    [entry] = read_report(data).reports
    assert entry.recipient == "team@googlegroups.com"
    assert entry.reason == "rejected"


@pytest.mark.parametrize(
    ("text", "status", "command", "want"),
    [
        (
            "554 The mail could not be delivered because the domain is not reachable.",
            "5.5.0",
            None,
            "hostunknown",
        ),
        ("550 domain [example.com] mismatches client ip 192.0.2.1.", "5.5.0", None, "requireptr"),
        (
            "552-5.7.0 This message was blocked because its content presents a potential",
            "5.7.0",
            "DATA",
            "policyviolation",
        ),
        (
            "Your email to group g@example.com was rejected due to spam classification. "
            "Set up SPF records for your sending domain.",
            "5.0.0",
            None,
            "spamdetected",
        ),
        (
            "550-Please turn on SMTP Authentication in your mail client.",
            "5.0.0",
            None,
            "securityerror",
        ),
        (
            "550 5.7.0 <s@example.jp>... Please use the SMTP server of your ISP.",
            "5.7.0",
            "MAIL",
            "blocked",
        ),
        (
            "550 5.2.0 <s@example.com> From: domain is invalid. Please provide a valid From:",
            "5.2.0",
            "DATA",
            "rejected",
        ),
        ("550 5.6.9 improper use of 8-bit data in message header", "5.6.9", "DATA", "contenterror"),
        ("dns lookup failure: host mx.example.org not found", None, None, "hostunknown"),
        (
            "551 5.7.1 <a@example.net>: Recipient address rejected: Delivery not authorized",
            "5.7.1",
            "RCPT",
            "securityerror",
        ),
        (
            "421 4.3.0 Upstream error, please check the postmaster page",
            "4.3.0",
            "DATA",
            "systemerror",
        ),
    ],
)
def test_phrases_and_codes(text: str, status: str | None, command: str | None, want: str) -> None:
    from dsnwatch.dsn.reasons import classify

    assert classify(text, status, command=command, status_given=status is not None) == want


def test_stage_named_as_after_rcpt_command() -> None:
    from dsnwatch.dsn.smtp import command_of

    assert command_of("SMTP error from remote server after RCPT command: 550") == "RCPT"
    assert command_of("SMTP error from remote server after MAIL command: 550") == "MAIL"


def test_amazon_ses_submission_refusing_an_unverified_identity_is_no_relaying() -> None:
    from dsnwatch.dsn.providers import reason_for

    text = "554 Message rejected: Email address is not verified. The following identities failed"
    assert reason_for("email-smtp.us-east-1.amazonaws.com", text, "DATA") == "norelaying"
    assert reason_for("mx.example.net", text, "DATA") is None


# --- Amazon SES notifications -------------------------------------------------------

_SES_HEAD = (
    b"From: AWS Notifications <no-reply@sns.amazonaws.com>\n"
    b"To: ops@example.com\nSubject: AWS Notification Message\n"
    b"Content-Type: text/plain; charset=UTF-8\n\n"
)


def test_ses_bounce_notification_in_json_gives_its_recipients() -> None:
    body = (
        b'{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":'
        b'"General","bouncedRecipients":[{"emailAddress":"gone@example.net","action":"failed",'
        b'"status":"5.1.1","diagnosticCode":"smtp; 550 5.1.1 user unk\nnown"}]},'
        b'"mail":{"source":"sender@example.com"}}\n\n--\nIf you wish to stop receiving ...\n'
    )
    report = read_report(_SES_HEAD + body)
    [entry] = report.reports
    assert report.kind == "delivery-status"
    assert (entry.recipient, entry.status, entry.reason) == (
        "gone@example.net",
        "5.1.1",
        "userunknown",
    )


def test_ses_suppressed_and_delivery_and_complaint_notifications() -> None:
    suppressed = (
        b'{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":'
        b'"Suppressed","bouncedRecipients":[{"emailAddress":"x@example.net","status":"5.1.1",'
        b'"diagnosticCode":"Amazon SES has suppressed sending to this address"}]}}'
    )
    assert [r.reason for r in read_report(_SES_HEAD + suppressed).reports] == ["suppressed"]
    delivery = (
        b'{"notificationType":"Delivery","delivery":{"recipients":["ok@example.net"],'
        b'"smtpResponse":"250 2.6.0 Message received"}}'
    )
    [entry] = read_report(_SES_HEAD + delivery).reports
    assert (entry.reason, entry.status, entry.reply_code) == ("delivered", "2.6.0", "250")
    complaint = (
        b'{"notificationType":"Complaint","complaint":{"complainedRecipients":'
        b'[{"emailAddress":"c@example.net"}],"complaintFeedbackType":"abuse"}}'
    )
    report = read_report(_SES_HEAD + complaint)
    assert report.kind == "complaint"
    assert [(r.reason, r.feedback_type) for r in report.reports] == [("feedback", "abuse")]


_HEADERISH = st.lists(
    st.sampled_from(
        [
            "Subject: hi",
            "From: a@example.org",
            "From someone Mon Jan 1",
            "X-Folded: one",
            "  two",
            "\tthree",
            ": no name",
            "no colon here",
            "",
            "Content-Type: text/plain",
            "X-Empty:",
            "Bad Name: value",
        ]
    ),
    max_size=8,
).map(lambda lines: "\n".join(lines))


@settings(max_examples=300, deadline=None)
@given(head=_HEADERISH, body=st.text(alphabet="ab:\n \t", max_size=30))
def test_header_block_reads_like_the_standard_parser(head: str, body: str) -> None:
    from email.parser import Parser

    from dsnwatch.dsn.mime import _parse_head

    text = head + "\n" + body
    ours, rest = _parse_head(text)
    theirs = Parser(policy=POLICY).parsestr(text, headersonly=True)
    assert ours.items() == theirs.items()
    assert ours.get_unixfrom() == theirs.get_unixfrom()
    assert rest == theirs.get_payload()


# --- temporary failures and the queue time ------------------------------------------


@pytest.mark.parametrize(
    ("text", "status", "action", "want"),
    [
        # A timeout reported as final: the queue gave up retrying.
        ("426 connection timed out", "4.0.0", "failed", "expired"),
        ("Connection timed out", None, None, "expired"),
        # The same timeout in a delay warning is only a network problem so far.
        (
            "connect to mx.example.net[192.0.2.1]:25: Connection timed out",
            "4.4.1",
            "delayed",
            "networkerror",
        ),
        # A named cause wins over the queue giving up.
        (
            "Unable to contact LDAP server. (#4.4.3) I'm not going to try again; this message "
            "has been in the queue too long.",
            "4.4.3",
            None,
            "systemerror",
        ),
        ("550 5.4.316 Message expired, connection refused", "5.4.316", "failed", "expired"),
        # "Try again later" says the failure is temporary, not that time ran out.
        (
            "451 4.3.0 Could not be delivered due to a recipient error. Please try again later.",
            "4.3.0",
            "failed",
            "systemerror",
        ),
    ],
)
def test_when_a_temporary_failure_means_the_queue_time_ran_out(
    text: str, status: str | None, action: str | None, want: str
) -> None:
    from dsnwatch.dsn.reasons import classify

    assert classify(text, status, status_given=status is not None, action=action) == want


_EXPIRED_DSN = b"""From: MAILER-DAEMON@relay.example.com
To: sender@example.com
Subject: Delivery Status Notification (Failure)
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

An error occurred while trying to deliver the mail to the following recipients:
slow@example.net

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; relay.example.com

Final-Recipient: rfc822; slow@example.net
Action: failed
Status: 4.4.7
Diagnostic-Code: smtp; 554 4.4.7 Message expired: unable to deliver in 840 minutes.<421 4.4.2 Connection timed out>

--b1--
"""


def test_expired_status_gives_way_to_the_code_of_the_failure_behind_it() -> None:
    [entry] = read_report(_EXPIRED_DSN).reports
    assert (entry.status, entry.reply_code, entry.reason) == ("4.4.2", "421", "expired")


_V5_TRANSCRIPT = b"""From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.com>
To: sender@example.jp
Subject: Returned mail: User unknown

   ----- Transcript of session follows -----
While talking to mx.example.edu:
>>> MAIL From:<sender@example.jp>
<<< 550 Insecure Mail Relay
554 <one@example.edu>... Remote protocol error
550 example.org (smtp)... 550 Host unknown
554 <two@example.org>... 550 Host unknown (Authoritative answer from name server)

   ----- Unsent message follows -----
From: sender@example.jp
To: one@example.edu
Subject: hello

hello
"""


def test_sendmail_v5_summary_lines_name_each_recipient_with_its_own_transcript() -> None:
    report = read_report(_V5_TRANSCRIPT)
    got = {r.recipient: r.reason for r in report.reports}
    assert got == {"one@example.edu": "norelaying", "two@example.org": "hostunknown"}


def test_unsent_message_marker_gives_the_original_recipient() -> None:
    text = (
        b"From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.com>\n"
        b"To: sender@example.jp\nSubject: Returned mail: Cannot send message for 4 days\n\n"
        b"   ----- Transcript of session follows -----\n"
        b"421 example.com (smtp)... Deferred: Connection timed out during user open\n\n"
        b"   ----- Unsent message follows -----\n"
        b"From: sender@example.jp\nTo: gone@example.com\nSubject: hi\n\nhi\n"
    )
    [entry] = read_report(text).reports
    assert (entry.recipient, entry.reason) == ("gone@example.com", "expired")


# --- phrases read whole and in the right order --------------------------------------


@pytest.mark.parametrize(
    ("text", "status", "want"),
    [
        # A multi-line reply: each line's code is dropped so the phrase reads whole.
        (
            "550-5.7.1 Messages with multiple\n550 5.7.1 addresses in From: header are "
            "not accepted.",
            "5.7.1",
            "notcompliantrfc",
        ),
        (
            "<<< 550-5.7.1 This message fails to pass\n<<< 550-5.7.1 authentication checks. "
            "To protect our users from spam, the message has been blocked.",
            "5.7.1",
            "authfailure",
        ),
        # "rfc822;" is the address type of a report field, not a format complaint.
        ("Final-Recipient: rfc822; a@example.net", "5.0.0", "onhold"),
        ("550 5.7.1 can't determine Purported Responsible Address", "5.7.1", "rejected"),
        ("550 5.1.0 MailFrom domain is listed in Spamhaus", "5.1.0", "rejected"),
        (
            "Name service error for name=example.org type=MX: Malformed or unexpected name "
            "server reply",
            "5.4.4",
            "networkerror",
        ),
        (
            "[554 5.4.6 Hop count exceeded - possible mail loop] The attachment contains the "
            "original mail headers.",
            "5.4.6",
            "networkerror",
        ),
        (
            "450 service permits 2 unverifyable sending IPs - mx.example.com is not 192.0.2.2",
            "4.0.0",
            "requireptr",
        ),
        ("550 SC-004 Unfortunately, messages from 192.0.2.22 weren't sent.", "5.0.0", "blocked"),
        ("554 INVALID IP FOR SENDING MAIL OF DOMAIN example.com", "5.0.0", "blocked"),
        ("User mailbox exceeds allowed size: a@example.net", None, "mailboxfull"),
        (
            "Unable to deliver message to <a@example.net>. Please check if address is correct.",
            None,
            "userunknown",
        ),
    ],
)
def test_phrases_read_whole_and_in_order(text: str, status: str | None, want: str) -> None:
    from dsnwatch.dsn.reasons import classify

    assert classify(text, status, status_given=status is not None) == want


# --- notices without a delivery report -----------------------------------------------


def test_list_manager_refusal_names_the_list_as_recipient() -> None:
    notice = (
        b"From: cats-admin@lists.example.org\nTo: poster@example.net\n"
        b"Subject: You poster@example.net are not member (cats ML)\n"
        b"X-MLServer: fml [fml 4.0.3 release]\n\n"
        b"You are not a member of this mailing list <cats@lists.example.org>.\n\n"
        b"If you know the general guide of this list, please send mail to\n"
        b"cats-ctl@lists.example.org\n"
    )
    report = read_report(notice)
    [entry] = report.reports
    assert (report.kind, entry.recipient, entry.reason) == (
        "delivery-status",
        "cats@lists.example.org",
        "rejected",
    )


def test_notice_without_list_manager_header_is_not_read_as_a_list_refusal() -> None:
    text = b"From: friend@example.org\nTo: me@example.net\nSubject: hi\n\nSee <x@example.org>.\n"
    assert read_report(text).reports == []


def test_mms_gateway_notice_gives_the_original_recipient() -> None:
    notice = (
        b"From: MMSC NDR Administrator <sysadmin@mms.example.net>\nTo: sender@example.jp\n"
        b"Subject: Undeliverable Message\n\n"
        b"Message could not be delivered to mobile.\nError: No valid recipients for this MM\n\n\n"
        b"Original Message:\nFrom: Sender <sender@example.jp>\nTo: 5550000000@mms.example.net\n"
        b"Subject: test\n"
    )
    [entry] = read_report(notice).reports
    assert (entry.recipient, entry.reason) == ("5550000000@mms.example.net", "userunknown")


def test_james_style_notice_with_message_details() -> None:
    notice = (
        b"From: post_master@sms.example.net\nTo: sender@example.org\nSubject: Re:Hello\n\n"
        b"Error: Invalid user address\n\nError message below:\n"
        b"550 - Requested action not taken: mailbox does not exist\n\nMessage details:\n"
        b"  Subject: Hello\n  MAIL FROM: sender@example.org\n"
        b"  RCPT TO: 5550000000@sms.example.net\n  Size (in bytes): 39\n"
    )
    [entry] = read_report(notice).reports
    assert (entry.recipient, entry.reply_code, entry.reason) == (
        "5550000000@sms.example.net",
        "550",
        "userunknown",
    )


# --- provider codes and field/text disagreements ------------------------------------


def test_orange_codes() -> None:
    from dsnwatch.dsn.providers import reason_for

    text = "550 5.2.0 Mail rejete. Mail rejected. ofr_506 [506]"
    assert reason_for("smtp-in.orange.fr", text, "DATA") == "spamdetected"
    later = "421 4.2.0 Service refuse. Veuillez essayer plus tard. OFR005_505 [505]"
    assert reason_for(None, later, "DATA") == "systemerror"
    assert reason_for("mx.example.net", "550 5.2.0 [506]", "DATA") is None


_FIELD_SAYS_TEMPORARY = b"""From: MAILER-DAEMON@mx.example.com
To: sender@example.com
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b2"

--b2
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com

Final-Recipient: rfc822; a@example.net
Action: failed
Status: 4.5.0
Diagnostic-Code: smtp; 550 5.5.0 Service refused

--b2--
"""


def test_a_permanent_refusal_wins_over_a_temporary_status_field() -> None:
    [entry] = read_report(_FIELD_SAYS_TEMPORARY).reports
    assert entry.status == "5.5.0"


def test_failed_address_equal_to_the_bounce_addressee_is_still_read() -> None:
    bounce = (
        b"Return-Path: <>\nFrom: Mail Delivery System <mailer-daemon@mx.example.de>\n"
        b"To: me@example.fr\nSubject: Mail delivery failed: returning message to sender\n\n"
        b"This message was created automatically by mail delivery software.\n\n"
        b"A message that you sent could not be delivered to one or more of\n"
        b"its recipients. This is a permanent error. The following address(es)\nfailed:\n\n"
        b"me@example.fr:\nSMTP error from remote server for TEXT command, host: mx.example.fr "
        b"reason: 550 5.1.1 user unknown\n"
    )
    [entry] = read_report(bounce).reports
    assert (entry.recipient, entry.reason) == ("me@example.fr", "userunknown")


# --- complaints, unsubscribe requests and auto-replies --------------------------------


def test_opt_out_report_names_its_removal_recipient() -> None:
    report = (
        b"From: fbl@isp.example.com\nTo: <abuse@example.net>\nSubject: FW: Opt-out\n"
        b"MIME-Version: 1.0\n"
        b'Content-Type: multipart/report; report-type=feedback-report; boundary="f"\n\n'
        b"--f\nContent-Type: text/plain\n\nThis is an opt-out report.\n\n"
        b"--f\nContent-Type: message/feedback-report\n\n"
        b"Feedback-Type: opt-out\nUser-Agent: FBL/1.0\nVersion: 0.1\n"
        b"Removal-Recipient: reader@example.com\n\n"
        b"--f\nContent-Type: message/rfc822\n\nFrom: <news@example.net>\n"
        b"To: <Undisclosed Recipients>\nSubject: news\n\nhello\n--f--\n"
    )
    got = read_report(report)
    assert got.kind == "complaint"
    assert [(r.recipient, r.feedback_type) for r in got.reports] == [
        ("reader@example.com", "opt-out")
    ]


def test_mail_client_unsubscribe_request_is_an_opt_out() -> None:
    request = (
        b"From: reader@example.com\nTo: unsubscribe-123@lists.example.org\n"
        b"Subject: unsubscribe\nAuto-Submitted: auto-replied\nX-Apple-Unsubscribe: true\n\n"
        b"Apple Mail sent this email to unsubscribe from the message.\n"
    )
    got = read_report(request)
    assert got.kind == "complaint"
    assert [(r.recipient, r.reason, r.feedback_type) for r in got.reports] == [
        ("reader@example.com", "feedback", "opt-out")
    ]
    # A person writing "unsubscribe" by hand is not an automated request.
    by_hand = b"From: reader@example.com\nTo: list@example.org\nSubject: unsubscribe\n\nplease\n"
    assert read_report(by_hand).reports == []


def test_auto_reply_from_a_no_reply_address_saying_the_mailbox_is_gone() -> None:
    reply = (
        b"Return-Path: <>\nFrom: <noreply@example.com>\nTo: <sender@example.org>\n"
        b"Reply-To: <old@example.com>\nSubject: AutoResponse: hello\n"
        b"Auto-Submitted: auto-replied\n\n"
        b"This email inbox old@example.com is no longer in use. Please contact someone else.\n"
    )
    [entry] = read_report(reply).reports
    assert (entry.recipient, entry.reason) == ("old@example.com", "suspend")


def test_japanese_cannot_deliver_subject_from_a_postmaster() -> None:
    notice = (
        b'From: "InterScan MSS" <postmaster@example.co.jp>\nTo: <sender@example.jp>\n'
        b"Subject: =?UTF-8?B?44Oh44OD44K744O844K444KS6YWN5L+h44Gn44GN44G+44Gb44KT44CC?=\n\n"
        b"Sent <<< RCPT TO:<gone@example.co.jp>\n"
        b"Received >>> 550 5.1.1 <gone@example.co.jp>... user unknown\n"
    )
    [entry] = read_report(notice).reports
    assert (entry.recipient, entry.status, entry.reason) == (
        "gone@example.co.jp",
        "5.1.1",
        "userunknown",
    )


# --- status and reply codes -----------------------------------------------------------


def _one_recipient_dsn(status: str, diagnostic: str) -> bytes:
    return (
        b"From: MAILER-DAEMON@mx.example.com\nTo: sender@example.com\n"
        b"Subject: Delivery status notification\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b3"\n\n'
        b"--b3\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.com\n\n"
        b"Final-Recipient: rfc822; a@example.net\nAction: failed\n"
        + f"Status: {status}\nDiagnostic-Code: smtp; {diagnostic}\n\n--b3--\n".encode()
    )


@pytest.mark.parametrize(
    ("status", "diagnostic", "want_status", "want_reason"),
    [
        ("5.1.1", "552 5.2.2 Over quota", "5.2.2", "mailboxfull"),
        (
            "5.0.0",
            "5.1.0 - Unknown address error 550-'5.2.2 <a@example.net>... Mailbox Full'",
            "5.2.2",
            "mailboxfull",
        ),
        # Nothing names a cause: 451 is a local error in processing at the remote end.
        ("4.0.0", "451 Could not load configuration for domain", "4.0.0", "systemerror"),
        # "Temporary failure" says only that it is temporary.
        ("4.0.0", "450 4.0.0 Temporary failure", "4.0.0", "onhold"),
    ],
)
def test_remote_reply_codes(
    status: str, diagnostic: str, want_status: str, want_reason: str
) -> None:
    [entry] = read_report(_one_recipient_dsn(status, diagnostic)).reports
    assert (entry.status, entry.reason) == (want_status, want_reason)


def test_reporter_is_told_by_the_report_itself_before_relays() -> None:
    bounce = (
        b"Received: from mx.example.net (Postfix) by relay.example.org\n"
        b"From: MAILER-DAEMON@mx.example.org\nTo: sender@example.com\n"
        b"Subject: failure notice\n\n"
        b"Hi. This is the qmail-send program at mx.example.org.\n"
        b"I'm afraid I wasn't able to deliver your message to the following addresses.\n\n"
        b"<gone@example.net>:\nSorry, no mailbox here by that name. (#5.1.1)\n"
    )
    assert read_report(bounce).reporter == "qmail"


def test_server_transcript_steps_that_worked_do_not_give_the_status() -> None:
    notice = (
        b"From: MAILER-DAEMON@mx.example.com (Mail Delivery System)\n"
        b"To: postmaster@mx.example.com\nSubject: Postfix SMTP server: errors from localhost\n\n"
        b"Transcript of session follows.\n\n"
        b" Out: 220 mx.example.com ESMTP\n In:  MAIL FROM:<s@example.org>\n"
        b" Out: 250 2.1.0 Ok\n In:  RCPT TO:<a@example.net>\n Out: 250 2.1.5 Ok\n"
        b" In:  DATA\n Out: 354 End data with <CR><LF>.<CR><LF>\n"
        b" Out: 451 4.3.0 Error: queue file write error\n In:  QUIT\n Out: 221 2.0.0 Bye\n"
    )
    [entry] = read_report(notice).reports
    assert (entry.recipient, entry.status, entry.reply_code, entry.reason) == (
        "a@example.net",
        "4.3.0",
        "451",
        "systemerror",
    )


def test_malformed_address_notice_names_the_bracketed_address() -> None:
    notice = (
        b"From: Mail Delivery System <mailer-daemon@mx.example.com>\nTo: sender@example.com\n"
        b"Subject: Mail failure - malformed recipient address\n\n"
        b"A message that you sent contained one or more recipient addresses that were\n"
        b"incorrectly constructed:\n\n"
        b"  first@example.org <second@example.net>: malformed address: <second@example.net> "
        b"may not follow first@example.org\n\n"
        b"This address has been ignored.\n"
    )
    [entry] = read_report(notice).reports
    assert (entry.recipient, entry.reason) == ("second@example.net", "syntaxerror")


# --- local delivery programs ------------------------------------------------------


def test_dovecot_notice_in_the_text_part_names_a_full_mailbox() -> None:
    data = _dsn(
        "Your message to <box> was automatically rejected:\nNot enough disk space\n",
        "Reporting-MTA: dns; relay.example.org\n\n"
        "Final-Recipient: rfc822; box@example.net\nAction: failed\nStatus: 5.1.1\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <box@example.net>... User Unknown\n",
    )
    [entry] = read_report(data).reports
    assert entry.reason == "mailboxfull"
    assert entry.hard_bounce is False


@pytest.mark.parametrize(
    ("diagnostic", "want"),
    [
        ('554 "|exec /usr/bin/procmail -f-"... Service unavailable', "systemerror"),
        ("550 maildrop: maildir over quota.", "mailboxfull"),
        ("550 vdelivermail: account is locked email bounced", "suspend"),
        # A delivery program named, with words of its own not known here.
        ("554 procmail: Couldn't chdir to the folder", "mailererror"),
    ],
)
def test_delivery_program_words_name_the_reason(diagnostic: str, want: str) -> None:
    data = _dsn(
        "Delivery to the following recipient failed.",
        "Reporting-MTA: dns; relay.example.org\n\n"
        "Final-Recipient: rfc822; box@example.net\nAction: failed\nStatus: 5.5.0\n"
        f"Diagnostic-Code: smtp; {diagnostic}\n",
    )
    [entry] = read_report(data).reports
    assert entry.reason == want


def test_delivery_program_words_do_not_count_at_rcpt() -> None:
    data = _dsn(
        "Delivery to the following recipient failed.",
        "Reporting-MTA: dns; relay.example.org\n\n"
        "Final-Recipient: rfc822; box@example.net\nAction: failed\nStatus: 5.1.1\n"
        "Diagnostic-Code: smtp; 550 5.1.1 your message to <box> was automatically rejected: "
        "not enough disk space (in reply to RCPT TO command)\n",
    )
    [entry] = read_report(data).reports
    assert entry.reason == "userunknown"


# --- hard bounces -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reply_code", "want"),
    [("5.1.10", "550", True), (None, None, True), ("4.4.4", "451", False), (None, "421", False)],
)
def test_a_destination_taking_no_mail_is_hard_unless_temporary(
    status: str | None, reply_code: str | None, want: bool
) -> None:
    assert is_hard_bounce("notaccept", status, reply_code) is want


def test_free_text_null_mx_without_a_code_is_a_hard_bounce() -> None:
    data = (
        b"From: Mail Delivery System <MAILER-DAEMON@relay.example.org>\n"
        b"To: sender@example.com\nSubject: Mail delivery failed\n\n"
        b"This message was created automatically by mail delivery software.\n\n"
        b"A message that you sent could not be delivered to one or more of its\n"
        b"recipients. This is a permanent error. The following address(es) failed:\n\n"
        b"  box@nomail.example.net\n    an MX or SRV record indicated no SMTP service\n"
    )
    [entry] = read_report(data).reports
    assert entry.reason == "notaccept"
    assert entry.hard_bounce is True


# --- provider codes -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("remote", "text", "reply", "want"),
    [
        # Orange / La Poste: the label's number is the cause.
        (
            "smtpz4.laposte.net",
            "554 5.7.1 Client host rejected: LPN000_630",
            "554",
            "policyviolation",
        ),
        ("smtp.wanadoo.fr", "550 5.5.0 Invalid recipient. LPN007_416", "550", "userunknown"),
        (None, "421 mwinf0000 OFR004_104 [104] too many connections", "421", "ratelimited"),
        # Spectrum: the AUP number falls in a range by cause.
        (None, "550 5.1.0 sender rejected. see spectrum.net AUP#In-1310", "550", "ratelimited"),
        (None, "550 5.1.0 refused, see spectrum.net AUP#Out-1110", "550", "requireptr"),
        # KDDI: a refusal naming no one is the recipient's filter.
        ("msmx.au.com", "550 : User unknown", "550", "filtered"),
        (
            "lsean.ezweb.ne.jp. (192.0.2.1)",
            "550 <box@ezweb.example>: User unknown",
            "550",
            "userunknown",
        ),
        # MessageLabs: 542 is its refusal of an unknown recipient.
        ("cluster1.eu.messagelabs.com", "542 box@example.net Rejected", "542", "userunknown"),
        # Mimecast: the same words, told apart by the reply code.
        (
            "service1.mimecast.com",
            "554 email rejected due to security policies",
            "554",
            "virusdetected",
        ),
        ("service1.mimecast.com", "550 Envelope blocked - User Entry", "550", "rejected"),
        (
            "mx.yahoodns.net",
            "554 delivery error: dd This user doesn't have a x account",
            "554",
            "userunknown",
        ),
    ],
)
def test_provider_codes(remote: str | None, text: str, reply: str, want: str) -> None:
    from dsnwatch.dsn.providers import reason_for

    assert reason_for(remote, text, None, reply_code=reply) == want


def test_provider_rules_need_the_provider_and_its_reply_code() -> None:
    from dsnwatch.dsn.providers import reason_for

    assert (
        reason_for("mx.example.net", "542 box@example.net Rejected", None, reply_code="542") is None
    )
    assert reason_for("a.mimecast.com", "email rejected due to security policies", None) is None
    assert reason_for("mx.example.net", "550 : User unknown", None, reply_code="550") is None


def test_a_provider_that_wrote_the_report_is_known_by_its_reporting_host() -> None:
    data = _dsn(
        "This is the mail system at host omr-a01.mx.aol.com.",
        "Reporting-MTA: dns; omr-a01.mx.aol.com\n\n"
        "Final-Recipient: rfc822; box@example.net\nAction: failed\nStatus: 5.4.4\n"
        "Diagnostic-Code: X-Outbound-Mail-Relay; Name service error for name=example.net "
        "type=MX: Malformed or unexpected name server reply\n",
    )
    [entry] = read_report(data).reports
    assert entry.reason == "notaccept"
    assert entry.hard_bounce is True
    # The same words from any other host are a DNS problem.
    other = data.replace(b"mx.aol.com", b"mx.example.org")
    [entry] = read_report(other).reports
    assert entry.reason == "networkerror"


# --- "no such user" when only the class of the failure is known ---------------------


@pytest.mark.parametrize(
    ("status", "diagnostic", "want"),
    [
        ("5.0.0", "550 box@example.net... No such user", "filtered"),
        ("5.0.0", "The email account that you tried to reach does not exist.", "filtered"),
        ("5.1.1", "550 box@example.net... No such user", "userunknown"),
        (
            "5.0.0",
            "550 5.1.1 <box@example.net>... User unknown (in reply to RCPT TO command)",
            "userunknown",
        ),
    ],
)
def test_unknown_user_after_an_unspecified_failure_is_a_filter(
    status: str, diagnostic: str, want: str
) -> None:
    data = _dsn(
        "Your message could not be sent.",
        "Reporting-MTA: dns; relay.example.org\n\n"
        f"Final-Recipient: rfc822; box@example.net\nAction: failed\nStatus: {status}\n"
        f"Diagnostic-Code: smtp; {diagnostic}\n",
    )
    [entry] = read_report(data).reports
    assert entry.reason == want
    assert entry.hard_bounce is (want == "userunknown")


def test_a_version_number_is_not_a_status_code() -> None:
    data = (
        b"From: MAILER-DAEMON@relay.example.org\nTo: sender@example.com\n"
        b"Subject: Undelivered Mail Returned to Sender\n\n"
        b"The mail system\n\n<box@example.net>: 550 unknown user <box@example.net>\n"
        b"Received: from relay (EHLO relay) by mx1.example.net (mta-5.5.0-3) with ESMTP\n"
    )
    [entry] = read_report(data).reports
    assert entry.status != "5.5.0"
    assert entry.reason == "filtered"


def test_words_beside_the_status_code_come_before_the_reply() -> None:
    data = _dsn(
        "Immediately below you will find a list of the affected recipients.",
        "Reporting-MTA: dns; relay.example.org\n\n"
        "Final-Recipient: rfc822; box@example.net\nAction: failed\n"
        "Status: 5.2.1 (mailbox disabled, not accepting messages)\n"
        "Diagnostic-Code: smtp; 550 5.2.1 <box@example.net>... User Unknown\n",
    )
    [entry] = read_report(data).reports
    assert entry.reason == "suspend"
    # Words that name no cause ("permanent failure") leave the reply to decide.
    plain = data.replace(b"(mailbox disabled, not accepting messages)", b"(permanent failure)")
    [entry] = read_report(plain).reports
    assert entry.reason == "filtered"


@pytest.mark.parametrize(
    ("text", "status", "want"),
    [
        (
            "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1) I'm not going to "
            "try again; this message has been in the queue too long.",
            "4.4.1",
            "networkerror",
        ),
        ("550 'box@example.net' is not a registered gateway user", "5.0.0", "rejected"),
        ("550 5.4.1 All recipient addresses rejected : Access denied", "5.4.1", "rejected"),
        # Sendmail's access database: a security refusal, not a block of the client.
        ("550 5.7.1 <box@example.net>... Access denied", "5.7.1", "securityerror"),
        ("554 Access denied: your client is listed", "5.7.1", "blocked"),
        (
            "Delivery to the following recipients was aborted after 5.0 hour(s): box@example.net",
            None,
            "expired",
        ),
    ],
)
def test_stated_causes(text: str, status: str | None, want: str) -> None:
    from dsnwatch.dsn.reasons import classify

    assert classify(text, status, status_given=status is not None) == want


def test_a_refusal_before_any_command_in_a_transcript_answered_the_connection() -> None:
    from dsnwatch.dsn.smtp import CONN, RCPT, command_of

    greeting = "... while talking to mx1.example.org.:\n<<< 554 IP=192.0.2.1 - refused (BL)\n"
    assert command_of(greeting) == CONN
    later = (
        "... while talking to mx1.example.org.:\n>>> RCPT To:<box@example.org>\n"
        "<<< 550 5.1.1 <box@example.org>... User unknown\n"
    )
    assert command_of(later) == RCPT
    data = _dsn(
        "   ----- Transcript of session follows -----\n" + greeting,
        "Reporting-MTA: dns; relay.example.org\n\n"
        "Final-Recipient: rfc822; box@example.org\nAction: failed\nStatus: 5.5.0\n"
        "Diagnostic-Code: smtp; 554 IP=192.0.2.1 - A problem occurred. (BL)\n",
    )
    [entry] = read_report(data).reports
    assert entry.reason == "blocked"


def test_postfix_without_a_report_for_the_recipient_is_undefined() -> None:
    data = (
        b"From: MAILER-DAEMON@relay.example.org (Mail Delivery System)\n"
        b"To: sender@example.com\nSubject: Undelivered Mail Returned to Sender\n"
        b"MIME-Version: 1.0\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\n\n'
        b"--b1\nContent-Type: text/plain\n\nThis is the mail system at host relay.example.org.\n\n"
        b"I'm sorry to have to inform you that your message could not\n"
        b"be delivered to one or more recipients.\n\n"
        b"\t--- Delivery report unavailable ---\n\n"
        b"--b1\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; relay.example.org\n\n"
        b"--b1\nContent-Type: message/rfc822\n\nFrom: sender@example.com\nTo: box@example.net\n"
        b"Subject: hello\n\nhi\n--b1--\n"
    )
    [entry] = read_report(data).reports
    assert entry.recipient == "box@example.net"
    assert entry.reason == "undefined"
    assert entry.hard_bounce is False


def test_a_provider_notice_states_the_cause_when_the_report_gives_no_diagnostic() -> None:
    data = _dsn(
        "The user(s) account is disabled.\n\n\n"
        "<box@ezweb.ne.jp>: 550 user unknown (in reply to RCPT TO command)\n",
        "Reporting-MTA: dns; lsean.ezweb.ne.jp\n\n"
        "Final-Recipient: rfc822; box@ezweb.ne.jp\nAction: failed\nStatus: 5.0.0\n",
    )
    [entry] = read_report(data).reports
    assert entry.reason == "suspend"
    assert entry.hard_bounce is False


def test_sms_gateway_notice_of_an_unknown_number() -> None:
    data = (
        b"From: post_master@vtext.com\nTo: sender@example.com\nSubject: Undeliverable Message\n"
        b"Content-Type: text/plain\n\n"
        b"Error: Invalid user address\n\nError message below:\n"
        b"550 - Requested action not taken: no such user here\n\n"
        b"Message details:\n  Subject: hi\n  MAIL FROM: sender@example.com\n"
        b"  RCPT TO: 5550100@vtext.com\n  From: sender@example.com\n"
    )
    [entry] = read_report(data).reports
    assert entry.recipient == "5550100@vtext.com"
    assert entry.reason == "userunknown"
    assert entry.hard_bounce is True
