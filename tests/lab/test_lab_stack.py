"""The lab looks like a mailcow to anyone who finds it by compose labels."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dsnwatch.cli import app
from dsnwatch.lab import Lab

pytestmark = pytest.mark.lab


def _mounts(ctr: Any) -> dict[str, str]:
    """Destination -> host folder (bind) or volume name."""
    return {
        m["Destination"]: m["Name"] if m.get("Type") == "volume" else m["Source"]
        for m in ctr.attrs["Mounts"]
    }


def test_mailcow_containers_are_found_by_compose_labels_like_a_real_mailcow(lab: Lab) -> None:
    client = lab.client
    project = client.containers.list(
        filters={"label": "com.docker.compose.project=mailcowdockerized"}
    )
    services = {c.labels["com.docker.compose.service"]: c for c in project}
    assert set(services) == {"postfix-mailcow", "dovecot-mailcow"}

    postfix = services["postfix-mailcow"]
    dovecot = services["dovecot-mailcow"]
    assert postfix.name == "mailcowdockerized-postfix-mailcow-1"
    assert dovecot.name == "mailcowdockerized-dovecot-mailcow-1"
    workdir = Path(postfix.labels["com.docker.compose.project.working_dir"])
    assert workdir == lab.settings.mailcow_dir
    assert Path(_mounts(postfix)["/opt/postfix/conf"]) == workdir / "data/conf/postfix"
    assert Path(_mounts(dovecot)["/etc/dovecot"]) == workdir / "data/conf/dovecot"
    assert _mounts(dovecot)["/var/vmail"] == "mailcowdockerized_vmail-vol-1"
    assert dovecot.attrs["Config"]["Tty"] is True


def test_dovecot_compiles_mailcows_global_sieve_scripts_at_start(lab: Lab) -> None:
    listing = lab.exec("dovecot", ["ls", "/var/vmail/sieve"]).split()
    for name in ("global_sieve_before.svbin", "global_sieve_after.svbin"):
        assert name in listing
    after = lab.exec("dovecot", ["cat", "/var/vmail/sieve/global_sieve_after.sieve"])
    assert "if duplicate {\n  discard;\n  stop;\n}" in after
    assert lab.exec("dovecot", ["id", "-u", "vmail"]).strip() == "5000"
    assert lab.exec("dovecot", ["stat", "-c", "%u", "/var/vmail/lab.test"]).strip() == "5000"


def test_extra_cf_is_appended_to_main_cf_at_container_start(lab: Lab) -> None:
    conf = lab.settings.mailcow_dir / "data/conf/postfix"
    extra = conf / "extra.cf"
    original = extra.read_text()
    try:
        extra.write_text(original + "smtpd_banner = $myhostname ESMTP extra-cf-test\n")
        ctr = lab.container("postfix")
        assert ctr is not None
        ctr.restart(timeout=5)
        lab.wait_healthy(60)
        main = (conf / "main.cf").read_text()
        overrides = main.split("# Overrides #", 1)[1]
        assert "# User Overrides" in overrides
        assert "myhostname = mail.lab.test" in overrides
        assert "extra-cf-test" in overrides
        assert lab.exec("postfix", ["postconf", "-h", "smtpd_banner"]).strip() == (
            "$myhostname ESMTP extra-cf-test"
        )
        # postmap and postfix reload work inside, as mailcow's own tooling expects.
        lookup = ["postmap", "-q", "alice@lab.test", "texthash:/opt/postfix/conf/lab_mailboxes"]
        assert lab.exec("postfix", lookup).strip() == "lab.test/alice/"
        lab.exec("postfix", ["postfix", "reload"])
    finally:
        extra.write_text(original)
        ctr = lab.container("postfix")
        assert ctr is not None
        ctr.restart(timeout=5)
        lab.wait_healthy(60)
    time.sleep(0.5)


def test_lab_status_reports_every_service_healthy(lab: Lab) -> None:
    rows = lab.status()
    assert [row.service for row in rows] == [
        "dovecot-mailcow",
        "postfix-mailcow",
        "remote-mx",
        "ses",
    ]
    assert all(row.ok for row in rows), rows
    result = CliRunner().invoke(app, ["lab", "status", "--dir", str(lab.settings.lab_dir)])
    assert result.exit_code == 0, result.output
    assert "postfix-mailcow" in result.output


def test_lab_toml_holds_the_connection_settings(lab: Lab) -> None:
    import tomllib

    data = tomllib.loads(lab.settings.toml_path.read_text())
    assert data["imap"]["port"] == lab.settings.port("imaps")
    assert data["imap"]["user"] == "dsn-monitor@lab.test"
    assert data["smtp"]["port"] == lab.settings.port("submission")
    assert Path(data["lab"]["ca"]).is_file()
    assert data["docker"]["host"].startswith(("unix://", "tcp://", "ssh://", "npipe://"))
    assert oct(lab.settings.toml_path.stat().st_mode & 0o777) == "0o600"
