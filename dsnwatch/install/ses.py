"""Amazon SES feedback forwarding: bounces and complaints mailed back to the sender.

With forwarding on, SES sends its bounce and complaint notices to the message's
Return-Path, where the Sieve rule copies them to the central mailbox. Credentials come
the usual AWS way (environment, profile, instance role).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class SesError(RuntimeError):
    """An SES call failed; the message says which identity and why."""


@dataclass(frozen=True, slots=True)
class SesStatus:
    """Whether one identity forwards its feedback by email."""

    identity: str
    forwarding: bool
    verified: bool


def make_client() -> Any:
    """An SESv2 client (needs the `ses` extra: boto3)."""
    try:
        import boto3
    except ImportError as exc:
        raise SesError("boto3 is not installed; install dsnwatch[ses]") from exc
    return boto3.client("sesv2")


def _error(identity: str, exc: Exception) -> SesError:
    return SesError(f"SES identity {identity}: {exc}; check the identity name and AWS credentials")


def forwarding_status(client: Any, identity: str) -> SesStatus:
    """Read the identity's feedback forwarding with GetEmailIdentity."""
    try:
        reply = client.get_email_identity(EmailIdentity=identity)
    except Exception as exc:
        raise _error(identity, exc) from exc
    return SesStatus(
        identity=identity,
        forwarding=bool(reply.get("FeedbackForwardingStatus", False)),
        verified=bool(reply.get("VerifiedForSendingStatus", False)),
    )


def enable_forwarding(client: Any, identity: str) -> SesStatus:
    """Turn forwarding on, then read it back to prove it took effect."""
    try:
        client.put_email_identity_feedback_attributes(
            EmailIdentity=identity, EmailForwardingEnabled=True
        )
    except Exception as exc:
        raise _error(identity, exc) from exc
    status = forwarding_status(client, identity)
    if not status.forwarding:
        raise SesError(
            f"SES identity {identity} still has feedback forwarding off after enabling it"
        )
    return status
