"""What every runtime offers: files, commands and restarts of the two mail services.

Paths are always the paths the service itself sees (inside the container on mailcow),
so the installer and the doctor never care where the services live.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal, Protocol

Service = Literal["postfix", "dovecot"]


class RuntimeFailure(RuntimeError):
    """A runtime operation failed; the message says what and how to fix it."""


@dataclass(frozen=True, slots=True)
class ExecResult:
    """The outcome of one command: its exit code and its merged output."""

    rc: int
    output: str

    @property
    def ok(self) -> bool:
        return self.rc == 0


@dataclass(frozen=True, slots=True)
class FileMeta:
    """Owner and permissions of a file, kept across rewrites."""

    uid: int
    gid: int
    mode: int


class Runtime(Protocol):
    """Where the mail services run: a Docker engine or this host."""

    kind: str

    def describe(self) -> str:
        """One line naming the runtime (engine and containers, or the host)."""
        ...

    def read_file(self, service: Service, path: str) -> bytes | None:
        """The file's bytes, or None when it does not exist."""
        ...

    def write_file(self, service: Service, path: str, data: bytes) -> str | None:
        """Replace the file atomically, keeping owner and mode; return the backup's path."""
        ...

    def remove_file(self, service: Service, path: str) -> None:
        """Delete the file if it exists."""
        ...

    def exec(self, service: Service, argv: list[str]) -> ExecResult:
        """Run a command where the service runs (as root on mailcow)."""
        ...

    def restart(self, service: Service) -> None:
        """Restart the service and wait until it runs again."""
        ...

    def state(self, service: Service) -> str:
        """The service's state as the runtime reports it, e.g. "running"."""
        ...

    def host_path(self, service: Service, path: str) -> str | None:
        """Where the service's file lives on the host, when that differs from `path`."""
        ...


def backup_name(path: str, now: float | None = None) -> str:
    """The timestamped backup path of `path`: `<path>.dsnwatch-YYYYmmddTHHMMSS`."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(time.time() if now is None else now))
    return f"{path}.dsnwatch-{stamp}"
