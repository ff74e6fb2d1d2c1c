"""Target rules: a test may go only where nobody reads it."""

from __future__ import annotations

import pytest

from dsnwatch.tester.targets import (
    TargetRefused,
    check_local_domain,
    check_remote_domain,
    check_target,
    default_target,
)


@pytest.mark.parametrize(
    "address", ["nobody-1@dsnwatch-test.invalid", "x@a.b.invalid", "X@Foo.INVALID"]
)
def test_local_tests_accept_invalid_domains(address: str) -> None:
    assert check_target("local", address) == address.lower()


@pytest.mark.parametrize(
    "address",
    [
        "someone@example.com",
        "ceo@gmail.com",
        "x@invalid.example.com",
        "x@example.invalid.com",
        "dsn-monitor@lab.test",
    ],
)
def test_local_tests_refuse_every_other_domain(address: str) -> None:
    with pytest.raises(TargetRefused, match=r"\.invalid"):
        check_target("local", address)


def test_remote_tests_go_only_to_the_configured_remote_target() -> None:
    assert check_target("remote", "nobody@remote.test", remote_target="remote.test")
    with pytest.raises(TargetRefused, match="only to the configured remote target"):
        check_target("remote", "nobody@gmail.com", remote_target="remote.test")
    with pytest.raises(TargetRefused, match="only to the configured remote target"):
        check_target("remote", "nobody@sub.remote.test", remote_target="remote.test")


def test_remote_tests_need_a_configured_target() -> None:
    with pytest.raises(TargetRefused, match="no remote target"):
        check_target("remote", "nobody@remote.test", remote_target="")


@pytest.mark.parametrize("domain", ["lab.test", "LAB.test"])
def test_remote_target_cannot_be_our_own_domain(domain: str) -> None:
    with pytest.raises(TargetRefused, match="own domain"):
        check_remote_domain(domain, ("lab.test",))


@pytest.mark.parametrize(
    ("kind", "address"),
    [
        ("ses", "bounce@simulator.amazonses.com"),
        ("ses", "bounce+label@simulator.amazonses.com"),
        ("complaint", "complaint@simulator.amazonses.com"),
        ("complaint", "complaint+x1@simulator.amazonses.com"),
    ],
)
def test_ses_tests_accept_the_simulator_mailboxes(kind: str, address: str) -> None:
    assert check_target(kind, address) == address


@pytest.mark.parametrize(
    ("kind", "address"),
    [
        ("ses", "success@simulator.amazonses.com"),
        ("ses", "complaint@simulator.amazonses.com"),
        ("ses", "bounce@example.com"),
        ("ses", "bounce@simulator.amazonses.com.evil.test"),
        ("complaint", "bounce@simulator.amazonses.com"),
        ("complaint", "complaint@amazonses.com"),
    ],
)
def test_ses_tests_refuse_anything_else(kind: str, address: str) -> None:
    with pytest.raises(TargetRefused):
        check_target(kind, address)


@pytest.mark.parametrize(
    "address",
    [
        "",
        "no-at-sign",
        "a@b@c.invalid",
        "x y@z.invalid",
        "<x@y.invalid>",
        "x@.invalid",
        "x@localhost",
    ],
)
def test_malformed_addresses_are_refused(address: str) -> None:
    with pytest.raises(TargetRefused):
        check_target("local", address)


def test_unknown_kinds_are_refused() -> None:
    with pytest.raises(TargetRefused, match="unknown"):
        check_target("everyone", "x@y.invalid")


def test_default_targets_are_fresh_and_pass_their_own_rules() -> None:
    for kind in ("local", "remote", "ses", "complaint"):
        address = default_target(kind, "abc123", remote_target="remote.test")
        assert "abc123" in address
        assert check_target(kind, address, remote_target="remote.test") == address


def test_the_local_domain_setting_must_be_invalid() -> None:
    assert check_local_domain("Tests.Invalid.") == "tests.invalid"
    with pytest.raises(TargetRefused):
        check_local_domain("example.org")
