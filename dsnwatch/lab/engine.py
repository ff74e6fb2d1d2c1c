"""Find a Docker engine, or start a private one (root on Linux, no engine running).

The private engine follows the recipe that works on machines without a system
Docker service: vfs storage, no bridge and no iptables (the lab's containers use
the host network), its own data root and socket under /run/dsnwatch.

    python -m dsnwatch.lab.engine start | stop | status
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PRIVATE_RUN_DIR = Path(os.environ.get("DSNWATCH_ENGINE_RUN_DIR", "/run/dsnwatch"))
PRIVATE_DATA_DIR = Path(os.environ.get("DSNWATCH_ENGINE_DATA_DIR", "/var/lib/dsnwatch"))
PRIVATE_SOCKET = PRIVATE_RUN_DIR / "docker.sock"
PRIVATE_PIDFILE = PRIVATE_RUN_DIR / "docker.pid"
PRIVATE_LOG = PRIVATE_DATA_DIR / "dockerd.log"


class EngineError(Exception):
    """No usable Docker engine; the message is one line saying what to do."""


@dataclass(frozen=True, slots=True)
class Engine:
    """A reachable engine: its URL and an SDK client bound to it."""

    url: str
    client: Any


def candidate_urls() -> list[str]:
    """Engine URLs to try: `DOCKER_HOST` alone if set, else the usual sockets."""
    env = os.environ.get("DOCKER_HOST")
    if env:
        return [env]
    urls = ["unix:///var/run/docker.sock"]
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        urls.append(f"unix://{runtime}/docker.sock")
    urls.append(f"unix://{PRIVATE_SOCKET}")
    return urls


def _client(url: str, timeout: int = 120) -> Any:
    import docker

    return docker.DockerClient(base_url=url, timeout=timeout)


def _ping(url: str) -> Any | None:
    if url.startswith("unix://") and not Path(url[len("unix://") :]).exists():
        return None
    try:
        client = _client(url)
        client.ping()
    except Exception:
        return None
    return client


def find_engine() -> Engine:
    """The first engine that answers, or EngineError with what to do."""
    urls = candidate_urls()
    for url in urls:
        client = _ping(url)
        if client is not None:
            return Engine(url, client)
    if os.environ.get("DOCKER_HOST"):
        hint = "check DOCKER_HOST, or unset it to use the usual sockets"
    elif can_start_private():
        hint = "run `make lab` (or `dsnwatch lab engine start`) to start a private one"
    else:
        hint = "start Docker, or set DOCKER_HOST"
    raise EngineError(f"no Docker engine reachable at {', '.join(urls)}: {hint}")


def can_start_private() -> bool:
    """True where a private dockerd can be started: root on Linux with dockerd."""
    return (
        sys.platform.startswith("linux")
        and hasattr(os, "geteuid")
        and os.geteuid() == 0
        and shutil.which("dockerd") is not None
    )


def dockerd_command() -> list[str]:
    """The dockerd command line of the private engine."""
    return [
        "dockerd",
        "--iptables=false",
        "--ip6tables=false",
        "--bridge=none",
        "--storage-driver=vfs",
        "--data-root",
        str(PRIVATE_DATA_DIR / "docker"),
        "--exec-root",
        str(PRIVATE_RUN_DIR / "exec"),
        "--pidfile",
        str(PRIVATE_PIDFILE),
        "--host",
        f"unix://{PRIVATE_SOCKET}",
        "--default-ulimit",
        "nofile=4096:4096",
        "--default-ulimit",
        "nproc=4096:4096",
    ]


def _private_pid() -> int | None:
    try:
        pid = int(PRIVATE_PIDFILE.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def start_private(wait_seconds: float = 90.0) -> Engine:
    """Start the private dockerd (or find it running) and wait until it answers."""
    url = f"unix://{PRIVATE_SOCKET}"
    client = _ping(url)
    if client is not None:
        return Engine(url, client)
    if not can_start_private():
        if shutil.which("dockerd") is None:
            raise EngineError("dockerd is not installed: apt-get install docker.io")
        raise EngineError("a private Docker engine needs root on Linux")
    if _private_pid() is None:
        PRIVATE_RUN_DIR.mkdir(parents=True, exist_ok=True)
        PRIVATE_DATA_DIR.mkdir(parents=True, exist_ok=True)
        with PRIVATE_LOG.open("ab") as log:
            subprocess.Popen(
                dockerd_command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd="/",
            )
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        client = _ping(url)
        if client is not None:
            return Engine(url, client)
        time.sleep(0.25)
    raise EngineError(
        f"the private dockerd did not answer within {wait_seconds:.0f}s: see {PRIVATE_LOG}"
    )


def stop_private(wait_seconds: float = 30.0) -> bool:
    """Stop the private dockerd by its pid file; False if it was not running."""
    pid = _private_pid()
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            return True
        time.sleep(0.2)
    raise EngineError(f"dockerd (pid {pid}) did not stop within {wait_seconds:.0f}s")


def stop_hint() -> str:
    """How to stop the private engine."""
    return f"stop it with `dsnwatch lab engine stop` (or: kill $(cat {PRIVATE_PIDFILE}))"


def main(argv: list[str] | None = None) -> int:
    """`python -m dsnwatch.lab.engine start|stop|status`."""
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "status"
    try:
        if command == "start":
            engine = start_private()
            print(f"Docker engine up at {engine.url}; {stop_hint()}")
        elif command == "ensure":
            try:
                engine = find_engine()
                print(f"Docker engine reachable at {engine.url}")
            except EngineError:
                engine = start_private()
                print(f"started a private Docker engine at {engine.url}; {stop_hint()}")
        elif command == "stop":
            print(
                "private Docker engine stopped" if stop_private() else "no private engine running"
            )
        elif command == "status":
            engine = find_engine()
            print(f"Docker engine reachable at {engine.url}")
        else:
            print("usage: python -m dsnwatch.lab.engine start|ensure|stop|status", file=sys.stderr)
            return 2
    except EngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
