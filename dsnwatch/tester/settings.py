"""The launcher's settings: the `[tests]` table of the configuration file.

    [tests]
    remote_target = "example.net"       # remote tests go to a fresh address there
    sender = ""                         # default: the [smtp] user
    local_domain = "dsnwatch-test.invalid"
    min_interval = 60                   # seconds between two runs of the same test
    ses_route = "postfix"               # how ses/complaint tests reach SES:
                                        # "postfix" (this server relays to SES),
                                        # "smtp" (the SES SMTP interface), "api" (boto3)
    ses_region = "eu-west-1"            # for "api" and the default "smtp" host
    log_files = ["/var/log/mail.log"]   # runtime = "host" only

    [tests.ses_smtp]                    # ses_route = "smtp"
    host = "email-smtp.eu-west-1.amazonaws.com"
    port = 587
    user = "AKIA..."
    password_command = ["pass", "show", "ses-smtp"]

`DSNWATCH_TESTS_MIN_INTERVAL` overrides min_interval. Every value that names a
recipient passes the target rules when it is read, so a bad one stops at load.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dsnwatch.config import Config, ConfigError, secret
from dsnwatch.tester.targets import TargetRefused, check_local_domain, check_remote_domain


@dataclass(slots=True)
class SesSmtp:
    """The SES SMTP interface (ses_route = "smtp")."""

    host: str = ""
    port: int = 587
    user: str = ""
    password: str = field(default="", repr=False)


@dataclass(slots=True)
class TesterSettings:
    """What the launcher needs beyond the core configuration."""

    __test__ = False  # not a pytest class, whatever its name

    remote_target: str = ""
    sender: str = ""
    local_domain: str = "dsnwatch-test.invalid"
    min_interval: float = 60.0
    ses_route: str = "postfix"
    ses_region: str = ""
    ses_smtp: SesSmtp = field(default_factory=SesSmtp)
    log_files: tuple[str, ...] = ("/var/log/mail.log",)


def _tests_table(cfg: Config) -> dict[str, Any]:
    """The `[tests]` table of the file the configuration came from, if any."""
    path = Path(cfg.source)
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return {}  # load_config already read this file; nothing new to say
    table = data.get("tests", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{cfg.source}: [tests] must be a table")
    return table


def tester_settings(cfg: Config, environ: dict[str, str] | None = None) -> TesterSettings:
    """The launcher's settings from the configuration; ConfigError on a bad value."""
    env = os.environ if environ is None else environ
    table = _tests_table(cfg)
    source = cfg.source
    out = TesterSettings(remote_target=cfg.remote_target)
    try:
        out.sender = str(table.get("sender", "")) or cfg.smtp_user
        out.local_domain = check_local_domain(str(table.get("local_domain", out.local_domain)))
        if out.remote_target:
            own = (cfg.mailbox.rpartition("@")[2], out.sender.rpartition("@")[2])
            out.remote_target = check_remote_domain(out.remote_target, own)
    except TargetRefused as exc:
        raise ConfigError(f"{source}: {exc}") from None
    raw_interval = env.get("DSNWATCH_TESTS_MIN_INTERVAL", table.get("min_interval", 60))
    try:
        out.min_interval = float(raw_interval)
    except (TypeError, ValueError):
        raise ConfigError(f"{source}: tests.min_interval must be a number of seconds") from None
    if out.min_interval < 0:
        raise ConfigError(f"{source}: tests.min_interval cannot be negative")
    out.ses_route = str(table.get("ses_route", "postfix"))
    if out.ses_route not in ("postfix", "smtp", "api"):
        raise ConfigError(f'{source}: tests.ses_route must be "postfix", "smtp" or "api"')
    out.ses_region = str(table.get("ses_region", ""))
    smtp = table.get("ses_smtp", {})
    if not isinstance(smtp, dict):
        raise ConfigError(f"{source}: [tests.ses_smtp] must be a table")
    host = str(smtp.get("host", ""))
    if not host and out.ses_region:
        host = f"email-smtp.{out.ses_region}.amazonaws.com"
    out.ses_smtp = SesSmtp(
        host=host,
        port=int(smtp.get("port", 587)),
        user=str(smtp.get("user", "")),
        password=secret(smtp, "password", source),
    )
    if out.ses_route == "smtp" and not (out.ses_smtp.host and out.ses_smtp.user):
        raise ConfigError(f"{source}: ses_route smtp needs [tests.ses_smtp] host and user")
    files = table.get("log_files")
    if files is not None:
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            raise ConfigError(f"{source}: tests.log_files must be a list of paths")
        out.log_files = tuple(files)
    return out
