"""Provider error codes: what a provider's own code or wording means.

Large mail providers answer with their own codes ("RCP-P2", "[TSS04]") whose
meaning their postmaster pages publish; the generic phrase table cannot know
them. A provider is recognised by the host name of its mail servers (the
remote MTA) or by a mark it leaves in its wording, such as its postmaster
address; only then are its codes read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Rule:
    """One code or wording of a provider and the reason it means.

    `stage` limits the rule to a refusal of that SMTP command (see `smtp`);
    `reply` to a refusal with that SMTP reply code.
    """

    pattern: re.Pattern[str]
    reason: str
    stage: str | None = None
    reply: str | None = None


@dataclass(frozen=True, slots=True)
class Provider:
    """A provider: how to recognise it and what its codes mean."""

    name: str
    hosts: tuple[str, ...] = ()  # host name suffixes of its mail servers
    marks: tuple[str, ...] = ()  # lower-case substrings without spaces only it writes
    rules: tuple[Rule, ...] = ()
    # A numbered code of its own read from the folded text, for tables too long for rules.
    codes: Callable[[str], str | None] | None = None

    def serves(self, host: str, lowered: str) -> bool:
        """True when the remote host is one of its servers or a mark is in `lowered`."""
        if host:
            for suffix in self.hosts:
                if host.endswith(suffix) and (
                    len(host) == len(suffix) or host[-len(suffix) - 1] == "."
                ):
                    return True
        return any(mark in lowered for mark in self.marks)


def _rule(pattern: str, reason: str, stage: str | None = None, reply: str | None = None) -> Rule:
    return Rule(re.compile(pattern), reason, stage, reply)


def _replied(reply: str, reason: str, *patterns: str) -> tuple[Rule, ...]:
    """Rules that hold only for a refusal with the reply code `reply`."""
    return tuple(_rule(p, reason, reply=reply) for p in patterns)


# Orange and La Poste end each refusal with a label and a number: "OFR_506",
# "LPN007_416", "OUK_513". The number is the cause in their published list.
_ORANGE_CODE = re.compile(r"\b(?:lpn|ofr|ouk)[a-z]*\d*_(\d{3})\b")
_ORANGE_MEANING: Final[dict[str, str]] = {
    **dict.fromkeys(("101", "102", "103", "510", "999"), "blocked"),  # the sending IP
    "104": "ratelimited",
    **dict.fromkeys(("305", "402"), "securityerror"),
    **dict.fromkeys(("401", "517"), "authfailure"),  # SPF of the sender's domain
    **dict.fromkeys(("403", "405", "415", "421"), "rejected"),  # the envelope sender
    "416": "userunknown",
    "417": "mailboxfull",
    **dict.fromkeys(("420", "426"), "suspend"),
    "505": "systemerror",  # a refusal after DATA it asks to retry later
    "506": "spamdetected",  # its content filter refused the message ("Mail rejete")
    "514": "emailtoolarge",
    "630": "policyviolation",
}


def _orange(folded: str) -> str | None:
    found = None
    for m in _ORANGE_CODE.finditer(folded):
        found = m.group(1)  # the label closes the reply: the last one counts
    return _ORANGE_MEANING.get(found) if found else None


# Spectrum (Charter) cites its acceptable use policy as "AUP#In-1310": four digits
# in ranges by cause.
_SPECTRUM_CODE = re.compile(r"aup#\D{0,8}(\d{4})\b")
_SPECTRUM_RANGES: Final[tuple[tuple[int, int, str], ...]] = (
    (1000, 1000, "blocked"),
    (1010, 1080, "rejected"),
    (1090, 1090, "systemerror"),
    (1100, 1150, "requireptr"),
    (1160, 1190, "policyviolation"),
    (1200, 1250, "blocked"),
    (1260, 1260, "networkerror"),
    (1300, 1490, "ratelimited"),
    (1500, 1520, "rejected"),
    (1530, 1530, "emailtoolarge"),
    (1540, 1550, "ratelimited"),
    (1560, 1560, "policyviolation"),
    (1580, 1580, "ratelimited"),
)


def _spectrum(folded: str) -> str | None:
    m = _SPECTRUM_CODE.search(folded)
    if m is None:
        return None
    number = int(m.group(1))
    for low, high, reason in _SPECTRUM_RANGES:
        if low <= number <= high:
            return reason
    return None


PROVIDERS: Final[tuple[Provider, ...]] = (
    # Facebook's published response codes: RCP = recipient, POL = policy,
    # MSG = message, DNS = sender domain, CON = connections, INT = internal.
    Provider(
        "Facebook",
        hosts=("facebook.com",),
        marks=("postmaster.facebook.com",),
        rules=(
            _rule(r"\brcp-p1\b", "userunknown"),  # the address does not exist
            _rule(r"\brcp-p[23]\b", "filtered"),  # the recipient's preferences refuse it
            _rule(r"\bpol-p[12]\b", "blocked"),  # the sending IP is listed or banned
            _rule(r"\bpol-p[78]\b", "authfailure"),  # domain authentication failed
            _rule(r"\bmsg-p1\b", "emailtoolarge"),
            _rule(r"\bmsg-p3\b", "notcompliantrfc"),  # a header repeated that must be single
            _rule(r"\bdns-p[123]\b", "rejected"),  # the MAIL FROM domain does not resolve
            _rule(r"\bcon-t[1-4]\b", "ratelimited"),
            _rule(r"\bint-[pt]\d\b", "systemerror"),
        ),
    ),
    # Google Groups answers a post it refuses (no such group, or no permission
    # to post) with a notice in the poster's language and a link to its help.
    Provider(
        "Google Groups",
        marks=("groups.google.com/support",),
        rules=(_rule(r"groups\.google\.com/support", "rejected"),),
    ),
    # Yahoo's [TSnn] deferrals refused at MAIL FROM are about the sender.
    Provider(
        "Yahoo",
        hosts=("yahoodns.net", "yahoo.com", "yahoo.net"),
        rules=(_rule(r"\[ts[s]?0[1-4]\]", "rejected", stage="MAIL"),),
    ),
    # NTT docomo says "Unknown user" after DATA when the recipient's reception
    # settings refuse the sender, not when the mailbox is missing.
    Provider(
        "NTT docomo",
        hosts=("docomo.ne.jp",),
        rules=(_rule(r"unknown user", "rejected", stage="DATA"),),
    ),
    # Amazon SES's submission servers refuse mail from identities (addresses or
    # domains) not verified for sending: it will not relay them.
    Provider(
        "Amazon SES submission",
        hosts=("amazonaws.com",),
        rules=(_rule(r"(?:email )?address is not verified", "norelaying"),),
    ),
    Provider(
        "Orange",
        hosts=("orange.fr", "wanadoo.fr", "laposte.net"),
        marks=("ofr", "lpn", "ouk_"),
        codes=_orange,
    ),
    Provider("Spectrum", hosts=("charter.net",), marks=("spectrum.net", "aup#"), codes=_spectrum),
    # AOL's own relays report a domain whose MX answer is garbled as one that
    # takes no mail.
    Provider(
        "AOL",
        hosts=("mx.aol.com", "mail.aol.com"),
        rules=(
            _rule(r"host or domain name not found", "hostunknown"),
            _rule(r"type=mx: malformed or unexpected name server reply", "notaccept"),
        ),
    ),
    # KDDI (au, ezweb) answers "550 : User unknown", naming no one, when the
    # recipient's own filter refuses the sender; a missing mailbox is named.
    Provider(
        "KDDI",
        hosts=("ezweb.ne.jp", "au.com"),
        rules=(
            # Its own notices open with the cause, before the refusal they quote.
            _rule(r"the user\(s\) account is (?:disabled|temporarily limited)", "suspend"),
            _rule(r"the user\(s\) account is temporarily over quota", "mailboxfull"),
            _rule(r"550 : user unknown", "filtered"),
            _rule(r">: user unknown", "userunknown"),
        ),
    ),
    # Verizon's SMS and MMS gateways report an unknown number in their own notice.
    Provider(
        "Verizon",
        hosts=("vtext.com", "vzwpix.com"),
        marks=("@vtext.com", "@vzwpix.com"),
        rules=(_rule(r"no such user here|no valid recipients", "userunknown"),),
    ),
    # Symantec MessageLabs (Email Security.cloud) refuses unknown recipients with 542.
    Provider(
        "MessageLabs",
        hosts=("messagelabs.com",),
        rules=(
            _rule(r"turn on smtp authentication", "securityerror"),
            _rule(r"\brejected\b", "userunknown", reply="542"),
            _rule(r"no such user", "userunknown"),
        ),
    ),
    # Mimecast's wording is the same for several causes; its reply code tells them apart.
    Provider(
        "Mimecast",
        hosts=("mimecast.com",),
        rules=(
            *_replied("554", "virusdetected", r"email rejected due to security policies"),
            *_replied("554", "emailtoolarge", r"maximum email size exceeded"),
            *_replied("554", "networkerror", r"mail loop detected"),
            *_replied("554", "policyviolation", r"host network,? not allowed"),
            *_replied("554", "failedstarttls", r"configuration is invalid for this certificate"),
            *_replied("553", "failedstarttls", r"this route requires (?:encryption|tls|high)"),
            *_replied("550", "authfailure", r"(?:spf|dkim|dmarc) sender invalid"),
            *_replied("550", "badreputation", r"ip reputation"),
            *_replied("550", "policyviolation", r"anti-spoofing policy"),
            *_replied(
                "550",
                "rejected",
                r"envelope blocked",
                r"envelope rejected",
                r"blocked senders",
                r"manually blocked senders",
            ),
            *_replied("550", "securityerror", r"submitter failed to"),
            *_replied("550", "ratelimited", r"exceeding outbound thread limit"),
            *_replied("550", "userunknown", r"invalid recipient"),
            *_replied("501", "userunknown", r"invalid address"),
            *_replied("503", "userunknown", r"user unknown"),
            *_replied("451", "ratelimited", r"account service is temporarily unavailable"),
            *_replied("451", "norelaying", r"open relay (?:is )?not allowed"),
            *_replied("451", "notaccept", r"account inbounds disabled"),
            *_replied("451", "blocked", r"ip temporarily blacklisted"),
            *_replied("451", "badreputation", r"internal resources are temporarily unavailable"),
            *_replied("421", "blocked", r"sender address blocked"),
            *_replied("452", "ratelimited", r"too many recipients"),
        ),
    ),
    # Google's own notice for an address that does not exist, and Yahoo's.
    Provider(
        "Google",
        hosts=("googlemail.com", "google.com"),
        rules=(_rule(r"because the address couldn't be found", "userunknown"),),
    ),
    Provider(
        "Yahoo mailboxes",
        hosts=("yahoodns.net",),
        rules=(
            _rule(r"delivery error: dd this user doesn't have a", "userunknown"),
            _rule(r"this mailbox is disabled|is no longer valid\.", "suspend"),
        ),
    ),
    # Zoho refuses at RCPT TO, before any content, mail from senders its
    # filters flag: the sender is refused, not a message.
    Provider(
        "Zoho",
        hosts=("zoho.com", "zohomail.com", "zoho.eu", "zoho.in"),
        rules=(_rule(r"email flagged as spam", "rejected", stage="RCPT"),),
    ),
)


def _host(value: str | None) -> str:
    """The host name of a report field value: "mx.example.jp. (192.0.2.1)" -> "mx.example.jp"."""
    if not value:
        return ""
    first = value.split(None, 1)[0] if value.strip() else ""
    return first.strip("[]()").lower().rstrip(".")


def reason_for(
    remote_mta: str | None,
    text: str,
    command: str | None,
    *,
    reporting_mta: str | None = None,
    reply_code: str | None = None,
) -> str | None:
    """The reason a provider's own code in `text` means, or None.

    With no remote host named, the failure happened at the reporting host: a
    provider that wrote the report itself is recognised by that host.
    """
    host = _host(remote_mta) or _host(reporting_mta)
    lowered = text.lower()
    folded: str | None = None
    for provider in PROVIDERS:
        if not provider.serves(host, lowered):
            continue
        if folded is None:
            folded = " ".join(lowered.split())
        for rule in provider.rules:
            if rule.stage is not None and rule.stage != command:
                continue
            if rule.reply is not None and rule.reply != reply_code:
                continue
            if rule.pattern.search(folded):
                return rule.reason
        if provider.codes is not None:
            found = provider.codes(folded)
            if found is not None:
                return found
    return None
