"""The lab's containers: lay out the configuration, start, check, reset, remove.

Everything goes through the Docker Engine API (the `docker` SDK). The mailcow
containers carry the compose names and labels a real mailcow has, so dsnwatch
finds the lab the way it finds a mailcow: by `com.docker.compose.*` labels.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import socket
import ssl
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from dsnwatch.lab.engine import Engine, find_engine
from dsnwatch.lab.image import Progress, ensure_image
from dsnwatch.lab.settings import (
    AUX_PROJECT,
    DOMAIN,
    FILED_FOLDER,
    HOSTNAME,
    PROJECT,
    REMOTE_DOMAIN,
    REMOTE_HOSTNAME,
    SES_HOSTNAME,
    USERS,
    LabError,
    LabSettings,
    user_config_path,
    write_toml,
)

LAB_LABEL = "io.dsnwatch.lab"
CONFIG_LABEL = "io.dsnwatch.lab.config"
VMAIL_VOLUME = f"{PROJECT}_vmail-vol-1"
TOML_HEADER = (
    "Written by `dsnwatch lab up`: how to reach the dsnwatch lab.\n"
    "Passwords are for the lab only; the lab listens on 127.0.0.1 only."
)


def _quiet(message: str, transient: bool) -> None:
    del message, transient


@dataclass(frozen=True, slots=True)
class Service:
    """One lab container."""

    key: str
    project: str
    service: str
    probes: tuple[tuple[str, str], ...]
    tty: bool = False

    @property
    def name(self) -> str:
        """The container name, as Docker Compose v2 names it."""
        return f"{self.project}-{self.service}-1"


SERVICES: tuple[Service, ...] = (
    Service(
        "dovecot",
        PROJECT,
        "dovecot-mailcow",
        (
            ("imap", "imap"),
            ("imaps", "tls"),
            ("lmtp", "smtp"),
            ("auth", "tcp"),
            ("managesieve", "tcp"),
        ),
        tty=True,
    ),
    Service(
        "postfix",
        PROJECT,
        "postfix-mailcow",
        (("smtp", "smtp"), ("submission", "smtp"), ("reinject", "smtp")),
    ),
    Service("remote", AUX_PROJECT, "remote-mx", (("remote", "smtp"),)),
    Service("ses", AUX_PROJECT, "ses", (("ses", "smtp"),)),
)


@dataclass(slots=True)
class ServiceStatus:
    """What `lab status` says about one service."""

    service: str
    container: str
    state: str
    health: str
    ports: dict[str, bool] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Running, and every port answers."""
        return self.state == "running" and bool(self.ports) and all(self.ports.values())


@dataclass(slots=True)
class UpResult:
    """Timings of `lab up`."""

    image: str
    build_seconds: float
    start_seconds: float
    total_seconds: float
    created: bool


def _render(text: str, values: dict[str, str]) -> str:
    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise LabError(f"lab template names an unknown value: {name}")
        return values[name]

    return re.sub(r"\{\{(\w+)\}\}", sub, text)


def probe(port: int, kind: str, timeout: float = 2.0) -> bool:
    """True when the service on 127.0.0.1:port answers as `kind` expects."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
            if kind == "tcp":
                return True
            raw.settimeout(timeout)
            sock = raw
            if kind == "tls":
                # Only that TLS is up and IMAP answers; certificate checks are the clients' job.
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
                sock = context.wrap_socket(raw)
                kind = "imap"
            greeting = sock.recv(512)
            # Say goodbye, so the mail log shows a clean disconnect rather than a lost one.
            sock.sendall(b"a LOGOUT\r\n" if kind == "imap" else b"QUIT\r\n")
            sock.recv(512)
    except OSError:
        return False
    if kind == "smtp":
        return greeting.startswith(b"220")
    if kind == "imap":
        return greeting.startswith(b"* OK")
    return True


class Lab:
    """The lab on one Docker engine, laid out in one folder."""

    def __init__(
        self,
        settings: LabSettings | None = None,
        engine: Engine | None = None,
        progress: Progress = _quiet,
    ) -> None:
        self.settings = settings or LabSettings.load()
        self._engine = engine
        self.progress = progress

    # -- engine and containers -------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The Docker engine in use (found on first use)."""
        if self._engine is None:
            self._engine = find_engine()
        self.settings.docker_host = self._engine.url
        return self._engine

    @property
    def client(self) -> Any:
        """The Docker SDK client."""
        return self.engine.client

    def labels(self, svc: Service) -> dict[str, str]:
        """The compose labels of a service's container."""
        workdir = self.settings.mailcow_dir if svc.project == PROJECT else self.settings.lab_dir
        return {
            "com.docker.compose.project": svc.project,
            "com.docker.compose.service": svc.service,
            "com.docker.compose.container-number": "1",
            "com.docker.compose.oneoff": "False",
            "com.docker.compose.project.working_dir": str(workdir),
            LAB_LABEL: "1",
            CONFIG_LABEL: self.config_hash(),
        }

    def config_hash(self) -> str:
        """A hash of the stock configuration the containers were started with."""
        digest = hashlib.sha256()
        for key, value in sorted(self._values().items()):
            digest.update(f"{key}={value};".encode())
        for local in USERS:
            digest.update(f"{local}:{self.settings.password(local)};".encode())
        templates = resources.files("dsnwatch.lab") / "files" / "conf"
        for group in sorted(templates.iterdir(), key=lambda g: g.name):
            for item in sorted(group.iterdir(), key=lambda i: i.name):
                digest.update(f"{group.name}/{item.name}:".encode())
                digest.update(item.read_bytes())
        return digest.hexdigest()[:12]

    def container(self, svc: Service | str) -> Any | None:
        """A service's container, found by its compose labels (None if absent)."""
        if isinstance(svc, str):
            svc = self.service(svc)
        found = self.client.containers.list(
            all=True,
            filters={
                "label": [
                    f"com.docker.compose.project={svc.project}",
                    f"com.docker.compose.service={svc.service}",
                ]
            },
        )
        return found[0] if found else None

    @staticmethod
    def service(key: str) -> Service:
        """A service by key (`postfix`, `dovecot`, `remote`, `ses`) or compose name."""
        for svc in SERVICES:
            if key in (svc.key, svc.service, svc.name):
                return svc
        raise LabError(f"no lab service named {key!r}")

    # -- configuration ---------------------------------------------------------

    def _values(self) -> dict[str, str]:
        values = {f"{name}_port": str(port) for name, port in self.settings.ports.items()}
        values.update(
            domain=DOMAIN,
            hostname=HOSTNAME,
            remote_domain=REMOTE_DOMAIN,
            postmaster=f"postmaster@{DOMAIN}",
        )
        return values

    def _conf_dirs(self) -> dict[str, Path]:
        data = self.settings.mailcow_dir / "data"
        return {
            "postfix": data / "conf" / "postfix",
            "dovecot": data / "conf" / "dovecot",
            "ssl": data / "assets" / "ssl",
            "hooks-postfix": data / "hooks" / "postfix",
            "hooks-dovecot": data / "hooks" / "dovecot",
            "remote": self.settings.lab_dir / "remote" / "conf",
            "ses": self.settings.lab_dir / "ses" / "conf",
        }

    def write_config(self) -> None:
        """Lay out stock configuration (a lab that is (re)created starts as a stock mailcow)."""
        values = self._values()
        dirs = self._conf_dirs()
        for path in dirs.values():
            path.mkdir(parents=True, exist_ok=True)
        templates = resources.files("dsnwatch.lab") / "files" / "conf"
        for group, target in (
            ("postfix", "postfix"),
            ("dovecot", "dovecot"),
            ("remote", "remote"),
            ("ses", "ses"),
        ):
            for item in (templates / group).iterdir():
                dest = dirs[target] / item.name
                dest.write_text(_render(item.read_text(encoding="utf-8"), values), encoding="utf-8")
        s = self.settings
        (dirs["postfix"] / "lab_mailboxes").write_text(
            "".join(f"{s.address(u)}\t{DOMAIN}/{u}/\n" for u in USERS), encoding="utf-8"
        )
        (dirs["postfix"] / "lab_aliases").write_text(
            f"postmaster@{DOMAIN}\t{s.address('bob')}\n", encoding="utf-8"
        )
        users = dirs["dovecot"] / "lab_users"
        users.write_text(
            "".join(f"{s.address(u)}:{{PLAIN}}{s.password(u)}::::::\n" for u in USERS),
            encoding="utf-8",
        )
        users.chmod(0o640)
        user_sieve = dirs["dovecot"] / "user_sieve"
        user_sieve.mkdir(exist_ok=True)
        (user_sieve / f"{s.address('filer')}.sieve").write_text(
            "# filer's own script: every message is filed, so implicit keep is cancelled\n"
            "# and mailcow's global_sieve_after never runs for this user.\n"
            'require ["fileinto", "mailbox"];\n'
            f'fileinto :create "{FILED_FOLDER}";\n',
            encoding="utf-8",
        )
        (s.mailcow_dir / "mailcow.conf").write_text(
            "# The dsnwatch lab: a mailcow-shaped stack (see `dsnwatch lab status`).\n"
            f"MAILCOW_HOSTNAME={HOSTNAME}\n"
            f"COMPOSE_PROJECT_NAME={PROJECT}\n"
            "TZ=UTC\n",
            encoding="utf-8",
        )

    def ensure_certs(self, image: str) -> None:
        """Make the lab CA (once) and the server certificate, inside a container."""
        ssl_dir = self._conf_dirs()["ssl"]
        ca_dir = self.settings.ca_dir
        ca_dir.mkdir(parents=True, exist_ok=True)
        ssl_dir.mkdir(parents=True, exist_ok=True)
        if (ca_dir / "ca.pem").exists() and (ssl_dir / "cert.pem").exists():
            return
        self.progress("making the lab CA and server certificate", False)
        self.client.containers.run(
            image,
            ["lab-mkcerts", "/ca", "/ssl", HOSTNAME, HOSTNAME, "localhost"],
            volumes={
                str(ca_dir): {"bind": "/ca", "mode": "rw"},
                str(ssl_dir): {"bind": "/ssl", "mode": "rw"},
            },
            network_mode="none",
            remove=True,
            labels={LAB_LABEL: "1"},
        )
        if not (ssl_dir / "cert.pem").exists():
            raise LabError("the lab certificate was not made")

    # -- lifecycle ---------------------------------------------------------------

    def _create(self, svc: Service, image: str) -> Any:
        dirs = self._conf_dirs()
        ports = self.settings.ports
        health = " ".join(f"{port}:{ports[port]}" for port, _ in svc.probes)
        env = {"TZ": "UTC", "LAB_HEALTH": health, "COMPOSE_PROJECT_NAME": svc.project}
        volumes: dict[str, dict[str, str]] = {
            str(dirs["ssl"]): {"bind": "/etc/ssl/mail", "mode": "ro"},
        }
        if svc.key == "dovecot":
            command = ["lab-dovecot"]
            volumes[str(dirs["dovecot"])] = {"bind": "/etc/dovecot", "mode": "rw"}
            volumes[str(dirs["hooks-dovecot"])] = {"bind": "/hooks", "mode": "rw"}
            volumes[VMAIL_VOLUME] = {"bind": "/var/vmail", "mode": "rw"}
            env["MAILCOW_HOSTNAME"] = HOSTNAME
        else:
            command = ["lab-postfix"]
            conf = {"postfix": "postfix", "remote": "remote", "ses": "ses"}[svc.key]
            volumes[str(dirs[conf])] = {"bind": "/opt/postfix/conf", "mode": "rw"}
            env["MAILCOW_HOSTNAME"] = {
                "postfix": HOSTNAME,
                "remote": REMOTE_HOSTNAME,
                "ses": SES_HOSTNAME,
            }[svc.key]
            if svc.key == "postfix":
                volumes[str(dirs["hooks-postfix"])] = {"bind": "/hooks", "mode": "rw"}
        return self.client.containers.run(
            image,
            command,
            name=svc.name,
            detach=True,
            labels=self.labels(svc),
            network_mode="host",
            init=True,
            tty=svc.tty,
            environment=env,
            volumes=volumes,
            restart_policy={"Name": "unless-stopped"},
            healthcheck={
                "test": [
                    "CMD",
                    "/usr/local/bin/lab-health",
                    "dovecot" if svc.key == "dovecot" else "postfix",
                ],
                "interval": 5_000_000_000,
                "timeout": 5_000_000_000,
                "retries": 3,
                "start_period": 2_000_000_000,
            },
        )

    def _ensure_volume(self) -> None:
        import docker.errors

        try:
            self.client.volumes.get(VMAIL_VOLUME)
        except docker.errors.NotFound:
            self.client.volumes.create(
                VMAIL_VOLUME,
                labels={
                    "com.docker.compose.project": PROJECT,
                    "com.docker.compose.volume": "vmail-vol-1",
                    LAB_LABEL: "1",
                },
            )

    def _check_ports_free(self) -> None:
        for name, port in self.settings.ports.items():
            if probe(port, "tcp", timeout=0.5):
                raise LabError(
                    f"port {port} ({name}) on 127.0.0.1 is in use: stop what listens there,"
                    " or choose other ports with --port-base or DSNWATCH_LAB_PORT_BASE"
                )

    def _current(self, image: str) -> bool:
        for svc in SERVICES:
            ctr = self.container(svc)
            if ctr is None or ctr.status != "running":
                return False
            if image not in ctr.image.tags:
                return False
            wanted = self.labels(svc)
            for label in ("com.docker.compose.project.working_dir", CONFIG_LABEL):
                if ctr.labels.get(label) != wanted[label]:
                    return False
        return True

    def up(self, *, rebuild: bool = False, wait_seconds: float = 120.0) -> UpResult:
        """Build if needed, start every service, wait until all answer."""
        started = time.monotonic()
        self.settings.lab_dir.mkdir(parents=True, exist_ok=True)
        image = ensure_image(
            self.client, self.settings.lab_dir / "build", self.progress, rebuild=rebuild
        )
        built = time.monotonic()
        created = False
        if not self._current(image):
            self.down()
            self._check_ports_free()
            self.write_config()
            self.ensure_certs(image)
            self._ensure_volume()
            self.progress(f"starting {', '.join(svc.name for svc in SERVICES)}", False)
            with ThreadPoolExecutor(max_workers=len(SERVICES)) as pool:
                list(pool.map(lambda svc: self._create(svc, image), SERVICES))
            created = True
        self.wait_healthy(wait_seconds)
        self.write_settings()
        done = time.monotonic()
        return UpResult(image, built - started, done - built, done - started, created)

    def recreate(
        self,
        key: str,
        *,
        before_remove: Callable[[Any], None] | None = None,
        wait_seconds: float = 120.0,
    ) -> Any:
        """Stop one service's container, remove it and create it again (a new id).

        What compose does to a container whose definition changed; the others keep
        running. `before_remove` sees the stopped container (its log is complete then).
        """
        svc = self.service(key)
        old = self.container(svc)
        if old is None:
            raise LabError(f"{svc.name} is missing: run `dsnwatch lab up`")
        image = old.image.tags[0] if old.image.tags else old.image.id
        old.stop(timeout=10)
        old.reload()
        if before_remove is not None:
            before_remove(old)
        old.remove(force=True)
        new = self._create(svc, image)
        self.wait_healthy(wait_seconds)
        return new

    def wait_healthy(self, wait_seconds: float = 120.0) -> None:
        """Wait until every service answers on its ports; LabError after the deadline.

        A service that stops once and is started again by its restart policy is
        waited for (Postfix can lose a start to its own lock as a restart overlaps);
        one that keeps failing (three restarts in this wait), is dead, or stopped
        without a policy to start it again fails at once with its last log line.
        """
        deadline = time.monotonic() + wait_seconds
        pending = list(SERVICES)
        restarts: dict[str, int] = {}
        while pending:
            for svc in list(pending):
                ctr = self.container(svc)
                if ctr is None:
                    raise LabError(f"{svc.name} is missing: run `dsnwatch lab up`")
                count = int(ctr.attrs.get("RestartCount", 0) or 0)
                first = restarts.setdefault(svc.name, count)
                policy = (ctr.attrs.get("HostConfig") or {}).get("RestartPolicy") or {}
                stays_down = ctr.status == "exited" and policy.get("Name", "no") in ("", "no")
                if ctr.status == "dead" or stays_down or count - first >= 3:
                    raise LabError(f"{svc.name} failed to start: {self._last_log(ctr)}")
                if ctr.status == "running" and all(
                    probe(self.settings.port(p), kind) for p, kind in svc.probes
                ):
                    pending.remove(svc)
                    self.progress(f"{svc.name} is up", True)
            if not pending:
                break
            if time.monotonic() > deadline:
                names = ", ".join(
                    f"{svc.name} ({self._last_log(ctr)})"
                    for svc in pending
                    if (ctr := self.container(svc)) is not None
                )
                raise LabError(f"not answering after {wait_seconds:.0f}s: {names}")
            time.sleep(0.2)

    @staticmethod
    def _last_log(ctr: Any) -> str:
        """A container's last log line, and where to read the rest."""
        tail = ctr.logs(tail=5).decode("utf-8", "replace").strip().splitlines()
        last = tail[-1].strip() if tail else "no output"
        return f"{last} (see `docker logs {ctr.name}`)"

    def write_settings(self, also_user_config: bool = False) -> list[Path]:
        """Write lab.toml into the lab folder (and the user's config folder)."""
        self.settings.docker_host = self.engine.url
        tables = self.settings.to_toml()
        paths = [self.settings.toml_path]
        if also_user_config:
            paths.append(user_config_path())
        for path in paths:
            write_toml(path, tables, TOML_HEADER)
        return paths

    def down(self, *, volumes: bool = False) -> list[str]:
        """Remove the lab's containers (the image stays; volumes too unless asked)."""
        import docker.errors

        containers = self.client.containers.list(all=True, filters={"label": [LAB_LABEL]})

        def remove(ctr: Any) -> str:
            # Stop first: vfs cannot delete a root file system that is still being written.
            for attempt in range(5):
                try:
                    if ctr.status in ("running", "restarting"):
                        ctr.kill()
                    ctr.wait(timeout=30)
                    ctr.remove(force=True)
                    return str(ctr.name)
                except docker.errors.NotFound:
                    return str(ctr.name)
                except docker.errors.APIError:
                    if attempt == 4:
                        raise
                    time.sleep(0.5)
                    ctr.reload()
            return str(ctr.name)

        with ThreadPoolExecutor(max_workers=4) as pool:
            removed = list(pool.map(remove, containers))
        if volumes:
            with contextlib.suppress(docker.errors.NotFound):
                self.client.volumes.get(VMAIL_VOLUME).remove(force=True)
        return removed

    def status(self) -> list[ServiceStatus]:
        """Each service's container state, Docker health and port answers."""
        out = []
        for svc in SERVICES:
            ctr = self.container(svc)
            if ctr is None:
                out.append(ServiceStatus(svc.service, svc.name, "missing", "-"))
                continue
            health = ctr.attrs.get("State", {}).get("Health", {}).get("Status", "-")
            ports = {
                f"{p}:{self.settings.port(p)}": probe(self.settings.port(p), kind)
                for p, kind in svc.probes
            }
            out.append(ServiceStatus(svc.service, ctr.name, ctr.status, health, ports))
        return out

    def exec(self, svc: Service | str, command: list[str], user: str = "root") -> str:
        """Run a command in a service's container; LabError when it fails."""
        ctr = self.container(svc)
        if ctr is None or ctr.status != "running":
            name = svc if isinstance(svc, str) else svc.name
            raise LabError(f"{name} is not running: run `dsnwatch lab up`")
        code, (out, err) = ctr.exec_run(command, user=user, demux=True)
        text = (out or b"").decode("utf-8", "replace")
        if code != 0:
            why = ((err or b"") + (out or b"")).decode("utf-8", "replace").strip()
            first = why.splitlines()[0] if why else f"exit code {code}"
            raise LabError(f"`{' '.join(command)}` failed in {ctr.name}: {first}")
        return text

    def reset(self) -> None:
        """Empty every mailbox, forget Sieve duplicates, and drop queued mail."""
        self.exec("dovecot", ["doveadm", "expunge", "-A", "mailbox", "*", "all"])
        self.exec(
            "dovecot",
            ["find", "/var/vmail", "-name", ".dovecot.lda-dupes*", "-delete"],
        )
        for key in ("postfix", "remote", "ses"):
            self.exec(key, ["postsuper", "-d", "ALL"])


def format_status(rows: list[ServiceStatus]) -> str:
    """`lab status` as a small table."""
    lines = [f"{'service':<17} {'state':<9} {'health':<10} ports"]
    for row in rows:
        ports = " ".join(f"{name}={'ok' if ok else 'DOWN'}" for name, ok in row.ports.items())
        lines.append(f"{row.service:<17} {row.state:<9} {row.health:<10} {ports or '-'}")
    return "\n".join(lines)
