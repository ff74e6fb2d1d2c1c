"""Untrusted text is stripped of control characters and escape sequences."""

from __future__ import annotations

from dsnwatch.text import clean


def test_osc52_clipboard_write_is_removed() -> None:
    assert clean("a\x1b]52;c;aGVsbG8=\x07b") == "ab"


def test_csi_colour_is_removed() -> None:
    assert clean("\x1b[31mred\x1b[0m") == "red"


def test_other_controls_become_spaces() -> None:
    assert clean("a\x00b\x9bc\u202ed") == "a b c d"


def test_markup_is_left_as_text() -> None:
    assert clean("[/INBOX] [@click=app.quit]") == "[/INBOX] [@click=app.quit]"


def test_newlines_kept_on_request() -> None:
    assert clean("a\nb", keep_newlines=True) == "a\nb"
    assert clean("a\nb") == "a b"
