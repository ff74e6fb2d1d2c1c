"""The Docker runtime: mailcow's containers, found by their compose labels.

Files are read and written from inside the container (`get_archive`/`put_archive` and
an in-container rename), so they land in the bind-mounted `data/conf/...` directory of
the mailcow checkout and the runtime works against a remote `DOCKER_HOST` as well.
"""

from __future__ import annotations

import io
import shlex
import tarfile
import time
from typing import Any

from dsnwatch.runtime.base import ExecResult, RuntimeFailure, Service, backup_name

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
WORKING_DIR_LABEL = "com.docker.compose.project.working_dir"
# A command that succeeds once the service answers, and what it checks (for the error).
# Postfix: its master has taken its lock and written its PID. Not `postfix status`: that
# test takes the same lock for a moment, and a master starting in that moment fails
# ("unable to set exclusive lock") and takes the container down with it.
_POSTFIX_MASTER_UP = (
    'pid=$(tr -d " " < "$(postconf -h queue_directory)/pid/master.pid") && [ -n "$pid" ]'
    ' && [ "$(cat "/proc/$pid/comm")" = master ]'
)
READY_PROBES: dict[Service, tuple[list[str], str]] = {
    "postfix": (["sh", "-c", _POSTFIX_MASTER_UP], "the Postfix master process"),
    "dovecot": (["doveadm", "who"], "`doveadm who`"),
}


def compose_service(service: Service) -> str:
    """mailcow's compose service name for a mail service."""
    return f"{service}-mailcow"


def legacy_names(project: str, service: Service) -> list[str]:
    """Container names compose v2 and v1 give the service, for engines without labels."""
    name = compose_service(service)
    return [f"{project}-{name}-1", f"{project}_{name}_1"]


class DockerRuntime:
    """mailcow's postfix-mailcow and dovecot-mailcow containers through the Engine API."""

    kind = "docker"

    def __init__(
        self, project: str = "mailcowdockerized", base_url: str = "", client: Any = None
    ) -> None:
        self.project = project
        self.base_url = base_url
        self._client = client
        self._containers: dict[Service, Any] = {}

    @property
    def client(self) -> Any:
        """The Docker client, connected on first use."""
        if self._client is None:
            import docker

            try:
                if self.base_url:
                    self._client = docker.DockerClient(base_url=self.base_url)
                else:
                    self._client = docker.from_env()
                self._client.ping()
            except Exception as exc:
                self._client = None
                raise RuntimeFailure(
                    f"Docker is not reachable ({exc}); set DOCKER_HOST or docker.host, "
                    "or run as a user allowed to use the Docker socket"
                ) from exc
        return self._client

    def forget_client(self) -> None:
        """Drop the connection and what it found, after the engine went away."""
        self._client = None
        self._containers.clear()

    def container(self, service: Service, *, refresh: bool = False) -> Any:
        """The service's container: by compose labels first, then by compose's names.

        `refresh` looks again, for a container that may have been re-created.
        """
        if service in self._containers and not refresh:
            return self._containers[service]
        import docker.errors

        found = self.client.containers.list(
            all=True,
            filters={
                "label": [f"{SERVICE_LABEL}={compose_service(service)}"],
            },
        )
        # mailcow compares the project lowercased; so do we.
        found = [
            c for c in found if str(c.labels.get(PROJECT_LABEL, "")).lower() == self.project.lower()
        ]
        if not found:
            for name in legacy_names(self.project, service):
                try:
                    found = [self.client.containers.get(name)]
                    break
                except docker.errors.NotFound:
                    continue
        if not found:
            raise RuntimeFailure(
                f"no {compose_service(service)} container of compose project {self.project!r}; "
                "set docker.project to mailcow.conf's COMPOSE_PROJECT_NAME"
            )
        found.sort(key=lambda c: c.status != "running")
        self._containers[service] = found[0]
        return found[0]

    def working_dir(self) -> str:
        """The mailcow checkout on the Docker host, from the compose label."""
        return str(self.container("postfix").labels.get(WORKING_DIR_LABEL, ""))

    def host_path(self, service: Service, path: str) -> str | None:
        """Where a container path lives on the Docker host, if it is in a bind mount."""
        for mount in self.container(service).attrs.get("Mounts", []):
            dest = str(mount.get("Destination", "")).rstrip("/")
            if mount.get("Type") == "bind" and (path == dest or path.startswith(dest + "/")):
                return str(mount.get("Source", "")).rstrip("/") + path[len(dest) :]
        return None

    def describe(self) -> str:
        """The engine and the two containers."""
        names = []
        for service in ("postfix", "dovecot"):
            try:
                names.append(self.container(service).name)
            except RuntimeFailure:
                names.append(f"{service}: not found")
        return f"docker project {self.project} ({', '.join(names)})"

    def exec(self, service: Service, argv: list[str]) -> ExecResult:
        """Run a command in the service's container, as root."""
        try:
            rc, output = self.container(service).exec_run(argv, demux=False)
        except RuntimeFailure:
            raise
        except Exception as exc:
            raise RuntimeFailure(
                f"cannot run {argv[0]} in {compose_service(service)}: {exc}; is it running?"
            ) from exc
        text = output.decode("utf-8", "replace") if isinstance(output, bytes) else str(output)
        return ExecResult(int(rc if rc is not None else 1), text)

    def _check(self, service: Service, argv: list[str]) -> str:
        result = self.exec(service, argv)
        if not result.ok:
            raise RuntimeFailure(
                f"{shlex.join(argv)} failed in {compose_service(service)}: "
                f"{result.output.strip()[:200]}"
            )
        return result.output

    def read_file(self, service: Service, path: str) -> bytes | None:
        """The file's bytes through the archive API, or None when it does not exist."""
        import docker.errors

        try:
            stream, _stat = self.container(service).get_archive(path)
        except docker.errors.NotFound:
            return None
        except docker.errors.APIError as exc:
            raise RuntimeFailure(
                f"cannot read {path} in {compose_service(service)}: {exc}"
            ) from exc
        buf = io.BytesIO(b"".join(stream))
        with tarfile.open(fileobj=buf) as tar:
            member = tar.next()
            if member is None or not member.isfile():
                raise RuntimeFailure(f"{path} in {compose_service(service)} is not a regular file")
            fh = tar.extractfile(member)
            return fh.read() if fh is not None else b""

    def write_file(self, service: Service, path: str, data: bytes) -> str | None:
        """Upload beside the target with its owner and mode, then rename it into place."""
        directory, _, name = path.rpartition("/")
        directory = directory or "/"
        stat = self.exec(service, ["stat", "-c", "%u %g %a", path])
        backup: str | None = None
        uid, gid, mode = 0, 0, 0o644
        if stat.ok:
            parts = stat.output.split()
            uid, gid, mode = int(parts[0]), int(parts[1]), int(parts[2], 8)
            backup = backup_name(path)
            self._check(service, ["cp", "-p", path, backup])
        tmp_name = f".dsnwatch-{name}.tmp"
        info = tarfile.TarInfo(tmp_name)
        info.size = len(data)
        info.uid, info.gid, info.mode = uid, gid, mode
        info.mtime = int(time.time())
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            tar.addfile(info, io.BytesIO(data))
        try:
            ok = self.container(service).put_archive(directory, buf.getvalue())
        except Exception as exc:
            raise RuntimeFailure(
                f"cannot write {path} in {compose_service(service)}: {exc}"
            ) from exc
        if not ok:
            raise RuntimeFailure(f"cannot write {path} in {compose_service(service)}")
        tmp = f"{directory.rstrip('/')}/{tmp_name}"
        # put_archive does not apply the owner for every storage driver; set it explicitly.
        self._check(service, ["chown", f"{uid}:{gid}", tmp])
        self._check(service, ["chmod", f"{mode:o}", tmp])
        self._check(service, ["mv", "-f", tmp, path])
        return backup

    def remove_file(self, service: Service, path: str) -> None:
        """Delete the file if it exists."""
        self._check(service, ["rm", "-f", path])

    def restart(self, service: Service) -> None:
        """Restart the container and wait up to a minute for it to run again."""
        container = self.container(service)
        try:
            container.restart(timeout=30)
        except Exception as exc:
            raise RuntimeFailure(f"restarting {container.name} failed: {exc}") from exc
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            container.reload()
            if container.status == "running":
                break
            time.sleep(1)
        else:
            raise RuntimeFailure(
                f"{container.name} is {container.status} after a restart; see its logs"
            )
        # Running is not serving: Postfix and Dovecot take a moment more to answer, and
        # mail sent before then (a `dsnwatch test` right after install) is refused.
        probe, what = READY_PROBES[service]
        deadline = time.monotonic() + 120  # as long as a loaded host may need to start them
        while time.monotonic() < deadline:
            try:
                result = self.exec(service, probe)
            except RuntimeFailure:
                result = ExecResult(1, "")
            if result.ok or result.rc == 127:  # 127: no such command there; nothing to wait on
                return
            time.sleep(0.5)
        raise RuntimeFailure(
            f"{container.name} runs but {what} does not answer after a restart; see its logs"
        )

    def state(self, service: Service) -> str:
        """The container's status, e.g. "running" or "exited"."""
        container = self.container(service)
        container.reload()
        return str(container.status)
