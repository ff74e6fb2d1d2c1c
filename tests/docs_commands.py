"""Every command the documentation shows, and how the tests run it.

A command is a line of a fenced `sh` block in README.md or docs/*.md, without its
comment. Each one is in exactly one of:

- OFFLINE: run for real without the lab (tests/test_docs.py);
- LAB: run for real against the lab (tests/lab/test_docs_commands.py);
- NOT_RUN: cannot run inside a test, with the reason.

A command in the docs that is in none of them, or a name here that the docs no
longer show, fails tests/test_docs.py, so the docs and these lists move together.
"""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL_LANGS = {"sh", "bash", "shell", "console"}
_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.M | re.S)
_OPTIONAL = re.compile(r" \[(--[^\]]+)\]")


@dataclass(frozen=True, slots=True)
class DocCommand:
    where: str  # "docs/cli.md:54"
    text: str  # the command as shown, without its comment


def strip_comment(line: str) -> str:
    """The line up to a `#` that starts a shell comment (outside quotes, after a blank)."""
    quote = ""
    for i, char in enumerate(line):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def doc_commands() -> list[DocCommand]:
    """Every command of every shell block of the docs, in the order they appear."""
    found: list[DocCommand] = []
    for path in DOCS:
        text = path.read_text()
        for block in _FENCE.finditer(text):
            if block.group(1) not in SHELL_LANGS:
                continue
            first = text[: block.start(2)].count("\n") + 1
            for n, line in enumerate(block.group(2).splitlines()):
                command = strip_comment(line).strip()
                if command:
                    where = f"{path.relative_to(ROOT)}:{first + n}"
                    found.append(DocCommand(where, command))
    return found


def variants(command: str) -> list[str]:
    """A usage line with `[--option]` parts as the commands it stands for: without, with."""
    if not _OPTIONAL.search(command):
        return [command]
    return [_OPTIONAL.sub("", command), _OPTIONAL.sub(r" \1", command)]


# Commands that need nothing but the checkout (and, for pipx, the package index).
OFFLINE = {
    "dsnwatch parse bounce.eml --json",
    "dsnwatch parse bounce.eml",
    'dsnwatch parse ~/Maildir/.Bounces --json | jq -r \'select(.kind=="delivery-status") | '
    ".reports[].recipient'",
    "cat bounce.eml | dsnwatch parse - --json",
    "pipx install .",
}

# Commands run against the lab. Placeholders of the docs are replaced first (SUBSTITUTE).
LAB = {
    "make demo",
    "dsnwatch",
    "dsnwatch install --dry-run",
    "dsnwatch install",
    "dsnwatch doctor",
    "dsnwatch test all",
    "dsnwatch list --since 7d --hard",
    "dsnwatch tail --since 10m",
    "dsnwatch export --since 30d --format csv",
    "dsnwatch config show",
    "make lab",
    ".venv/bin/dsnwatch lab status",
    ".venv/bin/dsnwatch lab reset",
    ".venv/bin/dsnwatch lab down",
    ".venv/bin/dsnwatch --lab doctor",
    "dsnwatch tail --since 10m --service dovecot",
    "dsnwatch tail --json | jq -c 'select(.type==\"alert\")'",
    "dsnwatch tail --file /var/log/mail.log",
    "dsnwatch list --since 24h",
    "dsnwatch list --since 7d --hard --csv > hard-bounces.csv",
    "dsnwatch list --reason mailboxfull --recipient-domain example.net --json",
    "dsnwatch lab status [--json]",
    "dsnwatch lab reset",
    "dsnwatch lab down [--volumes]",
    "dsnwatch install --mailbox dsn-monitor@example.org --dry-run",
    "dsnwatch install --mailbox dsn-monitor@example.org",
    "dsnwatch install --postfix-mode notify",
    "dsnwatch uninstall",
    "dsnwatch test local",
    "dsnwatch test remote",
    "dsnwatch test ses",
    "dsnwatch test complaint",
    "dsnwatch test all --wait 120",
    "dsnwatch test all --json",
    "dsnwatch --lab test all",
}

# Placeholders that name a real server's things: replaced by the lab's, for the reason given.
SUBSTITUTE: dict[str, tuple[str, str, str]] = {
    "dsnwatch install --mailbox dsn-monitor@example.org --dry-run": (
        "dsn-monitor@example.org",
        "{monitor}",
        "example.org is the docs' placeholder; the lab's central mailbox is on lab.test",
    ),
    "dsnwatch install --mailbox dsn-monitor@example.org": (
        "dsn-monitor@example.org",
        "{monitor}",
        "example.org is the docs' placeholder; the lab's central mailbox is on lab.test",
    ),
    "dsnwatch tail --file /var/log/mail.log": (
        "/var/log/mail.log",
        "{mail_log}",
        "a test writes no file under /var/log: a log file of the test's own, which it rotates",
    ),
}

NOT_RUN = {
    "make test": "the command that runs this very test",
    "make lab-test": "runs tests/lab, which `make test` runs already",
    "make faults": (
        "the full fault run: 20,000 reports, minutes long, and it stops the Docker engine "
        "under the other tests; tests/lab/test_faults.py runs the short plan"
    ),
    ".venv/bin/python -m dsnwatch.faults --no-engine": (
        "the full fault run without the engine restart: 20,000 reports, minutes long"
    ),
    ".venv/bin/python -m dsnwatch.faults --short": (
        "tests/lab/test_faults.py runs the same short plan in-process, with its checks"
    ),
    ".venv/bin/python -m dsnwatch.faults --fault imap-drop --reports 5000": (
        "a 5,000-report fault run, minutes long; tests/lab/test_faults.py drops IMAP in a "
        "sync of 300"
    ),
    "dsnwatch install --ses-identity example.org": (
        "changes a real Amazon SES account (AWS credentials); tests/install/test_install_ses.py "
        "drives the same calls on a stub of the SESv2 client"
    ),
}


# Running a command line.


def docs_env(home: Path) -> dict[str, str]:
    """The environment a docs command runs in: a home of its own, this checkout's dsnwatch
    first on PATH, a store of its own, no user configuration (so the lab's settings apply),
    and no wait between two test bounces."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("XDG_", "PIPX_")) and k not in ("DSNWATCH_CONFIG", "DSNWATCH_STORE")
    }
    env["HOME"] = str(home)
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '/usr/bin:/bin')}"
    env["DSNWATCH_STORE"] = str(home / "dsnwatch.sqlite")
    env["DSNWATCH_TESTS_MIN_INTERVAL"] = "0"
    env["COLUMNS"] = "200"  # a wide terminal: tables print whole addresses
    return env


@dataclass(frozen=True, slots=True)
class Done:
    returncode: int
    stdout: str
    stderr: str


def ctrl_c_reaches() -> None:
    """For Popen's preexec_fn: SIGINT at its default in the child, as at a terminal.

    A test run started in the background of a script (`make test &`) ignores SIGINT,
    every child inherits that, and a Python program that starts with SIGINT ignored
    never sees Ctrl-C; the commands here are pressed Ctrl-C as at a terminal.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def shell(
    command: str, *, cwd: Path, env: dict[str, str], timeout: float = 300.0, stop_after: float = 0
) -> Done:
    """Run a shell line; with `stop_after`, press Ctrl-C (SIGINT to dsnwatch) after that long."""
    proc = subprocess.Popen(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=ctrl_c_reaches,
    )
    try:
        if stop_after:
            try:
                out, err = proc.communicate(timeout=stop_after)
            except subprocess.TimeoutExpired:
                _interrupt_dsnwatch(proc.pid)
                out, err = proc.communicate(timeout=30)
        else:
            out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return Done(proc.returncode, out, err)


def _interrupt_dsnwatch(group: int) -> None:
    """SIGINT to the dsnwatch processes of a process group, as Ctrl-C would; not to jq."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == group and b"dsnwatch" in cmdline and b"bash" not in cmdline:
            os.kill(int(stat.parent.name), signal.SIGINT)


_ESCAPES = re.compile(
    rb"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|.)"
)


def in_terminal(
    command: str,
    *,
    cwd: Path,
    env: dict[str, str],
    ready: str,
    keys: bytes = b"q",
    size: tuple[int, int] = (100, 32),
    timeout: float = 180.0,
) -> Done:
    """Run a full-screen command in a terminal; type `keys` once `ready` is on screen."""
    import fcntl
    import termios

    master, slave = pty.openpty()
    cols, rows = size
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    proc = subprocess.Popen(
        ["bash", "-c", command],
        cwd=cwd,
        env={**env, "TERM": "xterm-256color", "COLUMNS": str(cols), "LINES": str(rows)},
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
        preexec_fn=ctrl_c_reaches,
    )
    os.close(slave)
    seen = b""
    typed = False
    end = time.monotonic() + timeout
    try:
        while time.monotonic() < end:
            readable, _, _ = select.select([master], [], [], 0.2)
            if readable:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    chunk = b""
                if not chunk and proc.poll() is not None:
                    break
                seen += chunk
            elif proc.poll() is not None:
                break
            if not typed and ready.encode() in _ESCAPES.sub(b"", seen):
                time.sleep(0.5)
                os.write(master, keys)
                typed = True
        proc.wait(timeout=max(1.0, end - time.monotonic()))
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(master)
    text = _ESCAPES.sub(b"", seen).decode(errors="replace")
    return Done(proc.returncode if typed else -1, text, "" if typed else f"never showed {ready!r}")
