"""Untrusted text made safe to show: no control characters, no escape sequences."""

from __future__ import annotations

import re

# C0 and C1 controls (ESC starts ANSI and OSC sequences), DEL, and the bidi overrides.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b(?:\][^\x07\x1b]{0,4096}(?:\x07|\x1b\\)?|\[[0-?]{0,64}[ -/]{0,16}[@-~]|[@-Z\\-_])"
)


def clean(text: str | None, *, keep_newlines: bool = False) -> str:
    """Text with escape sequences removed and other control characters made spaces."""
    if not text:
        return ""
    text = _ESCAPE_SEQUENCE.sub("", text)
    if keep_newlines:
        return _CONTROL.sub(lambda m: m.group(0) if m.group(0) == "\t" else " ", text)
    return _CONTROL.sub(" ", text.replace("\n", " ").replace("\t", " "))
