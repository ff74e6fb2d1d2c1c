"""Provider error codes: what a provider's own code or wording means.

Large mail providers answer with their own codes ("RCP-P2", "[TSS04]") whose
meaning their postmaster pages publish; the generic phrase table cannot know
them. A provider is recognised by the host name of its mail servers (the
remote MTA) or by a mark it leaves in its wording, such as its postmaster
address; only then are its codes read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Rule:
    """One code or wording of a provider and the reason it means.

    `stage` limits the rule to a refusal of that SMTP command (see `smtp`).
    """

    pattern: re.Pattern[str]
    reason: str
    stage: str | None = None


@dataclass(frozen=True, slots=True)
class Provider:
    """A provider: how to recognise it and what its codes mean."""

    name: str
    hosts: tuple[str, ...] = ()  # host name suffixes of its mail servers
    marks: tuple[str, ...] = ()  # lower-case substrings without spaces only it writes
    rules: tuple[Rule, ...] = ()

    def serves(self, host: str, lowered: str) -> bool:
        """True when the remote host is one of its servers or a mark is in `lowered`."""
        if host and any(host == h or host.endswith("." + h) for h in self.hosts):
            return True
        return any(mark in lowered for mark in self.marks)


def _rule(pattern: str, reason: str, stage: str | None = None) -> Rule:
    return Rule(re.compile(pattern), reason, stage)


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
    # Orange (orange.fr, wanadoo.fr) ends each refusal with its own code,
    # "OFR_506 [506]" or "OFR005_505 [505]": 506 is a message its content filter
    # refused ("Mail rejete"), 505 a refusal after DATA it asks to retry later.
    Provider(
        "Orange",
        hosts=("orange.fr", "wanadoo.fr"),
        marks=("ofr_", "ofr0"),
        rules=(
            _rule(r"\bofr\d*_506\b", "spamdetected"),
            _rule(r"\bofr\d*_505\b", "systemerror"),
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


def reason_for(remote_mta: str | None, text: str, command: str | None) -> str | None:
    """The reason a provider's own code in `text` means, or None."""
    host = (remote_mta or "").lower().rstrip(".")
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
            if rule.pattern.search(folded):
                return rule.reason
    return None
