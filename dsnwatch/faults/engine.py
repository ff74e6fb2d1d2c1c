"""Stopping and starting the Docker engine the lab runs on, for the engine-restart fault.

The lab's private engine is driven through `dsnwatch.lab.engine`. Any other engine
can be named with `DSNWATCH_FAULTS_ENGINE_CMD` (the dockerd command line that starts
it) and `DSNWATCH_FAULTS_ENGINE_PIDFILE` (its pid file); nothing else is ever stopped.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from dsnwatch.lab import engine as lab_engine

ENV_CMD = "DSNWATCH_FAULTS_ENGINE_CMD"
ENV_PIDFILE = "DSNWATCH_FAULTS_ENGINE_PIDFILE"
ENV_LOG = "DSNWATCH_FAULTS_ENGINE_LOG"


class EngineControlError(Exception):
    """The engine cannot be restarted by the fault run; one line saying why."""


class EngineControl(Protocol):
    """Something that can stop the engine and start it again."""

    description: str

    def stop(self) -> None: ...

    def start(self) -> None: ...


@dataclass(slots=True)
class PrivateEngine:
    """The lab's own private dockerd (`dsnwatch lab engine stop|start`)."""

    description: str = "the lab's private engine"

    def stop(self) -> None:
        try:
            if not lab_engine.stop_private():
                raise EngineControlError("the lab's private engine is not running")
        except lab_engine.EngineError as exc:
            raise EngineControlError(str(exc)) from None

    def start(self) -> None:
        try:
            lab_engine.start_private()
        except lab_engine.EngineError as exc:
            raise EngineControlError(str(exc)) from None


@dataclass(slots=True)
class CommandEngine:
    """A dockerd named by its command line and pid file (the override)."""

    argv: list[str]
    pidfile: Path
    url: str
    log: Path | None = None
    description: str = ""

    def _pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def stop(self, wait_seconds: float = 60.0) -> None:
        pid = self._pid()
        if pid is None:
            raise EngineControlError(f"no engine running with the pid in {self.pidfile}")
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except OSError:
                return
            time.sleep(0.2)
        raise EngineControlError(f"dockerd (pid {pid}) did not stop within {wait_seconds:.0f}s")

    def start(self, wait_seconds: float = 90.0) -> None:
        if self._pid() is None:
            out = self.log.open("ab") if self.log is not None else subprocess.DEVNULL
            try:
                subprocess.Popen(
                    self.argv,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    cwd="/",
                )
            finally:
                if self.log is not None and not isinstance(out, int):
                    out.close()
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            if _answers(self.url):
                return
            time.sleep(0.25)
        raise EngineControlError(
            f"the engine at {self.url} did not answer within {wait_seconds:.0f}s"
        )


def _answers(url: str) -> bool:
    import docker

    try:
        docker.DockerClient(base_url=url, timeout=5).ping()
    except Exception:
        return False
    return True


def engine_control(url: str, environ: dict[str, str] | None = None) -> EngineControl:
    """How to restart the engine at `url`; EngineControlError if the run may not."""
    env = dict(os.environ) if environ is None else environ
    command = env.get(ENV_CMD, "").strip()
    if command:
        pidfile = env.get(ENV_PIDFILE, "").strip()
        if not pidfile:
            raise EngineControlError(f"{ENV_CMD} is set: set {ENV_PIDFILE} to its pid file too")
        log = env.get(ENV_LOG, "").strip()
        return CommandEngine(
            shlex.split(command),
            Path(pidfile),
            url,
            Path(log) if log else None,
            description=f"the engine of {pidfile}",
        )
    if url == f"unix://{lab_engine.PRIVATE_SOCKET}":
        return PrivateEngine()
    raise EngineControlError(
        f"the engine at {url} is not the lab's private one: set {ENV_CMD} and {ENV_PIDFILE}"
        " to let the fault run restart it, or pass --no-engine"
    )
