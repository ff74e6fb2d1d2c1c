"""The reason vocabulary: why a recipient failed, and how to tell from the text.

A reason is chosen in this order: a phrase in the diagnostic text that names the
cause (most specific first), then the RFC 3463 status code, then the SMTP reply
code. Phrases are matched on lower-cased text with runs of white space folded.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from dsnwatch.dsn.gates import GateIds, LiteralIndex, literal_gate

# One sentence for each reason; docs/reasons.md is written from this table.
REASONS: Final[dict[str, str]] = {
    "authfailure": "The message failed SPF, DKIM or DMARC checks at the receiving side.",
    "badreputation": "The sending IP address or domain has a poor reputation score.",
    "blocked": "The sending host or its IP address was refused, often by a block list.",
    "contenterror": "The receiving side refused the message's headers, format or attachments.",
    "delivered": "A success notice: the message was delivered (not a failure).",
    "emailtoolarge": "The message was larger than the receiving side accepts.",
    "expired": "The sending server gave up after retrying for its maximum queue time.",
    "failedstarttls": "A required TLS session (STARTTLS, DANE, MTA-STS) could not be set up.",
    "feedback": "A complaint (ARF feedback report): the recipient marked the mail as abuse.",
    "filtered": "A filter at the receiving side refused the message after accepting the address.",
    "hasmoved": "The mailbox has moved and the address is no longer valid.",
    "hostunknown": "The recipient's domain does not exist or has no mail host.",
    "mailboxfull": "The recipient's mailbox is over its quota.",
    "mailererror": "The local delivery program at the receiving side failed.",
    "networkerror": "A network, DNS or routing problem, or a mail loop, stopped delivery.",
    "norelaying": "The receiving server refused to relay for the recipient's domain.",
    "notaccept": "The destination accepts no mail at all (for example a null MX).",
    "notcompliantrfc": "The message breaks the mail format standard (RFC 5322).",
    "onhold": "The report gave too little information to decide the cause.",
    "policyviolation": "A policy of the receiving side refused the message.",
    "ratelimited": "Too many connections or messages in too short a time.",
    "rejected": "The envelope sender address was refused.",
    "requireptr": "The sending IP address has no valid reverse DNS (PTR) record.",
    "securityerror": "A security rule refused the message (authentication required, etc.).",
    "spamdetected": "The receiving side judged the message to be spam.",
    "suppressed": "The recipient is on the sending service's suppression list.",
    "suspend": "The recipient's mailbox is suspended or disabled.",
    "syntaxerror": "An SMTP command was refused as a syntax error.",
    "systemerror": "The receiving system had an internal error.",
    "systemfull": "The receiving system's disk or spool is full.",
    "undefined": "The cause could not be determined.",
    "userunknown": "The recipient's mailbox does not exist.",
    "vacation": "An automatic reply such as an out-of-office notice (not a failure).",
    "virusdetected": "The receiving side found a virus in the message.",
}

# Older names of the same reasons, as other readers and older data use them.
RENAMES: Final[dict[str, str]] = {
    "toomanyconn": "ratelimited",
    "speeding": "ratelimited",
    "mesgtoobig": "emailtoolarge",
    "exceedlimit": "emailtoolarge",
}

HARD_REASONS: Final[frozenset[str]] = frozenset({"userunknown", "hostunknown", "hasmoved"})


def canonical(reason: str) -> str:
    """The current name of a reason, given an old or current one."""
    return RENAMES.get(reason, reason)


def is_hard_bounce(reason: str, status: str | None, reply_code: str | None) -> bool:
    """True when the address itself is bad and should be removed from lists.

    Hard means "this address will never work", not "the SMTP code was 5xx": a
    permanent refusal for spam or policy reasons is soft, because the address is
    fine and another message may pass.
    """
    if reason in HARD_REASONS:
        return True
    if reason == "notaccept":
        # A destination that takes no mail is hard unless the refusal said it
        # was temporary: with no code at all, nothing says it will change.
        code = status or reply_code or ""
        return not code.startswith("4")
    return False


# The phrases each pattern was made of, so that each can also be searched alone.
_PHRASES_OF: dict[str, tuple[str, ...]] = {}


def _rx(*phrases: str) -> re.Pattern[str]:
    pattern = re.compile("|".join(f"(?:{p})" for p in phrases))
    _PHRASES_OF[pattern.pattern] = phrases
    return pattern


# Ordered: the first reason whose phrases match wins, so narrow causes come first.
PHRASES: Final[list[tuple[str, re.Pattern[str]]]] = [
    # Postfix's notice when it kept no report for the recipient: nothing to go on.
    ("undefined", _rx(r"delivery report unavailable")),
    # Narrow phrases whose words would otherwise be caught by a broader reason below.
    ("mailererror", _rx(r"pipe to \|", r"procmail", r"x-unix;")),
    (
        "notaccept",
        _rx(
            r"couldn't find a mail exchanger",
            r"no mx (?:record )?found",
            r"indicated no smtp service",
            r"null mx",
        ),
    ),
    # A garbled DNS answer says nothing about whether the domain exists; a loop
    # is named before any word about the attachment that quotes the message.
    (
        "networkerror",
        _rx(
            r"malformed or unexpected name server reply",
            r"hop count exceeded",
            r"too many hops",
            r"mail loop",
            r"routing loop",
            r"loop detected",
            r"looping detected",
            # The cause qmail states before it says it gave up on the queue.
            r"(?:wasn't|was not|unable|not) (?:able )?to establish an? smtp connection",
        ),
    ),
    (
        "hostunknown",
        _rx(
            r"couldn't find any host named",
            r"unrouteable address",
            r"the domain is not reachable",
        ),
    ),
    (
        "notcompliantrfc",
        _rx(r"not rfc ?5322 compliant", r"multiple addresses in from", r"multiple \S+ headers"),
    ),
    ("policyviolation", _rx(r"content presents a potential")),
    ("spamdetected", _rx(r"due to spam classification")),
    ("authfailure", _rx(r"fails? to pass authentication")),
    (
        "securityerror",
        _rx(
            r"unauthenticated senders? (?:are )?not allowed",
            r"turn on smtp authentication",
            # Sendmail's access database refusing a recipient: "<addr>... Access denied".
            r">\.\.\. access denied",
        ),
    ),
    # "Unverifiable sending IP": the client's name and address do not confirm each other.
    ("requireptr", _rx(r"mismatches client ip", r"unverifi?y?able sending ip")),
    # Sender ID's "purported responsible address" is the sender's own identity.
    (
        "rejected",
        _rx(
            r"please provide a valid from",
            r"purported responsible address",
            # Gateways that relay only for their registered senders.
            r"not a registered gateway user",
            # Exchange Online's refusal of every recipient for this sender.
            r"all recipient addresses rejected ?: ?access denied",
            # A list that only members may post to refuses the poster, the sender.
            r"not a member of (?:this|the) (?:mailing )?list",
            # A domain block list naming the sender's domain, not the client's IP.
            r"from domain (?:is |has been )?(?:black)?listed",
            r"sender domain (?:is |has been )?(?:black)?listed",
        ),
    ),
    ("contenterror", _rx(r"improper use of 8-bit data")),
    ("norelaying", _rx(r"insecure mail relay")),
    ("suspend", _rx(r"account that you tried to reach is disabled")),
    # A directory server the receiving side could not reach: named even when the
    # queue later gave up on the message.
    ("systemerror", _rx(r"(?:contact|reach|connect to) (?:the )?ldap server", r"ldap error")),
    (
        "expired",
        _rx(
            r"did not accept our requests to connect",
            # "Delivery to the following recipients was aborted after 5.0 hour(s)".
            r"aborted after \d+(?:\.\d+)? (?:hour|day|minute)",
            r"all hosts have been failing for a long time",
            r"not delivered within \d+ days",
            r"message expired",
            r"will be retried for \d+ more days?",
        ),
    ),
    (
        "failedstarttls",
        _rx(
            r"starttls (?:is )?required",
            r"must issue a starttls",
            r"tls (?:is )?required",
            r"requires? tls",
            r"encryption required",
            r"failed to establish tls",
            r"dane (?:validation|verification) failed",
            r"mta-sts",
        ),
    ),
    (
        "virusdetected",
        _rx(
            r"virus",
            r"malware",
            r"infected",
            r"message contains (?:a )?(?:trojan|worm)",
        ),
    ),
    (
        "authfailure",
        _rx(
            r"\bspf\b.{0,40}\b(?:fail|check|reject|record|policy|violation|not pass|softfail)",
            r"(?:fail|check|reject|policy)\w*.{0,30}\bspf\b",
            r"sender policy framework",
            r"\bdkim\b.{0,40}\b(?:fail|invalid|reject|signature|policy)",
            r"\bdmarc\b",
            r"not authorized to send on behalf",
            r"is not allowed to send (?:mail|email) from",
            r"authentication (?:check|checks) failed",
            r"unauthenticated email",
            r"does not (?:designate|authorize)",
            r"5\.7\.2[346]\b",
            r"sender address is not authenticated",
        ),
    ),
    (
        "requireptr",
        _rx(
            r"reverse (?:dns|lookup|hostname|mapping)",
            r"\bptr\b",
            r"rdns",
            r"no (?:valid )?(?:dns )?(?:reverse|ptr)",
            r"cannot find your hostname",
            r"hostname (?:does not|doesn't) match",
            r"client host .{0,80}(?:has no|without) (?:a )?(?:reverse|ptr|hostname)",
            r"your ip address .{0,40}(?:has no|doesn't have|does not have) (?:a )?(?:reverse|ptr)",
            r"unresolvable (?:ip|address|host)",
            r"cannot resolve your (?:address|hostname|ip)",
            r"ip name lookup failed",
            r"reverse-resolve",
            r"client host rejected: cannot find your",
            r"5\.7\.25\b",
        ),
    ),
    (
        "badreputation",
        _rx(
            r"\breputation\b",
            r"poor email reputation",
            r"senderscore",
            r"sender score",
            r"temporarily deferred due to unexpected volume",
            r"has been temporarily rate limited due to ip reputation",
            r"\bts0[1-4]\b",
        ),
    ),
    (
        "ratelimited",
        _rx(
            (
                r"too many (?:connections|concurrent|smtp sessions|sessions|messages|"
                r"recipients in this hour|emails)"
            ),
            r"too many (?:simultaneous|parallel)",
            r"too many recipients",
            r"rate limit",
            r"ratelimit",
            r"rate of (?:mail|e-?mail|messages)",
            r"sending rate",
            r"too fast",
            r"connection (?:rate|frequency) limit",
            r"exceeded the (?:rate|connection) limit",
            r"throttl",
            r"\btoo many connection",
            r"try again later.{0,40}too many",
            r"unusual rate of unsolicited mail",
            r"messages per (?:hour|minute|second)",
            r"has exceeded the maximum number of connections",
            r"has sent too many",
            r"received too many messages",
            r"too much mail",
            r"please slow down",
            r"exceeded (?:the )?(?:message|sending|daily|hourly) (?:limit|quota)",
            r"sending quota exceeded",
            r"is receiving mail at a rate",
            r"receiving mail too quickly",
        ),
    ),
    (
        "spamdetected",
        _rx(
            r"\bspam\b",
            r"spam content",
            r"junk mail",
            r"unsolicited",
            r"\buce\b",
            r"bulk (?:e-?mail|mail)",
            (
                r"message (?:content )?(?:was |is )?(?:rejected|refused|blocked) (?:as|"
                r"because it looks like) (?:spam|bulk|junk)"
            ),
            r"likely (?:unsolicited|spam)",
            r"classified as (?:spam|junk)",
            r"content (?:rejected|scored|is spam)",
            r"scored too high",
            r"spamhaus dbl",
            r"\bsurbl\b",
            r"\buribl\b",
            r"message looks like",
            r"suspicious (?:content|url|link)",
        ),
    ),
    (
        "emailtoolarge",
        _rx(
            r"message (?:is )?too (?:big|large)",
            r"message size (?:exceeds|is larger|too large|limit)",
            r"size (?:limit|exceeds)",
            r"exceeds (?:the )?(?:maximum )?(?:message )?size",
            r"message (?:length|size) exceeds",
            r"mail size limit",
            r"too (?:big|large) for",
            r"message file too big",
            r"larger than (?:the )?(?:maximum|allowed)",
            r"size exceeds",
            r"exceeded (?:the )?(?:max(?:imum)? )?(?:message )?size",
            r"maximum (?:message )?size",
            r"\b5\.3\.4\b",
            r"\b[45]\.2\.3\b",
            r"email (?:is )?too large",
            r"recipient limit",
            r"exceeded the recipient limit",
            r"message header size",
            r"header too long",
            r"line limit exceeded",
        ),
    ),
    (
        "hasmoved",
        _rx(
            r"has moved",
            r"address (?:has )?changed",
            r"no longer (?:uses|using) this address",
            r"user has moved",
            r"mailbox has moved",
        ),
    ),
    (
        "suppressed",
        _rx(
            r"suppression list",
            r"address is on .{0,30}suppression",
            r"suppressed",
        ),
    ),
    (
        "mailboxfull",
        _rx(
            r"mailbox (?:is )?full",
            r"mailbox (?:has )?exceed(?:ed|s)",
            (
                r"(?:over|exceeded?|exceeds|exceeding|reached) (?:the |his |her |their |its |your |"
                r"storage )?(?:mailbox |disk |storage |allocated )?(?:quota|allocation|limit|"
                r"size limit)"
            ),
            r"quota (?:exceeded|full|violation|limit)",
            r"over ?quota",
            r"overquota",
            r"insufficient (?:disk )?space",
            r"not enough (?:storage|space)",
            r"mail ?box (?:size|storage) (?:limit|quota)",
            r"mailfolder is full",
            r"mailbox full",
            r"user(?:'s)? (?:mailbox|disk) (?:is )?(?:full|over)",
            r"account is (?:full|over quota)",
            r"(?:is|was) full",
            r"full mailbox",
            r"storage (?:quota|space)",
            r"out of (?:disk )?space",
            r"exceeded storage allocation",
            r"too many messages in (?:this|the) mailbox",
            r"recipient (?:mailbox|inbox) is full",
            r"can not store",
            r"mailbox size limit",
            r"user is over",
            r"\b[45]\.2\.2\b",
        ),
    ),
    (
        "suspend",
        _rx(
            (
                r"(?:account|mailbox|address|user|recipient) (?:has been |is |was )?(?:suspended|"
                r"disabled|deactivated|inactive|locked|frozen|expired|blocked|closed)"
            ),
            (
                r"(?:suspended|disabled|deactivated|inactive|closed|locked) "
                r"(?:account|mailbox|user|address)"
            ),
            r"account (?:has been )?(?:suspended|disabled|terminated|deleted)",
            (
                r"mailbox (?:is )?(?:currently )?(?:inactive|disabled|"
                r"suspended)"
            ),
            r"mailbox unavailable or (?:access denied|disabled)",
            r"not (?:an )?active",
            r"inactive",
            r"this account has been",
            r"is not receiving mail",
            r"(?:inbox|mailbox|address|account) (?:\S+ )?is no longer (?:in use|active|monitored)",
            r"is not accepting mail",
            r"recipient (?:suspended|disabled)",
            r"account (?:is )?disabled",
            r"mailbox (?:is )?disabled",
            r"user (?:account )?(?:suspended|disabled)",
        ),
    ),
    (
        "userunknown",
        _rx(
            r"user ?unknown",
            r"unknown (?:local[- ]part|user|recipient|mailbox|address|account|e-?mail|alias)",
            (
                r"(?:user|mailbox|recipient|address|account|alias|addressee|e-?mail(?: address)?|"
                r"local[- ]part) (?:\S+ )?(?:does ?n[o']t|doesnt|did not) exist"
            ),
            (
                r"(?:user|mailbox|recipient|address|account|alias|addressee) (?:is )?(?:not found|"
                r"unknown|invalid|not valid|nonexistent|non-existent|unavailable|not available)"
            ),
            (
                r"no (?:such|valid) (?:user|mailbox|recipient|person|address|account|local user|"
                r"file or directory)"
            ),
            r"no mailbox (?:here|found|by that name)",
            (
                r"(?:invalid|unknown|bad|nonexistent|non-existent|unrouteable|illegal) "
                r"(?:recipient|mailbox|user|address|e-?mail address|destination address)"
            ),
            (
                r"recipient (?:address )?rejected: (?:user unknown|undeliverable address|unknown|"
                r"access denied|not found|mailbox not found)"
            ),
            r"undeliverable address",
            (
                r"address (?:unknown|lookup failed|not present in directory|"
                r"verification failed)"
            ),
            r"not (?:a )?(?:valid|known) (?:user|recipient|mailbox|address)",
            r"user (?:not )?(?:found|listed)",
            r"not listed in",
            r"is not a valid (?:mailbox|user|address)",
            r"mailbox (?:not found|unavailable|does not exist|name not allowed)",
            r"no account by that name",
            r"recipient not (?:found|known|exist)",
            r"account (?:does not exist|not found)",
            r"the email account that you tried to reach does not exist",
            r"unable to find (?:the )?(?:user|recipient)",
            r"no such (?:user|mailbox)",
            r"user doesn't have a",
            r"this user doesn't have a",
            r"email address could not be found",
            r"address does not exist",
            r"addressee unknown",
            r"delivery error: dd",
            r"mailbox is inactive",
            r"destination (?:address|mailbox) (?:does not exist|unknown)",
            r"no such address",
            r"invalid final delivery userid",
            r"check if (?:the )?address is correct",
            r"not our customer",
            r"sorry, no mailbox",
            r"\b[45]\.1\.1\b",
            r"mailbox unavailable",
        ),
    ),
    (
        "hostunknown",
        _rx(
            r"host (?:or domain name )?not found",
            r"host ?unknown",
            r"unknown (?:host|domain)",
            r"domain (?:does not exist|not found|unknown|name not found|lookup failed)",
            r"no such (?:domain|host)",
            r"name or service not known",
            r"name service error",
            r"domain (?:is )?(?:invalid|not (?:valid|available))",
            r"invalid domain",
            (
                r"(?:recipient|destination) domain .{0,20}(?:not found|does not exist|not exist|"
                r"invalid)"
            ),
            r"unrouteable mail domain",
            r"couldn't find (?:any )?host",
            r"host name lookup failure",
            r"nxdomain",
            r"\b[45]\.1\.2\b",
            r"unroutable domain",
            r"all relevant mx records point to non-existent hosts",
            r"illegal host/domain name",
            r"dns lookup failure: host \S+ not found",
        ),
    ),
    (
        "norelaying",
        _rx(
            r"relay(?:ing)? (?:access )?(?:denied|not permitted|not allowed|prohibited)",
            r"not permitted to relay",
            r"unable to relay",
            r"we do not relay",
            r"relaying (?:mail )?(?:to .{0,40})?(?:denied|is not allowed)",
            r"not allowed to relay",
            r"no relay",
            r"relay not permitted",
            r"cannot relay",
            r"does not relay",
            r"mail server permanently rejected message.{0,20}relay",
        ),
    ),
    (
        "notaccept",
        _rx(
            r"does not accept (?:mail|e-?mail)",
            r"accepts? no mail",
            r"null mx",
            r"not accepting (?:any )?(?:mail|messages)",
            r"no mail accepted",
        ),
    ),
    (
        "securityerror",
        _rx(
            r"authentication required",
            r"authentication is required",
            r"must (?:be )?authenticat",
            r"authentication failed",
            r"not authenticated",
            r"sender (?:is not )?authenticated",
            r"encryption needed",
            r"security (?:policy|violation)",
            r"access denied.{0,20}auth",
            r"submission port",
            r"delivery not authori[sz]ed",
        ),
    ),
    (
        "notcompliantrfc",
        _rx(
            # "rfc822;" alone is only the address type of a report field.
            r"rfc ?(?:5322|2822|822) (?:compliant|complian|violation|section|standard)",
            r"(?:violat\w*|break\w*|against|comply with|conform to) rfc ?(?:5322|2822|822)",
            r"not (?:rfc )?compliant",
            r"multiple (?:addresses|from|sender|message-id)",
            r"duplicate (?:header|message-id)",
            r"(?:missing|invalid|malformed) (?:header|message-id|date header|from header)",
            r"header(?:s)? (?:field )?(?:is |are )?(?:missing|malformed|invalid)",
            r"more than one",
            r"message-id header",
        ),
    ),
    (
        "contenterror",
        _rx(
            r"attachment",
            r"file (?:type|extension)",
            r"content type",
            r"\.exe\b",
            r"executable",
            r"mime (?:error|violation)",
            r"invalid (?:mime|content)",
            r"content (?:not allowed|is not allowed)",
            r"message content (?:rejected|not accepted)",
            r"malformed (?:mime|message)",
            r"banned (?:content|file)",
        ),
    ),
    (
        "blocked",
        _rx(
            r"block ?list",
            r"black ?list",
            r"deny ?list",
            r"\brbl\b",
            r"\bdnsbl\b",
            r"spamhaus",
            r"spamcop",
            r"barracuda",
            r"\bsorbs\b",
            r"listed (?:at|in|on|by)",
            (
                r"your (?:ip|host|server|network)(?: address)? .{0,60}(?:blocked|rejected|refused|"
                r"denied|listed|banned|not allowed)"
            ),
            (
                r"(?:ip|host|client|connection)(?: address)? (?:has been |is |was )?(?:blocked|"
                r"banned|refused|denied|rejected)"
            ),
            r"client host (?:\[[^\]]*\] )?(?:blocked|rejected)",
            r"access denied",
            r"connection (?:refused|rejected|denied)",
            r"refused to talk to me",
            r"blocked",
            r"not allowed to (?:send|connect)",
            r"service (?:refused|not available).{0,40}(?:ip|host)",
            r"poor reputation",
            r"dynamic ip",
            r"dialup",
            r"residential",
            r"no smtp service here",
            r"go away",
            r"dynamic(?:ally)? (?:assigned|allocated)",
            r"banned",
            r"is not permitted to send",
            r"\bip (?:address )?\S+ (?:is |has been )?(?:listed|blocked)",
            r"please use your isp",
            r"smtp server of your isp",
            r"mail from your (?:ip|network)",
            r"sender ip",
            r"rejected due to",
            r"invalid ip (?:address )?for sending",
            r"messages from \[?\d{1,3}(?:\.\d{1,3}){3}\]? weren't sent",
        ),
    ),
    (
        "rejected",
        _rx(
            (
                r"sender (?:address )?(?:rejected|refused|denied|blocked|unknown|invalid|domain|"
                r"verify failed)"
            ),
            r"(?:invalid|unknown|bad|rejected) sender",
            r"domain of sender address",
            r"sender (?:is )?(?:not allowed|blacklisted|banned)",
            r"address (?:verification|check) failed",
            r"from address",
            r"mail from(?! ?:)",
            r"envelope (?:sender|from)",
            r"return[- ]path",
            r"sender domain",
            r"you are not allowed to send",
            r"sender verify",
            r"refused (?:by|the) (?:recipient|sender)",
            r"the sender",
            r"\b5\.1\.[78]\b",
        ),
    ),
    (
        "policyviolation",
        _rx(
            r"\bpolicy\b",
            r"policies",
            r"prohibited",
            r"not allowed",
            r"violat",
            r"restricted",
            r"denied by",
            r"terms of service",
            r"rejected by (?:the )?recipient",
            r"message refused",
        ),
    ),
    (
        "expired",
        _rx(
            r"(?:delivery|message|queue) (?:time |lifetime )?(?:expired|timed? ?out)",
            r"retry time(?:out)? (?:not reached|exceeded)",
            r"too long in queue",
            r"has been (?:delayed|in the queue)",
            r"could not be delivered (?:within|for)",
            r"gave up",
            r"giving up",
            r"have been unable to deliver",
            r"time limit",
            r"queue(?:d)? too long",
            r"expired",
            r"\bdays?\b.{0,40}(?:unable|could not|couldn't) (?:to )?deliver",
            r"unable to deliver .{0,40}for \d+ (?:hours|days)",
            r"message timed out",
            r"delivery temporarily suspended",
            r"retry timeout",
            r"i'm not going to try again",
            r"over (?:\d+|the) (?:hours|days)",
            r"maximum time",
            r"undeliverable for",
        ),
    ),
    (
        "mailererror",
        _rx(
            r"mailer error",
            r"x-unix",
            r"procmail",
            r"exit (?:code|status)",
            r"command (?:died|failed)",
            r"pipe to",
            r"local delivery failed",
            r"program (?:failed|error)",
            r"delivery program",
            r"\|\s*/",
            r"maildrop",
        ),
    ),
    (
        "networkerror",
        _rx(
            r"mail (?:for \S+ )?loops? back",
            r"mail loop",
            r"loop(?:ing)? detected",
            r"routing loop",
            r"too many hops",
            r"hop count exceeded",
            r"network (?:is )?(?:unreachable|error)",
            r"no route to host",
            r"connection (?:timed out|timeout|lost|reset|closed)",
            r"lost connection",
            r"could not connect",
            r"unable to connect",
            r"can't connect",
            r"cannot connect",
            r"dns (?:error|failure|lookup|problem)",
            r"temporary (?:dns|lookup) failure",
            r"host (?:is )?unreachable",
            r"unrouteable",
            r"no answer",
            r"read error",
            r"timed out",
            r"malformed or unexpected name server reply",
            r"name server",
        ),
    ),
    (
        "systemfull",
        _rx(
            r"(?:disk|spool|file ?system|system) (?:is )?full",
            r"insufficient system storage",
            r"out of memory",
            r"disk quota",
            r"no space left",
        ),
    ),
    (
        "syntaxerror",
        _rx(
            r"syntax error",
            r"malformed (?:recipient )?address",
            r"incorrectly constructed",
            r"command unrecognized",
            r"unrecognized command",
            r"bad sequence of commands",
            r"command not recognized",
            r"line too long",
        ),
    ),
    (
        "systemerror",
        _rx(
            r"system (?:error|failure|config)",
            r"internal (?:error|server error)",
            r"server error",
            r"local error",
            r"temporary (?:error|problem)",
            r"misconfigur",
            r"configuration error",
            r"service (?:not available|unavailable|temporarily unavailable)",
            r"i/o error",
            r"ldap",
            r"database",
            r"transaction failed",
            r"resources",
            r"server (?:busy|unavailable)",
            r"try again",
            r"unavailable",
            r"error processing",
            r"unknown error",
        ),
    ),
]

_STATUS_REASONS: Final[dict[str, str]] = {
    "1.1": "userunknown",
    "1.2": "hostunknown",
    "1.3": "userunknown",
    "1.4": "userunknown",
    "1.5": "userunknown",
    "1.6": "hasmoved",
    "1.7": "rejected",
    "1.8": "rejected",
    "1.10": "userunknown",
    "2.1": "suspend",
    "2.2": "mailboxfull",
    "2.3": "emailtoolarge",
    "2.4": "mailererror",
    "3.0": "systemerror",
    "3.1": "systemfull",
    "3.2": "notaccept",
    "3.3": "systemerror",
    "3.4": "emailtoolarge",
    "3.5": "systemerror",
    "4.1": "expired",
    "4.2": "networkerror",
    "4.3": "systemerror",
    "4.4": "networkerror",
    "4.5": "networkerror",
    "4.6": "networkerror",
    "4.7": "expired",
    "5.0": "syntaxerror",
    "5.1": "syntaxerror",
    "5.2": "syntaxerror",
    "5.3": "emailtoolarge",
    "5.4": "syntaxerror",
    "5.5": "syntaxerror",
    "6.0": "contenterror",
    "6.1": "contenterror",
    "6.2": "contenterror",
    "6.3": "contenterror",
    "6.4": "contenterror",
    "6.5": "contenterror",
    "7.0": "securityerror",
    "7.1": "policyviolation",
    "7.2": "systemerror",
    "7.3": "securityerror",
    "7.4": "securityerror",
    "7.5": "securityerror",
    "7.6": "securityerror",
    "7.7": "securityerror",
    "7.8": "securityerror",
    "7.9": "securityerror",
    "7.10": "securityerror",
    "7.11": "failedstarttls",
    "7.13": "suspend",
    "7.14": "securityerror",
    "7.15": "securityerror",
    "7.16": "securityerror",
    "7.17": "securityerror",
    "7.18": "securityerror",
    "7.19": "securityerror",
    "7.20": "authfailure",
    "7.21": "authfailure",
    "7.22": "authfailure",
    "7.23": "authfailure",
    "7.24": "authfailure",
    "7.25": "requireptr",
    "7.26": "authfailure",
    "7.27": "notaccept",
    "7.28": "ratelimited",
    "7.29": "authfailure",
    "7.30": "authfailure",
}


# The first line of a multi-line SMTP reply: "550-5.7.1 ...".
_MULTILINE = re.compile(r"(?<![\w.-])([245]\d\d)-((?:[245]\.\d{1,3}\.\d{1,3}(?= ))?)")


@lru_cache(maxsize=64)
def fold(text: str) -> str:
    """Lower-case text with every run of white space made one space.

    The code that starts each line of a multi-line SMTP reply is dropped after
    the first line, so that a phrase broken across lines reads whole again.
    Cached: one recipient's diagnostic is folded by several steps.
    """
    # str.split() and the regex class \s agree on what white space is.
    folded = " ".join(text.split()).lower()
    m = _MULTILINE.search(folded) if "-" in folded else None
    if m is None:
        return folded
    code, status = m.groups()
    # Sendmail transcripts quote each reply line after "<<< ".
    tail = re.sub(
        rf" (?:<<< ?)?{code}[ -](?:{re.escape(status)} )?" if status else rf" (?:<<< ?)?{code}[ -]",
        " ",
        folded[m.end() :],
    )
    return folded[: m.end()] + tail


# Diagnostics longer than this are quoted mail or boilerplate; the cause is said early.
TEXT_LIMIT: Final = 1500


def by_text(text: str) -> str | None:
    """The reason the diagnostic text names, or None."""
    if not text:
        return None
    return _first_reason(fold(text[:TEXT_LIMIT]))


# Each reason with its gate (literals one of which any match must contain) and
# its phrases, each with its own gate: a long alternation searched whole costs
# far more than the few phrases whose own literals are in the text. All the
# literals are found in one pass; each gate is then a set test.
_LITERALS: Final = LiteralIndex()
_GATED: Final[list[tuple[str, GateIds, list[tuple[re.Pattern[str], GateIds]]]]] = [
    (
        reason,
        _LITERALS.gate(literal_gate(pattern.pattern)),
        [(re.compile(p), _LITERALS.gate(literal_gate(p))) for p in _PHRASES_OF[pattern.pattern]],
    )
    for reason, pattern in PHRASES
]


@lru_cache(maxsize=512)
def _first_reason(folded: str) -> str | None:
    # Cached: the same diagnostic is looked at for every recipient and every step.
    present = _LITERALS.found(folded)
    for reason, gate, phrases in _GATED:
        if gate is not None and gate.isdisjoint(present):
            continue
        for pattern, own in phrases:
            if own is not None and own.isdisjoint(present):
                continue
            if pattern.search(folded):
                return reason
    return None


def clear_cache() -> None:
    """Forget cached phrase matches and folded texts."""
    _first_reason.cache_clear()
    fold.cache_clear()


def by_status(status: str | None) -> str | None:
    """The reason an RFC 3463 status code implies on its own, or None."""
    if not status:
        return None
    parts = status.split(".")
    if len(parts) != 3:
        return None
    reason = _STATUS_REASONS.get(f"{parts[1]}.{parts[2]}")
    if reason is None:
        return None
    if parts[0] == "4" and reason in HARD_REASONS:
        # A temporary failure never proves that an address is gone.
        return "onhold"
    return reason


# --- deciding one recipient's reason from all the evidence -----------------------

# Status codes whose meaning is precise enough to decide over any wording.
_STRONG_STATUS: Final[dict[str, str]] = {
    "1.6": "hasmoved",
    "1.7": "rejected",
    "1.8": "rejected",
    "2.2": "mailboxfull",
    "3.4": "emailtoolarge",
    "4.7": "expired",
    "7.20": "authfailure",
    "7.21": "authfailure",
    "7.22": "authfailure",
    "7.23": "authfailure",
    "7.24": "authfailure",
    "7.25": "requireptr",
    "7.26": "authfailure",
}

# "User unknown" said without naming anyone is what filters answer after DATA;
# these phrases alone do not prove that the mailbox is missing.
_WEAK_UNKNOWN = re.compile(
    r"user ?unknown|unknown user|no such user|recipient address rejected: user unknown"
)
_STRONG_UNKNOWN = re.compile(
    r"does ?n[o']t exist|not exist|unknown recipient|not listed|invalid recipient|"
    r"(?:address|recipient) not found|couldn't be found|could not be found|"
    r"doesn't have an? \S+ account|no such (?:mailbox|recipient|address|account)|"
    r"invalid (?:final delivery )?user ?id|no valid recipients|"
    r"is not a valid (?:mailbox|user|address)|unknown (?:local[- ]part|mailbox|address)|"
    r"mailbox (?:not found|unavailable)|bad destination|check if (?:the )?address is correct"
)
# A reply code followed at once by "user unknown": no recipient was named.
_NAMELESS_UNKNOWN = re.compile(r"\b[45]\d\d[\s:-]*user unknown")
# Reasons a refusal at connection or greeting can have besides a plain block.
_BEFORE_GREETING: Final = frozenset(
    {"ratelimited", "badreputation", "failedstarttls", "securityerror", "expired", "requireptr"}
)
_TIMED_OUT = re.compile(r"timed out|requests to connect")


def _status_detail(status: str | None) -> str:
    if not status:
        return ""
    parts = status.split(".")
    return f"{parts[1]}.{parts[2]}" if len(parts) == 3 else ""


def classify(
    text: str,
    status: str | None,
    *,
    command: str | None = None,
    status_given: bool = True,
    action: str | None = None,
    reply_code: str | None = None,
) -> str:
    """One recipient's reason from its diagnostic text, status code and SMTP stage.

    `status_given` is False when the report carried no status code of its own
    (one was inferred from the reply code, or none is known); `reply_code` is
    the remote server's SMTP reply code, used when nothing else names a cause.
    """
    folded = fold(text[:TEXT_LIMIT])
    detail = _status_detail(status) if status_given else ""
    strong = _STRONG_STATUS.get(detail)
    if strong is not None and not (strong == "mailboxfull" and "user unknown" in folded):
        return strong
    reason = _first_reason(folded)
    temporary = (status or "").startswith("4")
    if reason == "userunknown":
        reason = _user_unknown(folded, detail, command, status_given)
    elif reason == "hostunknown":
        if command == "MAIL":
            reason = "rejected"
        elif temporary:
            # A name that does not resolve now may resolve later: a DNS problem.
            reason = "networkerror"
    if command == "MAIL" and reason in (None, "onhold", "suspend"):
        reason = "rejected"
    if command in ("CONN", "HELO") and reason not in _BEFORE_GREETING:
        # Refused before any envelope was sent: the client itself was refused.
        reason = "blocked"
    if (
        reason in (None, "networkerror")
        and action != "delayed"
        and (detail in ("4.1", "4.2", "0.0", "") or not status_given)
        and _TIMED_OUT.search(folded)
    ):
        # A timeout is temporary by nature: when it is reported as final rather
        # than as a delay, the sender retried until its queue time ran out.
        reason = "expired"
    if reason is None:
        reason = by_status(status) if status_given else None
    if reason is None and reply_code == "451":
        # RFC 5321: "requested action aborted: local error in processing".
        reason = "systemerror"
    if (
        temporary
        and action == "failed"
        and detail in ("4.1", "4.2", "4.7")
        and (reason in (None, "onhold", "networkerror"))
    ):
        # A temporary failure that the sender gave up on: the queue time ran out.
        reason = "expired" if detail in ("4.1", "4.2", "4.7") or reason is None else reason
    return reason or "onhold"


def _user_unknown(folded: str, detail: str, command: str | None, status_given: bool) -> str:
    """Tell a missing mailbox from a filter that answers "user unknown"."""
    if command == "MAIL":
        return "rejected"
    if command == "RCPT" or detail.startswith("1."):
        return "userunknown"
    if _NAMELESS_UNKNOWN.search(folded):
        return "filtered"
    if detail == "0.0":
        # Only the class of the failure is known and no stage is named: the
        # address was not refused when offered, so a later "no such user"
        # is a filter's answer.
        return "filtered"
    strong = bool(_STRONG_UNKNOWN.search(folded))
    if command == "DATA":
        return "userunknown" if strong else "filtered"
    if strong:
        return "userunknown"
    if detail.startswith("2.") or not status_given:
        return "filtered"
    return "userunknown"
