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
    mode = "full-copy"                 # or "notify" (postmaster copies, headers only)

    [ses]
    identities = ["example.org"]       # checked by doctor; install needs --ses-identity

    store = "~/.local/share/dsnwatch/dsnwatch.sqlite"   # the audit timeline
    retention = "365d"                 # how long it keeps rows; "" keeps them forever

    [imap]                             # the central mailbox
    host = "mail.example.org"
    port = 993
    tls = "ssl"                        # or "starttls"; "plain" only for a lab
    user = ""                          # empty: the mailbox address above
    password_file = "~/.config/dsnwatch/imap.pass"   # or password = ..., password_command = ...
    ca = ""                            # a CA file when the certificate is not public
    folder = "INBOX"

    [smtp]                             # the sender mailbox that test bounces go out from
    host = "mail.example.org"
    port = 587
    tls = "starttls"
    user = "bounce-test@example.org"
    password_command = ["pass", "show", "mail/bounce-test"]

    [tests]
    remote_target = "example.net"      # a real domain whose server refuses unknown users

Every setting can be overridden by an environment variable `DSNWATCH_<NAME>`
(`DSNWATCH_IMAP_PASSWORD`, `DSNWATCH_MAILBOX`, `DSNWATCH_STORE`, ...; see `_ENV_FIELDS`),
and both by command-line flags.

    [host]                             # runtime = "host" only
    postfix_config_dir = "/etc/postfix"
    sieve_before = "/etc/dovecot/sieve/global_sieve_before.sieve"
    sieve_after = ""
    restart_postfix = ["systemctl", "restart", "postfix"]
    restart_dovecot = ["systemctl", "restart", "dovecot"]
    log_files = ["/var/log/mail.log"]  # none: follow journalctl for postfix and dovecot
"""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from dsnwatch.mailbox import ImapSettings

RuntimeKind = Literal["docker", "host"]
TlsMode = Literal["ssl", "starttls", "plain"]
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
    # Mail logs to follow; none: the journal of the postfix and dovecot units.
    log_files: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Config:
    """Everything dsnwatch needs to know about the mail server it watches."""

    runtime: RuntimeKind = "docker"
    mailbox: str = ""
    compose_project: str = "mailcowdockerized"
    docker_host: str = ""
    notify_classes: tuple[str, ...] = NOTIFY_CLASSES
    postfix_mode: PostfixMode = "full-copy"
    ses_identities: tuple[str, ...] = ()
    imap_host: str = ""
    imap_port: int = 993
    imap_password: str = field(default="", repr=False)
    imap_ca: str = ""
    imap_user: str = ""  # empty: the central mailbox address
    imap_tls: TlsMode = "ssl"
    imap_folder: str = "INBOX"
    imap_verify: bool = True
    store: str = field(default_factory=lambda: str(default_store_path()))
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_tls: TlsMode = "starttls"
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_ca: str = ""
    remote_target: str = ""  # the domain remote test bounces go to
    retention: str = "365d"  # how long the timeline keeps rows; "" keeps them forever
    source: str = "defaults"  # which file the settings came from
    host: HostPaths = field(default_factory=HostPaths)

    @property
    def retention_seconds(self) -> float:
        """The retention in seconds; 0 keeps everything."""
        return parse_duration(self.retention) if self.retention.strip() else 0.0

    def imap_settings(self) -> ImapSettings:
        """How to reach the central mailbox, or ConfigError saying what is missing."""
        from dsnwatch.mailbox import ImapSettings

        user = self.imap_user or self.mailbox
        missing = [
            name
            for name, value in (("imap.host", self.imap_host), ("imap user or mailbox", user))
            if not value
        ]
        if not self.imap_password:
            missing.append("imap.password (or password_file, password_command)")
        if missing:
            raise ConfigError(f"{self.source}: set {', '.join(missing)} to read the mailbox")
        return ImapSettings(
            host=self.imap_host,
            port=self.imap_port,
            user=user,
            password=self.imap_password,
            tls=self.imap_tls,
            ca=self.imap_ca,
            folder=self.imap_folder,
            verify=self.imap_verify,
        )

    def shown(self) -> dict[str, Any]:
        """The effective settings for `config show`, passwords masked."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if name.endswith("password"):
                value = "********" if value else ""
            elif isinstance(value, HostPaths):
                value = {k: getattr(value, k) for k in value.__dataclass_fields__}
            elif isinstance(value, tuple):
                value = list(value)
            out[name] = value
        return out


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> float:
    """Seconds in `30s`, `10m`, `2h`, `7d`, `1w` (a bare number is seconds)."""
    m = _DURATION.match(text)
    if m is None:
        raise ConfigError(f"{text!r} is not a duration: use e.g. 30s, 10m, 2h, 7d")
    return float(m.group(1)) * _UNITS[m.group(2)]


def default_store_path() -> Path:
    """`$XDG_DATA_HOME/dsnwatch/dsnwatch.sqlite`."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "dsnwatch" / "dsnwatch.sqlite"


def lab_config_paths() -> list[Path]:
    """Where `dsnwatch lab up` writes the lab's connection settings."""
    # The lab this checkout runs comes before the one a user config points at.
    paths: list[Path] = []
    if env := os.environ.get("DSNWATCH_LAB_DIR"):
        paths.append(Path(env) / "lab.toml")
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "pyproject.toml").is_file():
        paths.append(checkout / ".lab" / "lab.toml")
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    paths.append(Path(base) / "dsnwatch" / "lab.toml")
    return paths


def default_paths() -> list[Path]:
    """Where the configuration is looked for when no path is given."""
    paths: list[Path] = []
    if env := os.environ.get("DSNWATCH_CONFIG"):
        paths.append(Path(env))
    paths.append(Path.home() / ".config" / "dsnwatch" / "config.toml")
    paths.append(Path("/etc/dsnwatch/config.toml"))
    return paths


def load_config(
    path: str | Path | None = None, *, lab: bool = False, environ: dict[str, str] | None = None
) -> Config:
    """The effective configuration: a file, then `DSNWATCH_*` variables over it.

    The file is `path` when given, else the first of `default_paths()` that exists,
    else the settings the lab wrote (so a machine with only the lab needs no
    configuration at all). `lab=True` takes the lab's settings whatever else exists.
    """
    env = os.environ if environ is None else environ
    if lab:
        found = [p for p in lab_config_paths() if p.exists()]
        if not found:
            raise ConfigError("no lab settings found: run `dsnwatch lab up` first")
        cfg = config_from_lab(_read(found[0]), source=str(found[0]))
    elif path is not None:
        if not Path(path).exists():
            raise ConfigError(f"{path}: no such configuration file; create it or drop --config")
        cfg = config_from_dict(_read(Path(path)), source=str(path))
    elif candidates := [p for p in default_paths() if p.exists()]:
        cfg = config_from_dict(_read(candidates[0]), source=str(candidates[0]))
    elif found := [p for p in lab_config_paths() if p.exists()]:
        cfg = config_from_lab(_read(found[0]), source=str(found[0]))
    else:
        cfg = Config()
    _apply_env(cfg, env)
    return cfg


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read it ({exc.strerror}); check its permissions"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}; fix the TOML syntax") from exc


# DSNWATCH_<NAME> -> Config field; numbers and booleans are converted.
_ENV_FIELDS = {
    "RUNTIME": "runtime",
    "MAILBOX": "mailbox",
    "DOCKER_PROJECT": "compose_project",
    "DOCKER_HOST": "docker_host",
    "IMAP_HOST": "imap_host",
    "IMAP_PORT": "imap_port",
    "IMAP_USER": "imap_user",
    "IMAP_PASSWORD": "imap_password",
    "IMAP_TLS": "imap_tls",
    "IMAP_CA": "imap_ca",
    "IMAP_FOLDER": "imap_folder",
    "IMAP_VERIFY": "imap_verify",
    "STORE": "store",
    "SMTP_HOST": "smtp_host",
    "SMTP_PORT": "smtp_port",
    "SMTP_USER": "smtp_user",
    "SMTP_PASSWORD": "smtp_password",
    "SMTP_TLS": "smtp_tls",
    "SMTP_CA": "smtp_ca",
}


def _apply_env(cfg: Config, env: Any) -> None:
    for suffix, name in _ENV_FIELDS.items():
        raw = env.get(f"DSNWATCH_{suffix}")
        if raw is None:
            continue
        current = getattr(cfg, name)
        value: Any = raw
        if isinstance(current, bool):
            value = raw.strip().lower() in ("1", "true", "yes", "on")
        elif isinstance(current, int):
            try:
                value = int(raw)
            except ValueError:
                raise ConfigError(f"DSNWATCH_{suffix}={raw!r} is not a number") from None
        setattr(cfg, name, value)
    _check_choices(cfg, "environment")


def _check_choices(cfg: Config, source: str) -> None:
    for name in ("imap_tls", "smtp_tls"):
        if getattr(cfg, name) not in ("ssl", "starttls", "plain"):
            raise ConfigError(f'{source}: {name} must be "ssl", "starttls" or "plain"')
    if cfg.runtime not in ("docker", "host"):
        raise ConfigError(f'{source}: runtime must be "docker" or "host", not {cfg.runtime!r}')


def secret(table: dict[str, Any], key: str, source: str) -> str:
    """A password from `key`, `key_file` or `key_command` of a table (first one set)."""
    if table.get(key):
        return str(table[key])
    if file := table.get(f"{key}_file"):
        try:
            return Path(str(file)).expanduser().read_text().strip()
        except OSError as exc:
            raise ConfigError(f"{source}: cannot read {key}_file {file}: {exc.strerror}") from exc
    if command := table.get(f"{key}_command"):
        argv = command if isinstance(command, list) else ["sh", "-c", str(command)]
        try:
            done = subprocess.run(
                [str(a) for a in argv], capture_output=True, text=True, timeout=30, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ConfigError(f"{source}: {key}_command could not run: {exc}") from exc
        if done.returncode != 0:
            # The command's output may hold the secret; say only that it failed.
            raise ConfigError(f"{source}: {key}_command exited with {done.returncode}")
        return done.stdout.strip()
    return ""


def config_from_lab(data: dict[str, Any], source: str = "lab.toml") -> Config:
    """The configuration that connects dsnwatch to the lab, from the TOML the lab writes."""
    cfg = Config(source=source)
    lab = _table(data, "lab", source)
    docker = _table(data, "docker", source)
    imap = _table(data, "imap", source)
    smtp = _table(data, "smtp", source)
    cfg.mailbox = str(lab.get("monitor", ""))
    cfg.compose_project = str(docker.get("project", cfg.compose_project))
    cfg.docker_host = str(docker.get("host", ""))
    cfg.imap_host = str(imap.get("host", ""))
    cfg.imap_port = int(imap.get("port", cfg.imap_port))
    cfg.imap_user = str(imap.get("user", ""))
    cfg.imap_password = secret(imap, "password", source)
    cfg.imap_tls = imap.get("tls", cfg.imap_tls)
    cfg.imap_ca = str(imap.get("ca", ""))
    cfg.imap_folder = str(imap.get("mailbox", cfg.imap_folder))
    cfg.smtp_host = str(smtp.get("host", ""))
    cfg.smtp_port = int(smtp.get("port", cfg.smtp_port))
    cfg.smtp_tls = smtp.get("tls", cfg.smtp_tls)
    cfg.smtp_user = str(smtp.get("user", ""))
    cfg.smtp_password = secret(smtp, "password", source)
    cfg.smtp_ca = str(smtp.get("ca", ""))
    cfg.remote_target = str(lab.get("remote_domain", ""))
    lab_dir = lab.get("dir")
    if lab_dir:
        cfg.store = str(Path(str(lab_dir)) / "dsnwatch.sqlite")
    _check_choices(cfg, source)
    return cfg


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
    cfg.imap_password = secret(imap, "password", source)
    cfg.imap_ca = str(imap.get("ca", ""))
    cfg.imap_user = str(imap.get("user", ""))
    cfg.imap_tls = imap.get("tls", cfg.imap_tls)
    cfg.imap_folder = str(imap.get("folder", cfg.imap_folder))
    cfg.imap_verify = bool(imap.get("verify", True))
    smtp = _table(data, "smtp", source)
    cfg.smtp_host = str(smtp.get("host", ""))
    cfg.smtp_port = int(smtp.get("port", cfg.smtp_port))
    cfg.smtp_tls = smtp.get("tls", cfg.smtp_tls)
    cfg.smtp_user = str(smtp.get("user", ""))
    cfg.smtp_password = secret(smtp, "password", source)
    cfg.smtp_ca = str(smtp.get("ca", ""))
    tests = _table(data, "tests", source)
    cfg.remote_target = str(tests.get("remote_target", ""))
    if "retention" in data:
        cfg.retention = str(data["retention"])
        parse_duration(cfg.retention or "0")
    if "store" in data:
        cfg.store = str(Path(str(data["store"])).expanduser())
    cfg.source = source
    _check_choices(cfg, source)
    host = _table(data, "host", source)
    for name in ("postfix_config_dir", "sieve_before", "sieve_after"):
        if name in host:
            setattr(cfg.host, name, str(host[name]))
    for name in ("restart_postfix", "restart_dovecot", "log_files"):
        if name in host:
            setattr(cfg.host, name, list(_strings(host[name], f"host.{name}", source)))
    return cfg
