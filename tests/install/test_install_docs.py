"""docs/pipeline.md shows exactly what install writes."""

from __future__ import annotations

from pathlib import Path

from dsnwatch.install.postfix import render_master, render_settings
from dsnwatch.install.sieve import render_rule

DOC = Path(__file__).resolve().parents[2] / "docs" / "pipeline.md"
MAILBOX = "dsn-monitor@example.org"


def test_documented_sieve_rule_is_the_installed_one() -> None:
    assert render_rule(MAILBOX) in DOC.read_text()


def test_documented_postfix_settings_are_the_installed_ones() -> None:
    body = render_settings(MAILBOX, ["bounce", "2bounce", "delay"], "resource, software")
    settings = "".join(line + "\n" for line in body.splitlines() if not line.startswith("#"))
    assert settings in DOC.read_text()


def test_documented_master_cf_block_is_the_installed_one() -> None:
    lines = render_master("/opt/postfix/conf").splitlines()
    assert "".join(f"{line}\n" for line in lines if not line.startswith("#")) in DOC.read_text()
