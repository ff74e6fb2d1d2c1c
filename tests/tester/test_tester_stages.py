"""Stage evaluation over real Postfix and Dovecot log lines, as the lab writes them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dsnwatch.logs.follow import parse_docker_time
from dsnwatch.logs.readers import read_line
from dsnwatch.tester.model import TestResult, TestSpec
from dsnwatch.tester.stages import MailboxHit, Observations, evaluate

T0 = parse_docker_time("2026-12-03T17:05:43.000000000Z")
SENDER = "alice@lab.test"
MONITOR = "dsn-monitor@lab.test"
MID = "<dsnwatch-test.local.0123456789abcdef@lab.test>"
BOUNCE_MID = "<20261203170543.B0B0B0B0B0@mail.lab.test>"


def stamp(offset: float) -> str:
    moment = datetime.fromtimestamp(T0 + offset, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f000Z")


def postfix(offset: float, program: str, text: str) -> str:
    return f"{stamp(offset)} Dec  3 17:05:43 6ff43daa4271 postfix/{program}[141]: {text}"


def dovecot(offset: float, user: str, text: str) -> str:
    return (
        f"{stamp(offset)} Dec  3 17:05:43 be63cc95fe1b dovecot: "
        f"lmtp({user})<342><8D47HWehEWtWAQAAg+zDdQ>: sieve: {text}"
    )


def spec(kind: str = "local", **kw: object) -> TestSpec:
    recipient = {
        "local": "nobody-0123456789abcdef@dsnwatch-test.invalid",
        "remote": "dsnwatch-nonexistent-0123456789abcdef@remote.test",
        "ses": "bounce+0123456789abcdef@simulator.amazonses.com",
    }[kind]
    out = TestSpec(
        kind=kind,
        token="0123456789abcdef",
        sender=SENDER,
        recipient=recipient,
        message_id=MID,
        monitor=MONITOR,
        started=T0,
        deadline=T0 + 120,
        submitted=T0 + 0.05,
        queue_id="A0A0A0A0A0",
    )
    for key, value in kw.items():
        setattr(out, key, value)
    return out


def observe(lines: list[str]) -> Observations:
    obs = Observations()
    for line in lines:
        event = read_line(line)
        assert event.time is not None
        obs.add(event, parse_docker_time(event.time))
    return obs


def submitted_and_bounced(s: TestSpec) -> list[str]:
    return [
        postfix(
            0.01, "submission/smtpd", "A0A0A0A0A0: client=localhost[127.0.0.1], sasl_method=PLAIN"
        ),
        postfix(0.02, "cleanup", f"A0A0A0A0A0: message-id={MID}"),
        postfix(0.03, "qmgr", f"A0A0A0A0A0: from=<{SENDER}>, size=485, nrcpt=1 (queue active)"),
        postfix(
            0.04,
            "smtp",
            f"A0A0A0A0A0: to=<{s.recipient}>, relay=none, delay=0.02, dsn=5.4.4, "
            "status=bounced (unable to look up host dsnwatch-test.invalid)",
        ),
        postfix(0.05, "cleanup", f"B0B0B0B0B0: message-id={BOUNCE_MID}"),
        postfix(0.05, "bounce", "A0A0A0A0A0: sender non-delivery notification: B0B0B0B0B0"),
        postfix(0.05, "qmgr", "B0B0B0B0B0: from=<>, size=2448, nrcpt=1 (queue active)"),
    ]


POSTMASTER_COPY = [
    postfix(0.06, "bounce", "A0A0A0A0A0: postmaster non-delivery notification: C0C0C0C0C0"),
    postfix(
        0.08,
        "lmtp",
        f"C0C0C0C0C0: to=<{MONITOR}>, relay=127.0.0.1[127.0.0.1]:24024, dsn=2.0.0, "
        "status=sent (250 2.0.0 Saved)",
    ),
]
SIEVE_COPY = [
    dovecot(0.07, SENDER, f"msgid={BOUNCE_MID}: redirect action: forwarded to <{MONITOR}>"),
    dovecot(0.07, SENDER, f"msgid={BOUNCE_MID}: stored mail into mailbox 'INBOX'"),
]
DELIVERED = [
    postfix(
        0.08,
        "lmtp",
        f"B0B0B0B0B0: to=<{SENDER}>, relay=127.0.0.1[127.0.0.1]:24024, dsn=2.0.0, "
        "status=sent (250 2.0.0 Saved)",
    )
]


def hit(offset: float, message_id: str = BOUNCE_MID) -> MailboxHit:
    return MailboxHit(
        1, T0 + offset, message_id, MID, "Undelivered Mail Returned to Sender", "delivery-status"
    )


def states(stages: list[object]) -> dict[str, str]:
    return {s.id: s.state for s in stages}  # type: ignore[attr-defined]


def test_a_local_bounce_through_every_link_passes_every_stage() -> None:
    s = spec()
    obs = observe(submitted_and_bounced(s) + POSTMASTER_COPY + SIEVE_COPY + DELIVERED)
    stages = evaluate(s, obs, [hit(1.0), hit(1.0, "<pm@mail.lab.test>")], T0 + 1.5)
    assert set(states(stages).values()) == {"passed"}
    result = TestResult(s, stages, finished=T0 + 1.5)
    assert result.passed and result.verdict.startswith("PASS")
    mailbox = stages[-1]
    assert mailbox.detail.startswith("2 copies")  # the Sieve copy and the postmaster copy
    assert [round(st.at or 0, 2) for st in stages][:4] == [0.05, 0.02, 0.04, 0.05]


def test_without_the_postfix_part_local_fails_at_the_postfix_copy_naming_notify_classes() -> None:
    s = spec()
    obs = observe(submitted_and_bounced(s) + SIEVE_COPY + DELIVERED)
    early = evaluate(s, obs, [hit(1.0)], T0 + 5)
    assert states(early)["postfix-copy"] == "pending"  # still within its grace
    stages = evaluate(s, obs, [hit(1.0)], T0 + 30)
    result = TestResult(s, stages)
    failed = result.failed_stage
    assert failed is not None and failed.id == "postfix-copy"
    assert failed.detail == (
        f"Postfix bounced it, but no copy reached {MONITOR}: notify_classes is not active; "
        "run dsnwatch doctor"
    )
    assert states(stages)["redirect"] == "passed"  # the Sieve copy still worked


def test_without_the_sieve_rule_the_test_fails_at_the_redirect_stage() -> None:
    s = spec("remote")
    lines = submitted_and_bounced(s) + POSTMASTER_COPY + DELIVERED
    lines.append(dovecot(0.07, SENDER, f"msgid={BOUNCE_MID}: stored mail into mailbox 'INBOX'"))
    stages = evaluate(s, observe(lines), [hit(1.0, "<pm@mail.lab.test>")], T0 + 10)
    failed = TestResult(s, stages).failed_stage
    assert failed is not None and failed.id == "redirect"
    assert "sieve_before rule is missing or not active; run dsnwatch doctor" in failed.detail
    assert states(stages)["no-discard"] == "unreached"
    assert states(stages)["mailbox"] == "passed"  # the postmaster copy arrived


def test_a_discard_after_the_copy_fails_the_no_discard_stage() -> None:
    s = spec()
    lines = submitted_and_bounced(s) + POSTMASTER_COPY + DELIVERED + SIEVE_COPY[:1]
    lines.append(
        dovecot(
            0.07,
            SENDER,
            f"msgid={BOUNCE_MID}: discard action: Marked message to be discarded if not "
            "explicitly delivered (discard action)",
        )
    )
    stages = evaluate(s, observe(lines), [hit(1.0)], T0 + 2)
    failed = TestResult(s, stages).failed_stage
    assert failed is not None and failed.id == "no-discard"
    assert "discarded the report at alice@lab.test" in failed.detail


def test_full_copy_mode_expects_postfix_to_copy_the_bounce_and_sieve_to_leave_it() -> None:
    s = spec(postfix_mode="full-copy")
    lines = submitted_and_bounced(s) + DELIVERED
    lines.append(
        postfix(
            0.08,
            "lmtp",
            f"B0B0B0B0B0: to=<{MONITOR}>, relay=127.0.0.1[127.0.0.1]:24024, dsn=2.0.0, status=sent (250 ok)",
        )
    )
    lines.append(dovecot(0.07, SENDER, f"msgid={BOUNCE_MID}: stored mail into mailbox 'INBOX'"))
    stages = evaluate(s, observe(lines), [hit(1.0)], T0 + 5)
    assert states(stages)["postfix-copy"] == "passed"
    assert states(stages)["redirect"] == "skipped"
    assert TestResult(s, stages).passed


def test_full_copy_mode_without_the_cleanup_service_names_it() -> None:
    s = spec(postfix_mode="full-copy")
    stages = evaluate(s, observe(submitted_and_bounced(s) + DELIVERED), [], T0 + 30)
    failed = TestResult(s, stages).failed_stage
    assert failed is not None and failed.id == "postfix-copy"
    assert "bounce cleanup (full-copy mode) is not active" in failed.detail


def test_an_ses_bounce_coming_back_from_outside_is_followed_by_its_message_id() -> None:
    s = spec("ses")
    dsn_mid = "<000001a2-ses@email.amazonses.com>"
    lines = [
        postfix(0.02, "cleanup", f"A0A0A0A0A0: message-id={MID}"),
        postfix(
            0.04,
            "smtp",
            f"A0A0A0A0A0: to=<{s.recipient}>, relay=127.0.0.1[127.0.0.1]:24225, dsn=2.0.0, status=sent (250 2.0.0 Ok)",
        ),
        postfix(0.10, "smtpd", "D0D0D0D0D0: client=localhost[127.0.0.1]"),
        postfix(0.10, "cleanup", f"D0D0D0D0D0: message-id={dsn_mid}"),
        postfix(0.11, "qmgr", "D0D0D0D0D0: from=<>, size=3000, nrcpt=1 (queue active)"),
        dovecot(0.12, SENDER, f"msgid={dsn_mid}: redirect action: forwarded to <{MONITOR}>"),
        dovecot(0.12, SENDER, f"msgid={dsn_mid}: stored mail into mailbox 'INBOX'"),
        postfix(
            0.13,
            "lmtp",
            f"D0D0D0D0D0: to=<{SENDER}>, relay=127.0.0.1[127.0.0.1]:24024, dsn=2.0.0, status=sent (250 ok)",
        ),
        # The Sieve copy re-enters through the re-injection service with the same Message-ID.
        postfix(0.14, "sogo/smtpd", "E0E0E0E0E0: client=localhost[127.0.0.1]"),
        postfix(0.14, "cleanup", f"E0E0E0E0E0: message-id={dsn_mid}"),
    ]
    obs = observe(lines)
    before = evaluate(s, obs, [], T0 + 0.5)
    assert "matched by time and sender" in before[3].detail
    stages = evaluate(s, obs, [hit(1.0, dsn_mid)], T0 + 1.5)
    assert states(stages) == {
        "submit": "passed",
        "accepted": "passed",
        "outcome": "passed",
        "report": "passed",
        "postfix-copy": "skipped",
        "delivered": "passed",
        "redirect": "passed",
        "no-discard": "passed",
        "mailbox": "passed",
    }
    assert "matched by time" not in stages[3].detail


def test_an_ses_test_with_no_report_back_fails_at_the_deadline_naming_feedback_forwarding() -> None:
    s = spec("ses")
    lines = [
        postfix(0.02, "cleanup", f"A0A0A0A0A0: message-id={MID}"),
        postfix(
            0.04,
            "smtp",
            f"A0A0A0A0A0: to=<{s.recipient}>, relay=ses, dsn=2.0.0, status=sent (250 Ok)",
        ),
    ]
    assert states(evaluate(s, observe(lines), [], T0 + 60))["report"] == "pending"
    stages = evaluate(s, observe(lines), [], T0 + 121)
    failed = TestResult(s, stages).failed_stage
    assert failed is not None and failed.id == "report"
    assert "SES feedback forwarding" in failed.detail and "nothing within 120s" in failed.detail


def test_a_refused_submission_fails_the_first_stage_and_leaves_the_rest_unreached() -> None:
    s = spec(submitted=None, submit_error="127.0.0.1:24587 refused the recipient: 554 no")
    stages = evaluate(s, Observations(), [], T0 + 1)
    result = TestResult(s, stages)
    assert result.failed_stage is not None and result.failed_stage.id == "submit"
    assert {st.state for st in stages[1:]} == {"unreached"}
    assert result.done and not result.passed
    assert result.verdict == "FAIL at submitted: 127.0.0.1:24587 refused the recipient: 554 no"


def test_an_unlogged_message_fails_accepted_after_its_grace_and_names_the_log() -> None:
    s = spec()
    obs = Observations()
    assert states(evaluate(s, obs, [], T0 + 5))["accepted"] == "pending"
    obs.follower_state("postfix", "missing", "container is exited")
    stages = evaluate(s, obs, [], T0 + 25)
    assert stages[1].state == "failed"
    assert stages[1].detail == "the postfix log could not be read (missing: container is exited)"


def test_a_deferred_local_test_names_the_resolver() -> None:
    s = spec()
    lines = [
        *submitted_and_bounced(s)[:3],
        postfix(
            0.5,
            "smtp",
            f"A0A0A0A0A0: to=<{s.recipient}>, relay=none, delay=1, dsn=4.4.3, status=deferred (Host or domain name not found)",
        ),
    ]
    stages = evaluate(s, observe(lines), [], T0 + 1)
    assert stages[2].state == "failed" and "DNS resolver" in stages[2].detail


@pytest.mark.parametrize("state", ["pending", "passed", "failed", "skipped", "unreached"])
def test_json_shape_of_a_result(state: str) -> None:
    s = spec()
    stages = evaluate(s, observe(submitted_and_bounced(s)), [], T0 + 0.1)
    stages[-1].state = state  # type: ignore[assignment]
    out = TestResult(s, stages, finished=T0 + 2).to_dict()
    assert set(out) == {
        "test",
        "token",
        "message_id",
        "sender",
        "recipient",
        "route",
        "queue_id",
        "passed",
        "verdict",
        "failed_stage",
        "cause",
        "started_at",
        "duration",
        "stages",
    }
    assert out["duration"] == 2.0
    assert [st["id"] for st in out["stages"]][:3] == ["submit", "accepted", "outcome"]
    assert set(out["stages"][0]) == {"id", "name", "state", "at", "detail"}
