"""Managed blocks keep the operator's lines byte for byte."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dsnwatch.install.blocks import (
    BEGIN,
    END,
    BlockError,
    block_body,
    decode,
    encode,
    remove_block,
    upsert_block,
)


def test_block_appended_and_removed_restores_the_text() -> None:
    text = "a = 1\n# comment\nb = 2\n"
    with_block = upsert_block(text, "x = 3\n")
    assert with_block == f"{text}{BEGIN}\nx = 3\n{END}\n"
    assert remove_block(with_block) == text


def test_file_without_final_newline_is_restored_without_it() -> None:
    text = "a = 1"
    with_block = upsert_block(text, "x = 3\n")
    assert with_block.startswith("a = 1\n# BEGIN")
    assert remove_block(with_block) == text


def test_existing_block_is_replaced_in_place() -> None:
    text = upsert_block("head\n", "old\n", at=0) + "tail\n"
    replaced = upsert_block(text, "new\n")
    assert replaced == f"{BEGIN}\nnew\n{END}\nhead\ntail\n"
    assert block_body(replaced) == "new\n"


def test_same_body_changes_nothing() -> None:
    once = upsert_block("a\n", "x\n")
    assert upsert_block(once, "x\n") == once


def test_two_blocks_are_refused() -> None:
    doubled = upsert_block("", "x\n") + upsert_block("", "y\n")
    with pytest.raises(BlockError, match="two"):
        upsert_block(doubled, "z\n")


def test_begin_without_end_is_refused() -> None:
    with pytest.raises(BlockError, match="no END"):
        remove_block(f"{BEGIN}\nx\n")


def test_block_in_the_middle_of_a_line_is_refused() -> None:
    with pytest.raises(BlockError):
        upsert_block("abc\n", "x\n", at=1)


def test_non_utf8_bytes_survive() -> None:
    raw = b"caf\xe9 = 1\r\n"
    assert encode(remove_block(upsert_block(decode(raw), "x\n"))) == raw


@given(st.text(alphabet=st.characters(blacklist_characters="#"), max_size=200))
def test_insert_then_remove_is_identity(text: str) -> None:
    assert remove_block(upsert_block(text, "setting = value\n")) == text
