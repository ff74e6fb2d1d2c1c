"""End to end through the lab: real SMTP submission, real IMAP, real bounces."""

from __future__ import annotations

import re
import smtplib
import ssl
import time

import pytest

from dsnwatch.lab import Lab
from lab.lab_helpers import (
    LogFollower,
    imap_login,
    new_token,
    report_fields,
    send,
    sender_of,
    tls_context,
    wait_for_messages,
)

pytestmark = pytest.mark.lab

STAMP = r"^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d "


def _cid(lab: Lab, svc: str) -> str:
    ctr = lab.container(svc)
    assert ctr is not None
    return str(ctr.id)[:12]


def test_mail_to_a_lab_user_arrives_over_imap_and_both_logs_show_it(
    lab: Lab, logs: dict[str, LogFollower]
) -> None:
    token = new_token()
    msg_id = send(lab, lab.settings.address("bob"), token)

    (msg,) = wait_for_messages(lab, "bob", token)
    assert msg["Message-ID"] == msg_id
    assert sender_of(msg) == lab.settings.address("alice")

    pf = _cid(lab, "postfix")
    qid = logs["postfix"].wait_for(
        STAMP + pf + r" postfix/cleanup\[\d+\]: (?P<qid>[0-9A-F]+): message-id=" + re.escape(msg_id)
    )["qid"]
    lmtp = lab.settings.port("lmtp")
    logs["postfix"].wait_for(
        STAMP + pf + rf" postfix/lmtp\[\d+\]: {qid}: to=<bob@lab\.test>, "
        rf"relay=127\.0\.0\.1\[127\.0\.0\.1\]:{lmtp}, .*status=sent \(250 2\.0\.0"
    )
    logs["dovecot"].wait_for(
        STAMP + _cid(lab, "dovecot") + r" dovecot: lmtp\(bob@lab\.test\)<\d+><[^>]+>: "
        r"sieve: msgid=" + re.escape(msg_id) + r": stored mail into mailbox 'INBOX'$"
    )


def test_mail_to_an_invalid_domain_bounces_at_once_from_our_postfix(
    lab: Lab, logs: dict[str, LogFollower]
) -> None:
    token = new_token()
    rcpt = f"nobody@{token}.invalid"
    send(lab, rcpt, token)

    (bounce,) = wait_for_messages(lab, "alice", token, exclude_own=True)
    assert sender_of(bounce) == "MAILER-DAEMON@mail.lab.test"
    assert bounce["Return-Path"] == "<>"
    assert bounce.get_content_type() == "multipart/report"
    assert bounce.get_param("report-type") == "delivery-status"
    per_message, per_rcpt = report_fields(bounce, "message/delivery-status")[:2]
    assert per_message["reporting-mta"] == "dns; mail.lab.test"
    assert per_rcpt["final-recipient"] == f"rfc822; {rcpt}"
    assert per_rcpt["action"] == "failed"
    assert per_rcpt["status"] == "5.4.4"

    logs["postfix"].wait_for(rf"to=<{re.escape(rcpt)}>, relay=none, .*dsn=5\.4\.4, status=bounced")
    logs["postfix"].wait_for(r"postfix/bounce\[\d+\]: [0-9A-F]+: sender non-delivery notification")


def test_unknown_user_at_the_remote_provider_is_rejected_and_our_postfix_bounces(
    lab: Lab, logs: dict[str, LogFollower]
) -> None:
    token = new_token()
    rcpt = f"{token}@remote.test"
    send(lab, rcpt, token)

    (bounce,) = wait_for_messages(lab, "alice", token, exclude_own=True)
    assert sender_of(bounce) == "MAILER-DAEMON@mail.lab.test"
    per_rcpt = report_fields(bounce, "message/delivery-status")[1]
    assert per_rcpt["final-recipient"] == f"rfc822; {rcpt}"
    assert per_rcpt["status"] == "5.1.1"
    assert per_rcpt["remote-mta"].startswith("dns; 127.0.0.1")
    assert "550 5.1.1" in per_rcpt["diagnostic-code"]

    logs["remote"].wait_for(rf"NOQUEUE: reject: RCPT from .*: 550 5\.1\.1 <{rcpt}>")
    logs["postfix"].wait_for(rf"to=<{rcpt}>, relay=127\.0\.0\.1.*status=bounced")


def test_remote_provider_accepts_then_bounces_and_its_dsn_arrives_from_outside(
    lab: Lab, logs: dict[str, LogFollower]
) -> None:
    token = new_token()
    send(lab, "full@remote.test", token)

    (dsn,) = wait_for_messages(lab, "alice", token, exclude_own=True)
    assert sender_of(dsn) == "MAILER-DAEMON@mx.remote.test"
    per_message, per_rcpt = report_fields(dsn, "message/delivery-status")[:2]
    assert per_message["reporting-mta"] == "dns; mx.remote.test"
    assert per_rcpt["final-recipient"] == "rfc822; full@remote.test"
    assert per_rcpt["status"] == "5.2.2"

    remote = lab.settings.port("remote")
    logs["postfix"].wait_for(
        rf"to=<full@remote\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:{remote}, .*status=sent"
    )
    logs["remote"].wait_for(r"to=<full@remote\.test>, relay=full, .*dsn=5\.2\.2, status=bounced")
    # The DSN enters our Postfix over SMTP, with the null sender.
    logs["postfix"].wait_for(r"postfix/qmgr\[\d+\]: [0-9A-F]+: from=<>, size=\d+, nrcpt=1")


def test_ses_bounce_simulator_brings_an_ses_dsn(lab: Lab, logs: dict[str, LogFollower]) -> None:
    token = new_token()
    send(lab, "bounce@simulator.amazonses.com", token)

    (dsn,) = wait_for_messages(lab, "alice", token, exclude_own=True)
    assert sender_of(dsn) == "MAILER-DAEMON@amazonses.com"
    assert dsn["Subject"] == "Delivery Status Notification (Failure)"
    assert dsn["Return-Path"] == "<>"
    assert dsn["Message-ID"].endswith("@email.amazonses.com>")
    assert dsn.get_param("report-type") == "delivery-status"
    groups = report_fields(dsn, "message/delivery-status")
    assert groups[0]["reporting-mta"].startswith("dsn; ")
    assert groups[1]["final-recipient"] == "rfc822; bounce@simulator.amazonses.com"
    assert groups[1]["status"] == "5.1.1"
    assert groups[1]["diagnostic-code"] == "smtp; 550 5.1.1 user unknown"

    logs["ses"].wait_for(
        r"ses-simulator\[\d+\]: to=<bounce@simulator\.amazonses\.com>: .*bounce sent"
    )


def test_ses_complaint_simulator_brings_an_arf_report(lab: Lab) -> None:
    token = new_token()
    send(lab, "complaint@simulator.amazonses.com", token)

    (arf,) = wait_for_messages(lab, "alice", token, exclude_own=True)
    assert sender_of(arf) == "complaints@email-abuse.amazonses.com"
    assert arf["Return-Path"] == "<no-reply@amazonses.com>"
    assert arf["Subject"] == f"Fw: lab test {token}"
    assert arf.get_param("report-type") == "feedback-report"
    (fields,) = report_fields(arf, "message/feedback-report")
    assert fields["feedback-type"] == "abuse"
    assert fields["original-rcpt-to"] == "<complaint@simulator.amazonses.com>"


def test_ses_ooto_simulator_brings_an_auto_reply(lab: Lab) -> None:
    token = new_token()
    msg_id = send(lab, "ooto@simulator.amazonses.com", token)

    (reply,) = wait_for_messages(lab, "alice", token, exclude_own=True)
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply["In-Reply-To"] == msg_id
    assert sender_of(reply) == "ooto@simulator.amazonses.com"


def test_ses_success_simulator_answers_nothing(lab: Lab, logs: dict[str, LogFollower]) -> None:
    token = new_token()
    send(lab, "success@simulator.amazonses.com", token)
    logs["ses"].wait_for(r"to=<success@simulator\.amazonses\.com>: simulator=success, delivered")
    time.sleep(2)  # what SES would have sent back has had time to arrive
    client = imap_login(lab, "alice")
    try:
        client.select_folder("INBOX", readonly=True)
        assert client.search(["TEXT", token]) == []
    finally:
        client.logout()


def test_a_users_own_sieve_script_files_into_a_folder(
    lab: Lab, logs: dict[str, LogFollower]
) -> None:
    token = new_token()
    msg_id = send(lab, lab.settings.address("filer"), token)
    wait_for_messages(lab, "filer", token, folder="Filed")
    logs["dovecot"].wait_for(
        r"dovecot: lmtp\(filer@lab\.test\)<\d+><[^>]+>: sieve: msgid="
        + re.escape(msg_id)
        + r": fileinto action: stored mail into mailbox 'Filed'"
    )


def test_submission_needs_starttls_and_auth_and_the_certificate_is_the_labs(lab: Lab) -> None:
    port = lab.settings.port("submission")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.ehlo()
        assert not smtp.has_extn("auth"), "AUTH must not be offered before STARTTLS"
        code, _ = smtp.mail("alice@lab.test")
        assert code >= 500
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.starttls(context=tls_context(lab))
        smtp.ehlo()
        assert smtp.has_extn("auth")
        code, _ = smtp.mail("alice@lab.test")
        assert code == 250
        code, _ = smtp.rcpt("bob@lab.test")
        assert code >= 500, "relay without AUTH must be refused"
    untrusted = ssl.create_default_context(cafile=None, capath=None, cadata=None)
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp, pytest.raises(ssl.SSLError):
        smtp.starttls(context=untrusted)


def test_imap_starttls_is_verified_against_the_lab_ca(lab: Lab) -> None:
    from imapclient import IMAPClient

    client = IMAPClient("127.0.0.1", port=lab.settings.port("imap"), ssl=False)
    client.starttls(ssl_context=tls_context(lab))
    client.login(lab.settings.address("dsn-monitor"), lab.settings.password("dsn-monitor"))
    assert b"INBOX" in [name for _, _, name in client.list_folders()] or client.folder_exists(
        "INBOX"
    )
    client.logout()
