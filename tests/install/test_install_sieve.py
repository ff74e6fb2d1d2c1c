"""The Sieve rule and where it goes in the operator's global script."""

from __future__ import annotations

import pytest
from install_fakes import MAILBOX, MAILCOW_SIEVE_BEFORE

from dsnwatch.install.blocks import BlockError, block_body
from dsnwatch.install.sieve import (
    blueprint_problems,
    insertion_point,
    install_rule,
    render_rule,
    uninstall_rule,
)


def test_rule_copies_without_keep_and_matches_parsed_report_type() -> None:
    rule = render_rule(MAILBOX)
    assert f'redirect :copy "{MAILBOX}";' in rule
    assert 'header :mime :param "report-type" "Content-Type"' in rule
    assert '["delivery-status", "feedback-report"]' in rule
    assert "keep" not in rule.replace("implicit keep", "")
    assert "stop" not in rule


def test_rule_guards_loops_by_envelope_and_redirect_header() -> None:
    rule = render_rule(MAILBOX)
    assert f'envelope :is "to" "{MAILBOX}"' in rule
    assert 'exists "X-Sieve-Redirected-From"' in rule
    assert "X-DSN-Monitor-Copy" not in rule
    assert 'exists "X-DSN-Monitor-Copy"' in render_rule(MAILBOX, postfix_marker=True)


def test_rule_catches_legacy_bounces_by_null_sender_and_daemon_from() -> None:
    rule = render_rule(MAILBOX)
    assert 'envelope :is "from" ""' in rule
    assert 'address :localpart :is "from" ["mailer-daemon", "postmaster"]' in rule


@pytest.mark.parametrize("bad", ['a"b@example.org', "no-at-sign", "x@y\n"])
def test_address_that_could_break_the_script_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="not a mailbox address"):
        render_rule(bad)


def test_block_goes_after_the_operator_requires_and_before_the_rules() -> None:
    out = install_rule(MAILCOW_SIEVE_BEFORE, MAILBOX).decode()
    lines = out.splitlines()
    assert lines[0] == 'require ["mailbox", "fileinto"];'
    assert lines[1].startswith("# BEGIN dsnwatch")
    assert out.index("END dsnwatch") < out.index("Chat-Version")


def test_multiline_requires_and_comments_are_skipped() -> None:
    text = '# header\nrequire [\n  "fileinto", # why\n  "envelope"\n];\nrequire "x;y";\nif true { stop; }\n'
    assert text[insertion_point(text) :] == "if true { stop; }\n"


def test_script_without_requires_gets_the_block_first() -> None:
    assert insertion_point("if true { keep; }\n") == 0


def test_rule_on_the_require_line_is_refused() -> None:
    with pytest.raises(BlockError, match="own line"):
        insertion_point('require "fileinto"; fileinto "x";\n')


def test_install_is_idempotent_and_uninstall_restores_bytes() -> None:
    once = install_rule(MAILCOW_SIEVE_BEFORE, MAILBOX)
    assert install_rule(once, MAILBOX) == once
    assert uninstall_rule(once) == MAILCOW_SIEVE_BEFORE


def test_changed_mailbox_replaces_the_block() -> None:
    once = install_rule(MAILCOW_SIEVE_BEFORE, MAILBOX)
    twice = install_rule(once, "other@example.org")
    assert (block_body(twice.decode()) or "").count("other@example.org") == 2
    assert MAILBOX not in twice.decode()


def test_missing_file_gets_just_the_block() -> None:
    out = install_rule(None, MAILBOX)
    assert out.decode().startswith("# BEGIN dsnwatch")
    assert uninstall_rule(out) == b""


def test_blueprint_rule_in_sieve_after_is_recognised() -> None:
    after = f'require ["copy"];\nif true {{\n  redirect :copy "{MAILBOX}";\n  keep;\n}}\n'
    problems = blueprint_problems("", after, MAILBOX)
    assert any("sieve_after" in p and "never runs" in p for p in problems)
    assert any("followed by `keep`" in p for p in problems)


def test_our_own_rule_is_not_a_blueprint_problem() -> None:
    before = install_rule(MAILCOW_SIEVE_BEFORE, MAILBOX).decode()
    assert blueprint_problems(before, "", MAILBOX) == []
