"""Runtimes: where the mail services live (mailcow's containers, or this host)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dsnwatch.runtime.base import ExecResult, FileMeta, Runtime, RuntimeFailure, Service

if TYPE_CHECKING:
    from dsnwatch.config import Config


def make_runtime(cfg: Config) -> Runtime:
    """The runtime the configuration names."""
    if cfg.runtime == "host":
        from dsnwatch.runtime.host import HostRuntime

        return HostRuntime(
            {"postfix": cfg.host.restart_postfix, "dovecot": cfg.host.restart_dovecot}
        )
    from dsnwatch.runtime.docker import DockerRuntime

    return DockerRuntime(cfg.compose_project, cfg.docker_host)


__all__ = ["ExecResult", "FileMeta", "Runtime", "RuntimeFailure", "Service", "make_runtime"]
