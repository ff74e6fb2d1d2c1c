"""Amazon SES event notifications delivered by email (an SNS topic's email subscription).

The body is one JSON object: `notificationType` Bounce, Complaint or Delivery,
with the recipients under `bounce.bouncedRecipients`, `complaint.complainedRecipients`
or `delivery.recipients`. Reasons are left to the shared classifier; this module
only turns the JSON into recipient entries.
"""

from __future__ import annotations

import json
from typing import Any

from dsnwatch.model import RecipientReport

_DECODER = json.JSONDecoder()
# SES marks addresses it refused to send to because of an earlier bounce or complaint.
_SUPPRESSED_SUBTYPES = frozenset({"suppressed", "onaccountsuppressionlist"})


def looks_like(subject: str, sender: str, text: str) -> bool:
    """True for an SNS email carrying an SES notification."""
    if '"notificationType"' not in text:
        return False
    return subject.strip().lower() == "aws notification message" or "sns.amazonaws.com" in sender


def _document(text: str) -> dict[str, Any] | None:
    start = text.find("{")
    if start < 0:
        return None
    try:
        value, _ = _DECODER.raw_decode(text, start)
    except (ValueError, RecursionError):
        # Mail transport wrapped the long JSON line: join the pieces again.
        try:
            value, _ = _DECODER.raw_decode(text[start:].replace("\n", ""))
        except (ValueError, RecursionError):
            return None
    return value if isinstance(value, dict) else None


def _object(doc: dict[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key)
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def read(text: str) -> tuple[list[RecipientReport], bool]:
    """(entries, suppressed) from the notification; entries still need a reason.

    Complaint entries come back with reason "feedback", deliveries with "delivered".
    """
    doc = _document(text)
    if doc is None:
        return [], False
    kind = str(doc.get("notificationType") or "").lower()
    entries: list[RecipientReport] = []
    if kind == "bounce":
        bounce = _object(doc, "bounce")
        subtype = str(bounce.get("bounceSubType") or "").lower()
        for item in bounce.get("bouncedRecipients") or []:
            if not isinstance(item, dict) or not _text(item.get("emailAddress")):
                continue
            entries.append(
                RecipientReport(
                    recipient=str(item["emailAddress"]).strip(),
                    action=_text(item.get("action")),
                    status=_text(item.get("status")),
                    diagnostic_code=_text(item.get("diagnosticCode")),
                    reporting_mta=_text(bounce.get("reportingMTA")),
                )
            )
        return entries, subtype in _SUPPRESSED_SUBTYPES
    if kind == "complaint":
        complaint = _object(doc, "complaint")
        feedback = _text(complaint.get("complaintFeedbackType")) or "abuse"
        for item in complaint.get("complainedRecipients") or []:
            if isinstance(item, dict) and _text(item.get("emailAddress")):
                entries.append(
                    RecipientReport(
                        recipient=str(item["emailAddress"]).strip(),
                        reason="feedback",
                        feedback_type=feedback.lower(),
                    )
                )
        return entries, False
    if kind == "delivery":
        delivery = _object(doc, "delivery")
        response = _text(delivery.get("smtpResponse")) or ""
        for address in delivery.get("recipients") or []:
            if _text(address):
                entries.append(
                    RecipientReport(
                        recipient=str(address).strip(),
                        action="delivered",
                        diagnostic_code=response or None,
                        reporting_mta=_text(delivery.get("reportingMTA")),
                        reason="delivered",
                    )
                )
    return entries, False
