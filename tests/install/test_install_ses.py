"""SES feedback forwarding through SESv2, with botocore's Stubber (never the network)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from dsnwatch.config import Config
from dsnwatch.install import ses
from dsnwatch.install.doctor import check_ses


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "sesv2", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def _identity(forwarding: bool) -> dict[str, Any]:
    return {"FeedbackForwardingStatus": forwarding, "VerifiedForSendingStatus": True}


def test_enable_puts_the_attribute_and_reads_it_back(stubbed: tuple[Any, Stubber]) -> None:
    client, stub = stubbed
    stub.add_response(
        "put_email_identity_feedback_attributes",
        {},
        {"EmailIdentity": "example.org", "EmailForwardingEnabled": True},
    )
    stub.add_response("get_email_identity", _identity(True), {"EmailIdentity": "example.org"})
    status = ses.enable_forwarding(client, "example.org")
    assert status.forwarding and status.verified


def test_enable_that_does_not_take_effect_is_an_error(stubbed: tuple[Any, Stubber]) -> None:
    client, stub = stubbed
    stub.add_response("put_email_identity_feedback_attributes", {})
    stub.add_response("get_email_identity", _identity(False))
    with pytest.raises(ses.SesError, match="still has feedback forwarding off"):
        ses.enable_forwarding(client, "example.org")


def test_unknown_identity_error_names_the_identity(stubbed: tuple[Any, Stubber]) -> None:
    client, stub = stubbed
    stub.add_client_error("get_email_identity", "NotFoundException", "no such identity")
    with pytest.raises(ses.SesError, match=r"SES identity nope\.example"):
        ses.forwarding_status(client, "nope.example")


def test_doctor_reports_forwarding_per_identity(stubbed: tuple[Any, Stubber]) -> None:
    client, stub = stubbed
    stub.add_response("get_email_identity", _identity(True))
    stub.add_response("get_email_identity", _identity(False))
    cfg = Config(ses_identities=("a.example", "b.example"))
    checks = check_ses(cfg, lambda: client)
    assert [c.status for c in checks] == ["OK", "FAIL"]
    assert "--ses-identity b.example" in checks[1].message
