"""The [tests] table: read, checked against the target rules at load."""

from __future__ import annotations

from pathlib import Path

import pytest

from dsnwatch.config import Config, ConfigError, load_config
from dsnwatch.tester.settings import tester_settings as read_settings

BASE = """
mailbox = "dsn-monitor@example.org"
[smtp]
host = "mail.example.org"
user = "bounce-test@example.org"
password = "pw"
"""


def _cfg(tmp_path: Path, extra: str) -> Config:
    path = tmp_path / "config.toml"
    path.write_text(BASE + extra)
    return load_config(path, environ={})


def test_defaults_take_the_sender_from_smtp(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, '[tests]\nremote_target = "example.net"\n')
    settings = read_settings(cfg, environ={})
    assert settings.sender == "bounce-test@example.org"
    assert settings.remote_target == "example.net"
    assert settings.local_domain == "dsnwatch-test.invalid"
    assert settings.min_interval == 60
    assert settings.ses_route == "postfix"


def test_a_local_domain_outside_invalid_is_refused_at_load(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, '[tests]\nlocal_domain = "example.com"\n')
    with pytest.raises(ConfigError, match=r"\.invalid"):
        read_settings(cfg, environ={})


def test_a_remote_target_that_is_our_own_domain_is_refused_at_load(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, '[tests]\nremote_target = "example.org"\n')
    with pytest.raises(ConfigError, match="own domain"):
        read_settings(cfg, environ={})


def test_min_interval_comes_from_the_environment_first(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "[tests]\nmin_interval = 300\n")
    assert read_settings(cfg, environ={}).min_interval == 300
    env = {"DSNWATCH_TESTS_MIN_INTERVAL": "5"}
    assert read_settings(cfg, environ=env).min_interval == 5


def test_ses_smtp_route_needs_its_server(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, '[tests]\nses_route = "smtp"\n')
    with pytest.raises(ConfigError, match="ses_smtp"):
        read_settings(cfg, environ={})
    cfg = _cfg(
        tmp_path,
        '[tests]\nses_route = "smtp"\nses_region = "eu-west-1"\n'
        '[tests.ses_smtp]\nuser = "AKIA"\npassword = "x"\n',
    )
    settings = read_settings(cfg, environ={})
    assert settings.ses_smtp.host == "email-smtp.eu-west-1.amazonaws.com"


def test_an_unknown_ses_route_is_refused(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, '[tests]\nses_route = "carrier-pigeon"\n')
    with pytest.raises(ConfigError, match="ses_route"):
        read_settings(cfg, environ={})
