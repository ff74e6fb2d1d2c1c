"""Configuration: file, environment and lab settings; passwords never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from dsnwatch.config import ConfigError, config_from_dict, config_from_lab, load_config


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('mailbox = "dsn@a.example"\n[imap]\nhost = "imap.a.example"\nport = 993\n')
    cfg = load_config(path, environ={"DSNWATCH_IMAP_PORT": "1993", "DSNWATCH_MAILBOX": "x@b"})
    assert (cfg.imap_host, cfg.imap_port, cfg.mailbox) == ("imap.a.example", 1993, "x@b")


def test_bad_number_in_environment_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("")
    with pytest.raises(ConfigError, match="DSNWATCH_IMAP_PORT"):
        load_config(path, environ={"DSNWATCH_IMAP_PORT": "abc"})


def test_password_from_file_and_command(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    cfg = config_from_dict({"imap": {"password_file": str(secret)}})
    assert cfg.imap_password == "s3cret"
    cfg = config_from_dict({"smtp": {"password_command": ["echo", "fromcmd"]}})
    assert cfg.smtp_password == "fromcmd"


def test_failing_password_command_does_not_echo_its_output() -> None:
    with pytest.raises(ConfigError) as info:
        config_from_dict({"imap": {"password_command": "echo leaked-secret; exit 3"}})
    assert "leaked-secret" not in str(info.value)
    assert "exited with 3" in str(info.value)


def test_passwords_are_masked_everywhere_they_are_shown() -> None:
    cfg = config_from_dict({"imap": {"password": "hunter2"}, "smtp": {"password": "pw2"}})
    shown = cfg.shown()
    assert shown["imap_password"] == "********"
    assert "hunter2" not in repr(cfg) and "pw2" not in repr(cfg)
    assert "hunter2" not in str(shown)
    settings = config_from_dict(
        {"mailbox": "m@x", "imap": {"host": "h", "password": "hunter2"}}
    ).imap_settings()
    assert "hunter2" not in repr(settings)


def test_broken_toml_gives_one_line(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[imap\nhost=")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert "\n" not in str(info.value) and "TOML" in str(info.value)


def test_missing_imap_settings_say_what_to_set() -> None:
    with pytest.raises(ConfigError, match=r"imap\.host.*imap\.password"):
        config_from_dict({}).imap_settings()


def test_lab_settings_connect_everything() -> None:
    cfg = config_from_lab(
        {
            "lab": {"monitor": "dsn-monitor@lab.test", "dir": "/tmp/lab", "remote_domain": "r.t"},
            "docker": {"host": "unix:///run/x.sock", "project": "mailcowdockerized"},
            "imap": {
                "host": "127.0.0.1",
                "port": 24993,
                "tls": "ssl",
                "user": "dsn-monitor@lab.test",
                "password": "p",
                "ca": "/tmp/lab/ca/ca.pem",
                "mailbox": "INBOX",
            },
            "smtp": {
                "host": "127.0.0.1",
                "port": 24587,
                "tls": "starttls",
                "user": "alice@lab.test",
                "password": "q",
                "ca": "/tmp/lab/ca/ca.pem",
            },
        }
    )
    imap = cfg.imap_settings()
    assert (imap.host, imap.port, imap.user, imap.ca) == (
        "127.0.0.1",
        24993,
        "dsn-monitor@lab.test",
        "/tmp/lab/ca/ca.pem",
    )
    assert cfg.docker_host == "unix:///run/x.sock"
    assert cfg.store == "/tmp/lab/dsnwatch.sqlite"
    assert cfg.remote_target == "r.t"


def test_retention_is_a_duration_and_may_be_off() -> None:
    assert config_from_dict({"retention": "30d"}).retention_seconds == 30 * 86400
    assert config_from_dict({"retention": ""}).retention_seconds == 0
    with pytest.raises(ConfigError, match="not a duration"):
        config_from_dict({"retention": "forever"})
