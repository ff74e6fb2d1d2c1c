"""How things are coloured: reason classes, log kinds, check states, from the current theme.

Colours come from the theme's variables, so light and dark themes both read well;
with `NO_COLOR` Textual drops the colours and the text itself (hard/soft, `!`,
OK/FAIL) still says everything.
"""

from __future__ import annotations

from typing import Final

from rich.style import Style
from textual.color import Color, ColorParseError

# Why a recipient failed, grouped into what an operator does about it.
REASON_CLASSES: Final[dict[str, str]] = {
    # the address is wrong or gone: remove it
    "userunknown": "recipient",
    "hostunknown": "recipient",
    "hasmoved": "recipient",
    "suspend": "recipient",
    "mailboxfull": "recipient",
    # they refused us: look at reputation, authentication, content
    "blocked": "policy",
    "badreputation": "policy",
    "spamdetected": "policy",
    "policyviolation": "policy",
    "authfailure": "policy",
    "filtered": "policy",
    "requireptr": "policy",
    "securityerror": "policy",
    "rejected": "policy",
    "ratelimited": "policy",
    "virusdetected": "policy",
    "contenterror": "policy",
    "suppressed": "policy",
    # the way there failed: network, their system, our queue
    "expired": "transport",
    "networkerror": "transport",
    "systemerror": "transport",
    "systemfull": "transport",
    "mailererror": "transport",
    "failedstarttls": "transport",
    "norelaying": "transport",
    "notaccept": "transport",
    "syntaxerror": "transport",
    "notcompliantrfc": "transport",
    "emailtoolarge": "transport",
    "feedback": "complaint",
    "vacation": "info",
    "delivered": "info",
}

# reason class -> theme variable
_CLASS_COLOUR: Final = {
    "recipient": "text-error",
    "policy": "text-warning",
    "transport": "text-primary",
    "complaint": "text-secondary",
    "info": "text-success",
    "unknown": "foreground",
}


def reason_class(reason: str | None) -> str:
    """The class of a reason: recipient, policy, transport, complaint, info or unknown."""
    return REASON_CLASSES.get(reason or "", "unknown")


def log_kind_class(kind: str, status: str | None, alerting: bool) -> str:
    """How a log line stands out: alert, bounce, deferred, sent, sieve, notice or plain."""
    if alerting:
        return "alert"
    if kind == "postfix-delivery":
        return {"bounced": "bounce", "deferred": "deferred", "sent": "sent"}.get(
            status or "", "plain"
        )
    if kind == "postfix-bounce-notice":
        return "notice"
    if kind == "sieve-discard":
        return "deferred"
    if kind.startswith("sieve-"):
        return "sieve"
    return "plain"


# log class -> theme variable
_LOG_COLOUR: Final = {
    "alert": "text-error",
    "bounce": "text-error",
    "deferred": "text-warning",
    "sent": "text-success",
    "notice": "text-secondary",
    "sieve": "text-primary",
    "plain": "foreground",
}


class Palette:
    """Rich styles resolved from a theme's variables (rebuilt when the theme changes)."""

    def __init__(self, variables: dict[str, str]) -> None:
        def colour(name: str, fallback: str) -> str:
            value = variables.get(name, "")
            try:
                return Color.parse(value).hex if value else fallback
            except ColorParseError:  # "auto 60%" and the like: not a plain colour
                return fallback

        fg = colour("foreground", "default")
        try:
            muted = Color.parse(fg).blend(Color.parse(colour("background", "#000000")), 0.4).hex
        except ColorParseError:
            muted = fg
        self.muted = Style(color=muted)
        self.reason = {name: Style(color=colour(var, fg)) for name, var in _CLASS_COLOUR.items()}
        self.log = {name: Style(color=colour(var, fg)) for name, var in _LOG_COLOUR.items()}
        self.log["alert"] = Style(color=colour("text-error", fg), bold=True)
        self.hard = Style(bold=True)
        self.match = Style(
            color=colour("background", "black"), bgcolor=colour("warning", "yellow"), bold=True
        )
        self.service = {
            "dovecot": Style(color=colour("text-primary", fg)),
            "postfix": Style(color=colour("text-secondary", fg)),
        }
        self.check = {
            "OK": Style(color=colour("text-success", fg), bold=True),
            "WARN": Style(color=colour("text-warning", fg), bold=True),
            "FAIL": Style(color=colour("text-error", fg), bold=True),
        }
