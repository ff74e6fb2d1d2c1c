"""Postfix settings: parsing, merging notify_classes, the blueprint's `<>` key."""

from __future__ import annotations

from install_fakes import MAILBOX

from dsnwatch.install import postfix
from dsnwatch.install.blocks import BEGIN


def test_settings_parse_joins_continuations_and_last_wins() -> None:
    text = "a = 1\n# c = 9\nb = x,\n  y\na = 2\n"
    assert postfix.parse_settings(text) == {"a": "2", "b": "x, y"}


def test_notify_classes_keep_the_operator_classes_first() -> None:
    assert postfix.merge_classes("resource, software", ["bounce", "delay"]) == (
        "resource, software, bounce, delay"
    )
    assert postfix.merge_classes("bounce policy", ["bounce"]) == "bounce, policy"


def test_operator_value_outside_our_block_is_the_base() -> None:
    extra = f"notify_classes = policy\n{BEGIN}\nnotify_classes = x\n# END dsnwatch managed block\n"
    assert postfix.operator_notify_classes("", extra) == "policy"
    assert postfix.operator_notify_classes("", "") == postfix.DEFAULT_NOTIFY_CLASSES


def test_notify_mode_sets_each_recipient() -> None:
    body = postfix.render_settings(MAILBOX, ["bounce", "2bounce"], "resource, software")
    assert "notify_classes = resource, software, bounce, 2bounce\n" in body
    assert f"bounce_notice_recipient = {MAILBOX}\n" in body
    assert f"2bounce_notice_recipient = {MAILBOX}\n" in body
    assert "delay_notice_recipient" not in body


def test_full_copy_mode_moves_bounce_services_to_a_bcc_cleanup() -> None:
    assert postfix.render_settings(MAILBOX, ["bounce"], "", mode="full-copy") == ""
    master = postfix.render_master("/opt/postfix/conf")
    # bounce(8) refuses other service names, so the block redefines bounce, defer, trace.
    for name in ("bounce", "defer", "trace"):
        assert f"\n{name} unix - - n - 0 bounce -o cleanup_service_name=dsnwatch-cleanup" in master
    assert postfix.full_copy_active("bounce unix - - n - 0 bounce\n" + master.splitlines()[1])
    assert not postfix.full_copy_active(master.splitlines()[1] + "\nbounce unix - - n - 0 bounce")
    assert "mime_header_checks=regexp:/opt/postfix/conf/dsnwatch_bcc.regexp" in master
    assert "internal_mail_filter_classes=bounce" in master
    assert postfix.render_bcc_map(MAILBOX).endswith(f"BCC {MAILBOX}\n".encode())


def test_settings_block_appended_and_removed() -> None:
    current = b"message_size_limit = 1\n"
    body = postfix.render_settings(MAILBOX, ["bounce"], "")
    installed = postfix.install_settings(current, body)
    assert installed.startswith(current)
    assert postfix.install_settings(installed, "") == current


def test_blueprint_null_sender_key_is_explained() -> None:
    problem = postfix.sender_bcc_null_problem("hash:/opt/postfix/conf/sender_bcc", MAILBOX)
    assert problem is not None and "never looks up the null sender" in problem
    assert postfix.sender_bcc_null_problem("hash:/x", None) is None
