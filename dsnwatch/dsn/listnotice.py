"""Refusal notices of mailing-list managers that write no delivery report.

A list manager such as fml answers a post it will not distribute (the poster is
not a member, the message was seen before) with a short notice of its own. It
names the list the post was sent to in angle brackets in its first sentence;
that list address is the recipient that failed. Reasons are left to the shared
classifier.
"""

from __future__ import annotations

import re
from email.message import Message

# Headers only list managers write on their own notices.
_MANAGER_HEADERS = ("X-MLServer", "X-ML-Server")
_NAMED = re.compile(r"<([^<>\s@]{1,200}@[\w.-]{1,253}\.[a-z]{2,63})>", re.I)
# The notice's own words come before the quoted post.
_NOTICE_LIMIT = 600


def looks_like(message: Message) -> bool:
    """True for a message written by a list manager."""
    return any(message.get(name) for name in _MANAGER_HEADERS)


def refusal(text: str) -> tuple[str, str] | None:
    """(list address, the sentence that names it) of a notice, or None."""
    head = text.lstrip()[:_NOTICE_LIMIT]
    m = _NAMED.search(head)
    if m is None:
        return None
    end = head.find("\n\n", m.end())
    sentence = head[: end if end >= 0 else len(head)]
    return m.group(1), " ".join(sentence.split())
