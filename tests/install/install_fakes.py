"""A runtime in memory: files in a dict, commands answered by small rules."""

from __future__ import annotations

from collections.abc import Callable

from dsnwatch.install.plan import MAILCOW
from dsnwatch.runtime.base import ExecResult, RuntimeFailure, Service

MAILBOX = "dsn-monitor@example.org"

MAILCOW_SIEVE_BEFORE = (
    b'require ["mailbox", "fileinto"];\n'
    b'if header :contains ["Chat-Version"] [""] {\n'
    b'  if mailboxexists "DeltaChat" { fileinto "DeltaChat"; } else { fileinto :create "DeltaChat"; }\n'
    b"  stop;\n"
    b"}\n"
)
MAILCOW_SIEVE_AFTER = (
    b'require "fileinto";\nif header :contains "X-Spam-Flag" "YES" {\n  fileinto "Junk";\n}'
)
MAIN_CF = b"# Please create a file extra.cf for persistent overrides\nmyhostname = mx.example.org\n"
MASTER_CF = b"smtp inet n - n - - smtpd\nbounce unix - - n - 0 bounce\n"
EXTRA_CF = b"# operator's own overrides\nmessage_size_limit = 52428800\n"


class FakeRuntime:
    """Files and commands of a mailcow-shaped stack, in memory."""

    kind = "fake"

    def __init__(self, files: dict[tuple[Service, str], bytes] | None = None) -> None:
        self.files: dict[tuple[Service, str], bytes] = dict(files or {})
        self.users = {MAILBOX}
        self.commands: list[tuple[Service, list[str]]] = []
        self.restarts: list[Service] = []
        self.writes: list[str] = []
        self.fail_sievec_on: Callable[[bytes], bool] = lambda _data: False
        self.fail_restart: set[Service] = set()
        self.postconf: dict[str, str] = {}

    def describe(self) -> str:
        return "fake"

    def host_path(self, service: Service, path: str) -> str | None:
        return None

    def read_file(self, service: Service, path: str) -> bytes | None:
        return self.files.get((service, path))

    def write_file(self, service: Service, path: str, data: bytes) -> str | None:
        self.writes.append(path)
        self.files[(service, path)] = data
        return None

    def remove_file(self, service: Service, path: str) -> None:
        self.files.pop((service, path), None)

    def exec(self, service: Service, argv: list[str]) -> ExecResult:
        self.commands.append((service, argv))
        if argv[:2] == ["doveadm", "user"]:
            return ExecResult(
                0 if argv[2] in self.users else 2, "userdb lookup: user doesn't exist"
            )
        if argv[0] == "sievec":
            data = self.files.get((service, argv[1]), b"")
            if self.fail_sievec_on(data):
                return ExecResult(89, "line 1: error: parse failed.")
            self.files[(service, argv[1].rsplit(".", 1)[0] + ".svbin")] = b"compiled"
            return ExecResult(0, "")
        if argv[0] == "postconf" and "-M" in argv:
            name = argv[-1].split("/")[0]
            master = self.files.get((service, MAILCOW.master_cf), b"").decode()
            return ExecResult(
                0,
                "".join(f"{line}\n" for line in master.splitlines() if line.split()[:1] == [name]),
            )
        if argv[0] == "postconf":
            names = [a for a in argv[1:] if not a.startswith("-") and a != MAILCOW.postfix_dir]
            return ExecResult(0, "".join(f"{n} = {self.postconf.get(n, '')}\n" for n in names))
        if argv[0] == "stat":
            return ExecResult(0, "100\n200\n")
        if argv[0] == "postmap":
            return (
                ExecResult(0, "dsn-monitor@example.org\n")
                if argv[-2] == "<>"
                else ExecResult(1, "")
            )
        return ExecResult(0, "")

    def restart(self, service: Service) -> None:
        if service in self.fail_restart:
            self.fail_restart.discard(
                service
            )  # fails once, like a bad config that is then restored
            raise RuntimeFailure(f"{service} exited after the restart; see its logs")
        self.restarts.append(service)

    def state(self, service: Service) -> str:
        return "running"


def mailcow_runtime() -> FakeRuntime:
    """A fresh mailcow: the shipped scripts, an operator's extra.cf, compiled active copies."""
    return FakeRuntime(
        {
            ("dovecot", MAILCOW.sieve_before): MAILCOW_SIEVE_BEFORE,
            ("dovecot", MAILCOW.sieve_before_active): MAILCOW_SIEVE_BEFORE,
            ("dovecot", MAILCOW.sieve_after): MAILCOW_SIEVE_AFTER,
            ("dovecot", MAILCOW.sieve_after_active): MAILCOW_SIEVE_AFTER,
            ("postfix", MAILCOW.main_cf): MAIN_CF,
            ("postfix", MAILCOW.master_cf): MASTER_CF,
            ("postfix", MAILCOW.settings_file): EXTRA_CF,
        }
    )
