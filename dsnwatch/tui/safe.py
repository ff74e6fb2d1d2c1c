"""Untrusted text (log lines, subjects, diagnostics) made into things Textual shows as text.

Everything shown from mail or logs goes through here: control characters and
escape sequences are removed by `dsnwatch.text.clean`, the text is cut to a
length the screen can use, and it becomes `Content` or Rich `Text` built from a
plain string, never from markup, so `[/INBOX]` or `[@click=app.quit]` stays text.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.content import Content

from dsnwatch.text import clean

# Lines longer than this are cut for display (a 90k-character line is not read on a screen).
MAX_LINE = 1000
ELLIPSIS = "…"


def plain(text: str | None, limit: int = MAX_LINE) -> str:
    """One line of safe text, at most `limit` characters (an ellipsis marks a cut)."""
    if not text:
        return ""
    # Cut before cleaning so a huge line costs no more than a long one.
    cut = clean(text[: limit * 2])
    if len(cut) > limit or len(text) > limit * 2:
        return cut[: limit - 1] + ELLIPSIS
    return cut


def block(text: str | None, limit: int = 262_144) -> str:
    """Many lines of safe text (newlines and tabs kept), cut at `limit` characters."""
    if not text:
        return ""
    cut = clean(text[:limit], keep_newlines=True).replace("\t", "    ")
    if len(text) > limit:
        cut += f"\n{ELLIPSIS} (cut at {limit:,} characters)"
    return cut


def content(text: str | None, style: str = "", limit: int = MAX_LINE) -> Content:
    """Safe one-line `Content`, optionally styled."""
    return Content.styled(plain(text, limit), style)


def text(value: str | None, style: Style | str = "", limit: int = MAX_LINE) -> Text:
    """Safe one-line Rich `Text` (for DataTable cells)."""
    return Text(plain(value, limit), style=style, no_wrap=True, end="")
