"""The user documentation matches the code it describes."""

from __future__ import annotations

from conftest import ROOT

from dsnwatch.dsn.reasons import HARD_REASONS, REASONS


def test_every_reason_is_documented_in_one_sentence() -> None:
    text = (ROOT / "docs" / "reasons.md").read_text()
    for reason, sentence in REASONS.items():
        assert f"| `{reason}` | {sentence} |" in text, reason


def test_hard_bounce_rule_is_documented() -> None:
    text = (ROOT / "docs" / "reasons.md").read_text()
    for reason in HARD_REASONS:
        assert f"`{reason}`" in text.split("## Hard and soft bounces", 1)[1]


def test_readme_gives_the_test_command_first() -> None:
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```", 2)[1]
    assert "make test" in first_block
