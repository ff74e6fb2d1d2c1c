"""Every docs command that needs a mail server, run as written against the lab.

The commands run in the documents' order, each in a shell with this checkout's
`dsnwatch` first on PATH and no user configuration, so they find the lab's settings
as a machine with only the lab does. A command that changes the lab (another
Postfix mode, uninstall, `lab down`) is followed by what puts it back.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from docs_commands import (
    LAB,
    ROOT,
    SUBSTITUTE,
    Done,
    doc_commands,
    docs_env,
    in_terminal,
    shell,
    variants,
)

from dsnwatch.lab import Lab
from lab.install_target import lab_target

pytestmark = pytest.mark.lab

FULL_SCREEN = {"make demo", "dsnwatch"}
FOLLOWING = {c for c in LAB if "dsnwatch tail" in c}  # stopped with Ctrl-C after a while
RESTORE = {
    "dsnwatch install --postfix-mode notify": "dsnwatch install",
    "dsnwatch uninstall": "dsnwatch install",
    ".venv/bin/dsnwatch lab down": "dsnwatch lab up && dsnwatch install",
    "dsnwatch lab down": "dsnwatch lab up && dsnwatch install",
    "dsnwatch lab down --volumes": "dsnwatch lab up && dsnwatch install",
}
# A line of a host log, for `tail --file`.
HOST_LINE = "Dec  3 16:01:00 mx postfix/qmgr[9]: ABCDEF123: removed\n"


@dataclass
class Shell:
    lab: Lab
    home: Path
    env: dict[str, str]
    values: dict[str, str]

    def run(self, command: str, **kwargs: Any) -> Done:
        # Commands with a path of the checkout (.venv/bin, make) run in the checkout.
        here = ROOT if command.startswith((".venv/", "make ")) else self.home
        return shell(command, cwd=here, env=self.env, **kwargs)


@pytest.fixture(scope="module")
def docs_shell(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shell]:
    """A home for the commands; the pipeline installed, as `make demo` leaves it."""
    home = tmp_path_factory.mktemp("docs-home")
    (home / "bounce.eml").write_bytes(
        (ROOT / "tests/fixtures/postfix-userunknown.eml").read_bytes()
    )
    mail_log = home / "mail.log"
    mail_log.write_text("")
    targets = lab_target()
    target = next(targets)
    target.install()
    yield Shell(
        lab,
        home,
        docs_env(home),
        {"monitor": lab.settings.address("dsn-monitor"), "mail_log": str(mail_log)},
    )
    target.runtime.forget_client()  # `lab down` re-created the containers
    next(targets, None)


def _log_a_line(path: str) -> None:
    with open(path, "a") as log:
        log.write(HOST_LINE)


def _check_test_json(done: Done, sh: Shell) -> None:
    verdict = json.loads(done.stdout)
    assert verdict["passed"] is True, verdict
    assert {t["test"] for t in verdict["tests"]} == {"local", "remote", "ses", "complaint"}


def _check_csv_file(done: Done, sh: Shell) -> None:
    header = (sh.home / "hard-bounces.csv").read_text().splitlines()[0]
    assert header.startswith("time,") or "recipient" in header, header


def _check_doctor(done: Done, sh: Shell) -> None:
    assert "FAIL" not in done.stdout and done.stdout.count("OK") >= 5, done.stdout


def _check_status_json(done: Done, sh: Shell) -> None:
    services = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(services) == 4 and all(s["ok"] for s in services), services


def _check_masked(done: Done, sh: Shell) -> None:
    assert "********" in done.stdout and sh.values["monitor"] in done.stdout


def _check_dry_run(done: Done, sh: Shell) -> None:
    assert "nothing to change" in done.stdout.lower() or "---" in done.stdout, done.stdout


def _check_following(done: Done, sh: Shell) -> None:
    assert "following" in done.stderr, done


def _check_host_line(done: Done, sh: Shell) -> None:
    assert "ABCDEF123" in done.stdout, done


CHECKS: dict[str, Callable[[Done, Shell], None]] = {
    "dsnwatch test all --json": _check_test_json,
    "dsnwatch list --since 7d --hard --csv > hard-bounces.csv": _check_csv_file,
    "dsnwatch doctor": _check_doctor,
    ".venv/bin/dsnwatch --lab doctor": _check_doctor,
    "dsnwatch lab status --json": _check_status_json,
    "dsnwatch config show": _check_masked,
    "dsnwatch install --dry-run": _check_dry_run,
    "dsnwatch tail --since 10m": _check_following,
    "dsnwatch tail --since 10m --service dovecot": _check_following,
    "dsnwatch tail --file /var/log/mail.log": _check_host_line,
}

RUNS = [
    pytest.param(command, variant, id=f"{c.where}: {variant}")
    for c in doc_commands()
    if (command := c.text) in LAB
    for variant in variants(command)
]


@pytest.mark.timeout(600)
@pytest.mark.parametrize(("shown", "variant"), RUNS)
def test_docs_command_runs_against_the_lab(docs_shell: Shell, shown: str, variant: str) -> None:
    command = variant
    if shown in SUBSTITUTE:
        placeholder, value, _why = SUBSTITUTE[shown]
        command = command.replace(placeholder, value.format(**docs_shell.values))
    try:
        if variant in FULL_SCREEN:
            done = in_terminal(command, cwd=ROOT, env=docs_shell.env, ready="Reports")
        elif shown in FOLLOWING:
            # A line logged while it follows: `tail --file` starts at the end, as tail -f.
            later = threading.Timer(2.0, _log_a_line, [docs_shell.values["mail_log"]])
            later.start()
            done = docs_shell.run(command, stop_after=6)
            later.join()
        else:
            done = docs_shell.run(command)
        assert done.returncode == 0, done
        check = CHECKS.get(variant)
        if check is not None:
            check(done, docs_shell)
    finally:
        if variant in RESTORE:
            restored = docs_shell.run(RESTORE[variant])
            # No waiting here: install returns once Postfix answers, so the next command
            # (`dsnwatch test local` after uninstall) can send mail at once, as an operator does.
            assert restored.returncode == 0, restored
