"""The host runtime: Postfix and Dovecot installed on this machine."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile

from dsnwatch.runtime.base import ExecResult, RuntimeFailure, Service, backup_name


class HostRuntime:
    """Local files, local commands, restarts through the configured commands."""

    kind = "host"

    def __init__(
        self,
        restart_commands: dict[Service, list[str]] | None = None,
        timeout: float = 120.0,
    ) -> None:
        self.restart_commands: dict[Service, list[str]] = restart_commands or {
            "postfix": ["systemctl", "restart", "postfix"],
            "dovecot": ["systemctl", "restart", "dovecot"],
        }
        self.timeout = timeout

    def describe(self) -> str:
        """One line naming the runtime."""
        return f"host {os.uname().nodename}"

    def read_file(self, service: Service, path: str) -> bytes | None:
        """The file's bytes, or None when it does not exist."""
        try:
            with open(path, "rb") as fh:
                return fh.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise RuntimeFailure(f"cannot read {path}: {exc.strerror}; run as root") from exc

    def write_file(self, service: Service, path: str, data: bytes) -> str | None:
        """Write beside the target, copy owner and mode, then rename over it."""
        directory = os.path.dirname(path) or "."
        backup: str | None = None
        try:
            st = os.stat(path)
        except FileNotFoundError:
            st = None
        try:
            if st is not None:
                backup = backup_name(path)
                shutil.copy2(path, backup)
            fd, tmp = tempfile.mkstemp(prefix=".dsnwatch-", dir=directory)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                if st is not None:
                    os.chmod(tmp, st.st_mode & 0o7777)
                    if os.geteuid() == 0:
                        os.chown(tmp, st.st_uid, st.st_gid)
                else:
                    os.chmod(tmp, 0o644)
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            raise RuntimeFailure(f"cannot write {path}: {exc.strerror}; run as root") from exc
        return backup

    def remove_file(self, service: Service, path: str) -> None:
        """Delete the file if it exists."""
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise RuntimeFailure(f"cannot remove {path}: {exc.strerror}; run as root") from exc

    def exec(self, service: Service, argv: list[str]) -> ExecResult:
        """Run a local command; a missing program is rc 127, like a shell."""
        try:
            proc = subprocess.run(
                argv,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                timeout=self.timeout,
                check=False,
            )
        except FileNotFoundError:
            return ExecResult(127, f"{argv[0]}: command not found")
        except subprocess.TimeoutExpired:
            return ExecResult(124, f"{argv[0]}: timed out after {self.timeout:.0f}s")
        return ExecResult(proc.returncode, proc.stdout.decode("utf-8", "replace"))

    def restart(self, service: Service) -> None:
        """Run the configured restart command for the service."""
        result = self.exec(service, self.restart_commands[service])
        if not result.ok:
            raise RuntimeFailure(
                f"restarting {service} failed: {result.output.strip()[:200]}; check its log"
            )

    def host_path(self, service: Service, path: str) -> str | None:
        """None: the services run here, so `path` is already the host's."""
        return None

    def state(self, service: Service) -> str:
        """`systemctl is-active` for the service, or "unknown" without systemd."""
        result = self.exec(service, ["systemctl", "is-active", service])
        if result.rc == 127:
            return "unknown"
        return result.output.strip() or "unknown"
