"""Runtimes: host file writes keep mode and backups; Docker discovery by compose labels."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path
from typing import Any

import docker.errors
import pytest

from dsnwatch.config import ConfigError, config_from_dict
from dsnwatch.runtime.base import RuntimeFailure
from dsnwatch.runtime.docker import DockerRuntime
from dsnwatch.runtime.host import HostRuntime


def test_host_write_is_atomic_keeps_mode_and_leaves_a_backup(tmp_path: Path) -> None:
    target = tmp_path / "main.cf"
    target.write_bytes(b"old\n")
    os.chmod(target, 0o640)
    backup = HostRuntime().write_file("postfix", str(target), b"new\n")
    assert target.read_bytes() == b"new\n"
    assert target.stat().st_mode & 0o777 == 0o640
    assert backup is not None and Path(backup).read_bytes() == b"old\n"
    assert ".dsnwatch-" in backup
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, Path(backup).name])


def test_host_missing_file_reads_as_none_and_missing_command_is_127(tmp_path: Path) -> None:
    rt = HostRuntime()
    assert rt.read_file("dovecot", str(tmp_path / "nope")) is None
    assert rt.exec("postfix", ["dsnwatch-no-such-program"]).rc == 127


class FakeContainer:
    def __init__(self, name: str, labels: dict[str, str], status: str = "running") -> None:
        self.name = name
        self.labels = labels
        self.status = status
        self.attrs: dict[str, Any] = {
            "Mounts": [
                {
                    "Type": "bind",
                    "Source": "/opt/mailcow/data/conf/postfix",
                    "Destination": "/opt/postfix/conf",
                },
                {
                    "Type": "volume",
                    "Source": "/var/lib/docker/v",
                    "Destination": "/var/spool/postfix",
                },
            ]
        }
        self.files: dict[str, bytes] = {}
        self.commands: list[list[str]] = []

    def exec_run(self, argv: list[str], demux: bool = False) -> tuple[int, bytes]:
        self.commands.append(argv)
        if argv[0] == "stat":
            return (0, b"0 0 640\n") if argv[-1] in self.files else (1, b"No such file\n")
        if argv[0] == "mv":
            self.files[argv[3]] = self.files.pop(argv[2])
        return 0, b""

    def get_archive(self, path: str) -> tuple[list[bytes], dict[str, Any]]:
        if path not in self.files:
            raise docker.errors.NotFound("missing")
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tarfile.TarInfo(path.rsplit("/", 1)[1])
            info.size = len(self.files[path])
            tar.addfile(info, io.BytesIO(self.files[path]))
        return [buf.getvalue()], {}

    def put_archive(self, directory: str, data: bytes) -> bool:
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            for member in tar.getmembers():
                fh = tar.extractfile(member)
                assert fh is not None
                self.files[f"{directory}/{member.name}"] = fh.read()
                assert member.mode == 0o640 or member.mode == 0o644
        return True

    def reload(self) -> None:
        pass


class FakeContainers:
    def __init__(self, containers: list[FakeContainer]) -> None:
        self.all = containers

    def list(
        self, all: bool = False, filters: dict[str, list[str]] | None = None
    ) -> list[FakeContainer]:
        wanted = dict(f.split("=", 1) for f in (filters or {}).get("label", []))
        return [c for c in self.all if wanted.items() <= c.labels.items()]

    def get(self, name: str) -> FakeContainer:
        for c in self.all:
            if c.name == name:
                return c
        raise docker.errors.NotFound(name)


class FakeClient:
    def __init__(self, containers: list[FakeContainer]) -> None:
        self.containers = FakeContainers(containers)


def _labels(project: str, service: str) -> dict[str, str]:
    return {
        "com.docker.compose.project": project,
        "com.docker.compose.service": service,
        "com.docker.compose.project.working_dir": "/opt/mailcow",
    }


def test_containers_are_found_by_labels_of_the_right_project() -> None:
    other = FakeContainer("x-postfix", _labels("standby", "postfix-mailcow"))
    ours = FakeContainer("m-postfix", _labels("MailcowDockerized", "postfix-mailcow"))
    rt = DockerRuntime("mailcowdockerized", client=FakeClient([other, ours]))
    assert rt.container("postfix") is ours
    assert rt.working_dir() == "/opt/mailcow"
    assert (
        rt.host_path("postfix", "/opt/postfix/conf/extra.cf")
        == "/opt/mailcow/data/conf/postfix/extra.cf"
    )
    assert rt.host_path("postfix", "/var/spool/postfix/x") is None


def test_old_compose_v1_names_are_a_fallback() -> None:
    old = FakeContainer("mailcowdockerized_dovecot-mailcow_1", {})
    rt = DockerRuntime("mailcowdockerized", client=FakeClient([old]))
    assert rt.container("dovecot") is old


def test_missing_container_error_says_how_to_fix() -> None:
    rt = DockerRuntime("mailcowdockerized", client=FakeClient([]))
    with pytest.raises(RuntimeFailure, match="COMPOSE_PROJECT_NAME"):
        rt.container("postfix")


def test_docker_write_goes_through_the_container_and_keeps_a_backup() -> None:
    box = FakeContainer("p", _labels("mailcowdockerized", "postfix-mailcow"))
    box.files["/opt/postfix/conf/extra.cf"] = b"old\n"
    rt = DockerRuntime(client=FakeClient([box]))
    backup = rt.write_file("postfix", "/opt/postfix/conf/extra.cf", b"new\n")
    assert rt.read_file("postfix", "/opt/postfix/conf/extra.cf") == b"new\n"
    assert backup is not None and ["cp", "-p", "/opt/postfix/conf/extra.cf", backup] in box.commands
    assert ["chown", "0:0", "/opt/postfix/conf/.dsnwatch-extra.cf.tmp"] in box.commands
    assert rt.read_file("postfix", "/opt/postfix/conf/nothing") is None


def test_config_rejects_unknown_values_with_what_to_fix() -> None:
    cfg = config_from_dict(
        {"runtime": "host", "mailbox": "m@x.org", "ses": {"identities": ["x.org"]}}
    )
    assert cfg.runtime == "host" and cfg.ses_identities == ("x.org",)
    with pytest.raises(ConfigError, match='runtime must be "docker" or "host"'):
        config_from_dict({"runtime": "podman"})
    with pytest.raises(ConfigError, match="notify_classes"):
        config_from_dict({"postfix": {"notify_classes": ["policy"]}})
