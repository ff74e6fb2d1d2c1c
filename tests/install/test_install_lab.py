"""The Docker runtime and install against the lab's mailcow-shaped containers (read only).

Needs a running lab: its Docker socket is taken from $DSNWATCH_LAB_DOCKER_HOST, else
from the lab's lab.toml, else looked for under ../wt-lab/.lab and /tmp. Skipped without one, unless CI=true.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import pytest

from dsnwatch.runtime.docker import DockerRuntime

pytestmark = pytest.mark.lab


def _lab_toml() -> dict[str, Any]:
    root = Path(__file__).resolve().parents[2]
    for path in (root / ".lab" / "lab.toml", root.parent / "wt-lab" / ".lab" / "lab.toml"):
        if path.is_file():
            return tomllib.loads(path.read_text())
    return {}


def _lab_socket() -> str | None:
    if host := os.environ.get("DSNWATCH_LAB_DOCKER_HOST"):
        return host
    host = str(_lab_toml().get("docker", {}).get("host", ""))
    if host.startswith("unix://") and Path(host[len("unix://") :]).is_socket():
        return host
    root = Path(__file__).resolve().parents[2]
    for base in (root.parent / "wt-lab" / ".lab", root / ".lab", Path("/tmp")):
        if base.is_dir():
            for sock in sorted(base.glob("**/docker.sock")):
                if sock.is_socket():
                    return f"unix://{sock}"
    return None


@pytest.fixture(scope="module")
def lab() -> DockerRuntime:
    host = _lab_socket()
    reason = "no lab Docker engine found (set DSNWATCH_LAB_DOCKER_HOST or run the lab)"
    if host is None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    runtime = DockerRuntime(os.environ.get("DSNWATCH_LAB_PROJECT", "mailcowdockerized"), host)
    try:
        states = {s: runtime.state(s) for s in ("postfix", "dovecot")}
        if set(states.values()) != {"running"}:
            raise RuntimeError(f"containers are not running: {states}")
    except Exception as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"lab not usable: {exc}")
        pytest.skip(f"lab not usable: {exc}")
    return runtime


def _mailbox() -> str:
    default = str(_lab_toml().get("lab", {}).get("monitor", "dsn-monitor@example.org"))
    return os.environ.get("DSNWATCH_LAB_MAILBOX", default)


def test_containers_are_found_by_compose_labels(lab: DockerRuntime) -> None:
    assert lab.state("postfix") == "running"
    assert lab.state("dovecot") == "running"


def test_postconf_runs_in_the_postfix_container(lab: DockerRuntime) -> None:
    result = lab.exec("postfix", ["postconf", "-n"])
    assert result.ok and "=" in result.output


def test_central_mailbox_is_known_to_dovecot(lab: DockerRuntime) -> None:
    assert lab.exec("dovecot", ["doveadm", "user", _mailbox()]).ok


def test_global_sieve_before_is_readable_through_the_archive_api(lab: DockerRuntime) -> None:
    assert lab.read_file("dovecot", "/etc/dovecot/global_sieve_before") is not None


def test_install_dry_run_changes_nothing(lab: DockerRuntime) -> None:
    from dsnwatch.config import Config
    from dsnwatch.install import prepare_install

    sieve = lab.read_file("dovecot", "/etc/dovecot/global_sieve_before")
    extra = lab.read_file("postfix", "/opt/postfix/conf/extra.cf")
    prepare_install(Config(mailbox=_mailbox()), lab).plan.describe()
    assert lab.read_file("dovecot", "/etc/dovecot/global_sieve_before") == sieve
    assert lab.read_file("postfix", "/opt/postfix/conf/extra.cf") == extra
