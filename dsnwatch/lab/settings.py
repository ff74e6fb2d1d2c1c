"""Where the lab lives, which ports it uses, its users, and the TOML it writes.

The lab keeps its state in one folder (default `.lab/` in a source checkout,
else `$XDG_STATE_HOME/dsnwatch/lab`, or `DSNWATCH_LAB_DIR`). `lab up` writes the
connection settings to `<lab dir>/lab.toml` and, from the command line, also to
`$XDG_CONFIG_HOME/dsnwatch/lab.toml`, where dsnwatch reads them.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_PORT_BASE = 24000
# Each service's port is the base plus the usual port number's tail.
PORT_OFFSETS: dict[str, int] = {
    "auth": 1,
    "lmtp": 24,
    "smtp": 25,
    "remote": 125,
    "imap": 143,
    "managesieve": 190,
    "ses": 225,
    "submission": 587,
    "reinject": 588,
    "imaps": 993,
}

PROJECT = "mailcowdockerized"
AUX_PROJECT = "dsnwatch-lab"
DOMAIN = "lab.test"
HOSTNAME = f"mail.{DOMAIN}"
REMOTE_DOMAIN = "remote.test"
REMOTE_HOSTNAME = f"mx.{REMOTE_DOMAIN}"
SES_HOSTNAME = "inbound-smtp.us-east-1.amazonaws.com"
FILED_FOLDER = "Filed"

# Local part -> role. The sender's mailbox gets the bounces of the tests.
USERS: dict[str, str] = {
    "dsn-monitor": "the central mailbox for every DSN",
    "alice": "the sender: her mailbox receives her bounces",
    "bob": "a plain recipient",
    "filer": f"a user whose own Sieve script files everything into '{FILED_FOLDER}'",
}


class LabError(Exception):
    """A lab operation that cannot go on; the message is one line for the user."""


def source_checkout() -> Path | None:
    """The repository folder when dsnwatch runs from a source checkout."""
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").is_file() and (root / "dsnwatch").is_dir():
        return root
    return None


def default_lab_dir() -> Path:
    """The lab's state folder: `DSNWATCH_LAB_DIR`, else `.lab/` in the checkout."""
    env = os.environ.get("DSNWATCH_LAB_DIR")
    if env:
        return Path(env).expanduser().resolve()
    root = source_checkout()
    if root is not None:
        return root / ".lab"
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "dsnwatch" / "lab"


def user_config_path() -> Path:
    """`$XDG_CONFIG_HOME/dsnwatch/lab.toml`: where dsnwatch looks for the lab."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "dsnwatch" / "lab.toml"


def default_port_base() -> int:
    """`DSNWATCH_LAB_PORT_BASE`, else 24000."""
    env = os.environ.get("DSNWATCH_LAB_PORT_BASE")
    if not env:
        return DEFAULT_PORT_BASE
    try:
        return check_port_base(int(env))
    except ValueError:
        raise LabError(f"DSNWATCH_LAB_PORT_BASE={env!r} is not a port number") from None


def check_port_base(base: int) -> int:
    """Refuse a base that would put a port below 1024 or above 65535."""
    if not 1024 <= base <= 65535 - max(PORT_OFFSETS.values()):
        raise LabError(
            f"port base {base} is out of range (1024..{65535 - max(PORT_OFFSETS.values())})"
        )
    return base


@dataclass(slots=True)
class LabSettings:
    """Everything that names the lab: folder, ports, users and their passwords."""

    lab_dir: Path = field(default_factory=default_lab_dir)
    port_base: int = field(default_factory=default_port_base)
    passwords: dict[str, str] = field(default_factory=dict)
    docker_host: str = ""

    def port(self, name: str) -> int:
        """The loopback port of one service (`smtp`, `submission`, `imaps`, ...)."""
        return self.port_base + PORT_OFFSETS[name]

    @property
    def ports(self) -> dict[str, int]:
        """Every service's port by name."""
        return {name: self.port(name) for name in PORT_OFFSETS}

    def address(self, local: str) -> str:
        """A lab user's address."""
        return f"{local}@{DOMAIN}"

    def password(self, local: str) -> str:
        """A lab user's password, made on first use and kept in lab.toml."""
        if local not in self.passwords:
            self.passwords[local] = secrets.token_urlsafe(12)
        return self.passwords[local]

    @property
    def mailcow_dir(self) -> Path:
        """The folder a mailcow install would live in (`/opt/mailcow-dockerized`)."""
        return self.lab_dir / "mailcow-dockerized"

    @property
    def ca_dir(self) -> Path:
        """Where the lab's certificate authority is kept."""
        return self.lab_dir / "ca"

    @property
    def ca_file(self) -> Path:
        """The lab CA certificate that clients trust."""
        return self.ca_dir / "ca.pem"

    @property
    def toml_path(self) -> Path:
        """`<lab dir>/lab.toml`."""
        return self.lab_dir / "lab.toml"

    @classmethod
    def load(cls, lab_dir: Path | None = None, port_base: int | None = None) -> LabSettings:
        """Settings of the lab in `lab_dir`, with the passwords and ports it already uses."""
        settings = cls(lab_dir=(lab_dir or default_lab_dir()).resolve())
        saved = read_toml(settings.toml_path)
        lab = saved.get("lab", {})
        if port_base is not None:
            settings.port_base = check_port_base(port_base)
        elif isinstance(lab.get("port_base"), int) and "DSNWATCH_LAB_PORT_BASE" not in os.environ:
            settings.port_base = check_port_base(lab["port_base"])
        users = saved.get("users", {})
        for local in USERS:
            entry = users.get(local)
            if isinstance(entry, dict) and isinstance(entry.get("password"), str):
                settings.passwords[local] = entry["password"]
        return settings

    def to_toml(self) -> dict[str, dict[str, Any]]:
        """The connection settings as TOML tables."""
        ca = str(self.ca_file)
        monitor = self.address("dsn-monitor")
        sender = self.address("alice")
        tables: dict[str, dict[str, Any]] = {
            "lab": {
                "dir": str(self.lab_dir),
                "port_base": self.port_base,
                "domain": DOMAIN,
                "hostname": HOSTNAME,
                "remote_domain": REMOTE_DOMAIN,
                "monitor": monitor,
                "ca": ca,
            },
            "docker": {"host": self.docker_host, "project": PROJECT},
            "imap": {
                "host": "127.0.0.1",
                "port": self.port("imaps"),
                "tls": "ssl",
                "starttls_port": self.port("imap"),
                "user": monitor,
                "password": self.password("dsn-monitor"),
                "ca": ca,
                "mailbox": "INBOX",
            },
            "smtp": {
                "host": "127.0.0.1",
                "port": self.port("submission"),
                "tls": "starttls",
                "user": sender,
                "password": self.password("alice"),
                "ca": ca,
                "inbound_port": self.port("smtp"),
            },
            "ports": dict(self.ports),
            "users": {},
        }
        for local, role in USERS.items():
            tables["users"][local] = {
                "address": self.address(local),
                "password": self.password(local),
                "role": role,
            }
        return tables


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file as a dict; an absent or unreadable file gives {}."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def dump_toml(tables: dict[str, dict[str, Any]], header: str = "") -> str:
    """Write tables of scalars (one level of sub-tables) as TOML text."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    for name, table in tables.items():
        scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
        subs = {k: v for k, v in table.items() if isinstance(v, dict)}
        if scalars or not subs:
            lines.append("")
            lines.append(f"[{name}]")
            lines.extend(f"{key} = {_toml_value(value)}" for key, value in scalars.items())
        for sub, values in subs.items():
            lines.append("")
            lines.append(f'[{name}."{sub}"]' if "-" in sub else f"[{name}.{sub}]")
            lines.extend(f"{key} = {_toml_value(value)}" for key, value in values.items())
    return "\n".join(lines).lstrip("\n") + "\n"


def write_toml(path: Path, tables: dict[str, dict[str, Any]], header: str = "") -> None:
    """Write a TOML file readable only by its owner (it holds passwords)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(dump_toml(tables, header))
    tmp.replace(path)
