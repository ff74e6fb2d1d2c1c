"""The user documentation matches the code it describes."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from conftest import ROOT, fixture_bytes
from docs_commands import (
    LAB,
    NOT_RUN,
    OFFLINE,
    SUBSTITUTE,
    doc_commands,
    docs_env,
    shell,
    strip_comment,
    variants,
)

from dsnwatch.dsn.reasons import HARD_REASONS, REASONS

KNOWN = OFFLINE | LAB | set(NOT_RUN)


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


# Every command the docs show is run (here, or against the lab) or listed with a reason.


def test_every_docs_command_is_run_or_listed_with_a_reason() -> None:
    shown = {c.text for c in doc_commands()}
    unknown = [f"{c.where}: {c.text}" for c in doc_commands() if c.text not in KNOWN]
    assert not unknown, (
        "docs commands that no test runs: add each to OFFLINE or LAB in tests/docs_commands.py "
        "(or to NOT_RUN with the reason)\n" + "\n".join(unknown)
    )
    assert not KNOWN - shown, f"listed, but the docs no longer show them: {KNOWN - shown}"
    assert not (OFFLINE & LAB) and not (set(NOT_RUN) & (OFFLINE | LAB))
    assert set(SUBSTITUTE) <= LAB
    assert all(reason.strip() for reason in NOT_RUN.values())


def test_comments_and_usage_brackets_are_read_as_the_shell_would() -> None:
    assert strip_comment("dsnwatch list  # reports") == "dsnwatch list"
    assert strip_comment("jq -r 'select(.a==\"#x\")'  # b") == "jq -r 'select(.a==\"#x\")'"
    assert variants("dsnwatch lab down [--volumes]") == [
        "dsnwatch lab down",
        "dsnwatch lab down --volumes",
    ]


@pytest.fixture
def sandbox(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A home with a bounce file and a Maildir folder of bounces, as the docs assume."""
    bounce = fixture_bytes("postfix-userunknown.eml")
    (tmp_path / "bounce.eml").write_bytes(bounce)
    folder = tmp_path / "Maildir" / ".Bounces"
    for sub in ("cur", "new", "tmp"):
        (folder / sub).mkdir(parents=True)
    (folder / "cur" / "1.host:2,S").write_bytes(bounce)
    (folder / "new" / "2.host").write_bytes(fixture_bytes("qmail-freetext.eml"))
    return tmp_path, docs_env(tmp_path)


PARSE = sorted(c for c in OFFLINE if c.startswith(("dsnwatch parse", "cat ")))


@pytest.mark.parametrize("command", PARSE)
def test_docs_parse_command_runs(command: str, sandbox: tuple[Path, dict[str, str]]) -> None:
    home, env = sandbox
    done = shell(command, cwd=home, env=env, timeout=60)
    assert done.returncode == 0, done
    assert "nobody@remote.test" in done.stdout, done
    if "--json" in command and "jq" not in command:
        assert json.loads(done.stdout.splitlines()[0])["kind"] == "delivery-status"


@pytest.mark.timeout(300)
def test_docs_pipx_install_gives_a_working_command(sandbox: tuple[Path, dict[str, str]]) -> None:
    home, env = sandbox
    pipx = Path(sys.executable).with_name("pipx")
    assert pipx.exists(), "pipx is a development dependency: run make install"
    env = {**env, "PIPX_HOME": str(home / "pipx"), "PIPX_BIN_DIR": str(home / "bin")}
    env["PIPX_MAN_DIR"] = str(home / "man")
    done = shell("pipx install .", cwd=ROOT, env=env, timeout=280)
    assert done.returncode == 0, done
    installed = home / "bin" / "dsnwatch"
    # The installed copy, not the checkout: it reads a bounce and finds its own styles.
    done = shell(f"{installed} parse bounce.eml --json", cwd=home, env=env, timeout=60)
    assert done.returncode == 0 and "nobody@remote.test" in done.stdout, done
    python = home / "pipx" / "venvs" / "dsnwatch" / "bin" / "python"
    done = shell(
        f"{python} -c 'import dsnwatch.tui.paths as p; print(p.css_dir())'",
        cwd=home,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0 and str(home / "pipx") in done.stdout, done
    # The package build compiles the readers (setup.py), as make install does.
    done = shell(
        f"{python} -c 'from dsnwatch import native; print(native.compiled_modules())'",
        cwd=home,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done
    assert "'dsn.reader'" in done.stdout and "'logs.readers'" in done.stdout, done


def test_console_doc_shows_every_screenshot_and_each_one_exists() -> None:
    from dsnwatch.tui.screenshots import SHOTS

    text = (ROOT / "docs" / "console.md").read_text()
    shown = set(re.findall(r"\]\(images/([^)]+)\)", text))
    assert shown == {name for name, _ in SHOTS}
    for name in shown:
        head = (ROOT / "docs" / "images" / name).read_text()[:200]
        assert head.lstrip().startswith("<svg"), name
