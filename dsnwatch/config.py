"""dsnwatch's configuration: one small TOML file, every field optional.

Looked up in this order: the path given on the command line, `$DSNWATCH_CONFIG`,
`~/.config/dsnwatch/config.toml`, `/etc/dsnwatch/config.toml`. Example:

    runtime = "docker"                 # or "host" for a plain Postfix + Dovecot server
    mailbox = "dsn-monitor@example.org"

    [docker]
    project = "mailcowdockerized"      # COMPOSE_PROJECT_NAME from mailcow.conf
    host = ""                          # empty: DOCKER_HOST or the local socket

    [postfix]
    notify_classes = ["bounce", "2bounce", "delay"]
    mode = "notify"                    # or "full-copy"

    [ses]
    identities = ["example.org"]       # checked by doctor; install needs --ses-identity

    [imap]                             # for doctor's login check
    host = "mail.example.org"
    port = 993
    password = "..."
    ca = ""                            # a CA file when the certificate is not public

    [host]                             # runtime = "host" only
    postfix_config_dir = "/etc/postfix"
    sieve_before = "/etc/dovecot/sieve/global_sieve_before.sieve"
    sieve_after = ""
    restart_postfix = ["systemctl", "restart", "postfix"]
    restart_dovecot = ["systemctl", "restart", "dovecot"]
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

RuntimeKind = Literal["docker", "host"]
PostfixMode = Literal["notify", "full-copy"]

NOTIFY_CLASSES = ("bounce", "2bounce", "delay")


class ConfigError(ValueError):
    """The configuration file cannot be used; the message says what to fix."""


@dataclass(slots=True)
class HostPaths:
    """Where things live on a plain Postfix + Dovecot host."""

    postfix_config_dir: str = "/etc/postfix"
    sieve_before: str = "/etc/dovecot/sieve/global_sieve_before.sieve"
    sieve_after: str = ""
    restart_postfix: list[str] = field(default_factory=lambda: ["systemctl", "restart", "postfix"])
    restart_dovecot: list[str] = field(default_factory=lambda: ["systemctl", "restart", "dovecot"])


@dataclass(slots=True)
class Config:
    """Everything dsnwatch needs to know about the mail server it watches."""

    runtime: RuntimeKind = "docker"
    mailbox: str = ""
    compose_project: str = "mailcowdockerized"
    docker_host: str = ""
    notify_classes: tuple[str, ...] = NOTIFY_CLASSES
    postfix_mode: PostfixMode = "notify"
    ses_identities: tuple[str, ...] = ()
    imap_host: str = ""
    imap_port: int = 993
    imap_password: str = ""
    imap_ca: str = ""
    host: HostPaths = field(default_factory=HostPaths)


def default_paths() -> list[Path]:
    """Where the configuration is looked for when no path is given."""
    paths: list[Path] = []
    if env := os.environ.get("DSNWATCH_CONFIG"):
        paths.append(Path(env))
    paths.append(Path.home() / ".config" / "dsnwatch" / "config.toml")
    paths.append(Path("/etc/dsnwatch/config.toml"))
    return paths


def load_config(path: str | Path | None = None) -> Config:
    """Read the configuration; defaults when no file exists (unless `path` was named)."""
    if path is not None:
        candidates = [Path(path)]
        if not candidates[0].exists():
            raise ConfigError(f"{path}: no such configuration file; create it or drop --config")
    else:
        candidates = [p for p in default_paths() if p.exists()]
    if not candidates:
        return Config()
    try:
        data = tomllib.loads(candidates[0].read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{candidates[0]}: {exc}; fix the TOML syntax") from exc
    return config_from_dict(data, source=str(candidates[0]))


def _table(data: dict[str, Any], key: str, source: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: [{key}] must be a table")
    return value


def _strings(value: Any, name: str, source: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{source}: {name} must be a list of strings")
    return tuple(value)


def config_from_dict(data: dict[str, Any], source: str = "config") -> Config:
    """Build a Config from parsed TOML, checking the few values that have a fixed set."""
    cfg = Config()
    runtime = data.get("runtime", cfg.runtime)
    if runtime not in ("docker", "host"):
        raise ConfigError(f'{source}: runtime must be "docker" or "host", not {runtime!r}')
    cfg.runtime = runtime
    cfg.mailbox = str(data.get("mailbox", ""))
    docker = _table(data, "docker", source)
    cfg.compose_project = str(docker.get("project", cfg.compose_project))
    cfg.docker_host = str(docker.get("host", ""))
    postfix = _table(data, "postfix", source)
    if "notify_classes" in postfix:
        classes = _strings(postfix["notify_classes"], "postfix.notify_classes", source)
        unknown = [c for c in classes if c not in NOTIFY_CLASSES]
        if unknown:
            raise ConfigError(
                f"{source}: postfix.notify_classes may hold only {', '.join(NOTIFY_CLASSES)}"
            )
        cfg.notify_classes = classes
    mode = postfix.get("mode", cfg.postfix_mode)
    if mode not in ("notify", "full-copy"):
        raise ConfigError(f'{source}: postfix.mode must be "notify" or "full-copy"')
    cfg.postfix_mode = mode
    ses = _table(data, "ses", source)
    if "identities" in ses:
        cfg.ses_identities = _strings(ses["identities"], "ses.identities", source)
    imap = _table(data, "imap", source)
    cfg.imap_host = str(imap.get("host", ""))
    cfg.imap_port = int(imap.get("port", cfg.imap_port))
    cfg.imap_password = str(imap.get("password", ""))
    cfg.imap_ca = str(imap.get("ca", ""))
    host = _table(data, "host", source)
    for name in ("postfix_config_dir", "sieve_before", "sieve_after"):
        if name in host:
            setattr(cfg.host, name, str(host[name]))
    for name in ("restart_postfix", "restart_dovecot"):
        if name in host:
            setattr(cfg.host, name, list(_strings(host[name], f"host.{name}", source)))
    return cfg
