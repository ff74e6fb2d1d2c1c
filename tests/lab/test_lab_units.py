"""Pieces of the lab that need no Docker: the SES answers, settings, the recipe."""

from __future__ import annotations

import email
import tomllib
from email.message import Message
from email.policy import default as default_policy
from pathlib import Path

import pytest

from dsnwatch.lab import image, ses_sim
from dsnwatch.lab.settings import LabError, LabSettings, check_port_base, dump_toml
from dsnwatch.lab.stack import _render

ORIGINAL = (
    b"From: alice@lab.test\r\nTo: bounce@simulator.amazonses.com\r\n"
    b"Subject: hello there\r\nMessage-ID: <m1@lab.test>\r\n\r\nbody\r\n"
)


def _parse(raw: bytes) -> Message:
    return email.message_from_bytes(raw, policy=default_policy)


def _part(msg: Message, content_type: str) -> Message:
    for part in msg.walk():
        if part.get_content_type() == content_type:
            return part
    raise AssertionError(f"no {content_type} part")


def test_simulator_mailbox_ignores_labels_and_case() -> None:
    assert ses_sim.mailbox_of("Bounce+run42@simulator.amazonses.com") == "bounce"
    assert ses_sim.mailbox_of("ooto@simulator.amazonses.com") == "ooto"


def test_ses_bounce_is_an_rfc3464_dsn_from_amazonses_with_the_null_sender() -> None:
    reply = ses_sim.answer(ORIGINAL, "alice@lab.test", "bounce@simulator.amazonses.com")
    assert reply is not None
    envelope, raw = reply
    assert envelope == ""
    msg = _parse(raw)
    assert msg["From"] == "MAILER-DAEMON@amazonses.com"
    assert msg["To"] == "alice@lab.test"
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    status: list[Message] = _part(msg, "message/delivery-status").get_payload()  # type: ignore[assignment]
    assert str(status[0]["Reporting-MTA"]).startswith("dsn; ")
    assert status[1]["Final-Recipient"] == "rfc822; bounce@simulator.amazonses.com"
    assert status[1]["Status"] == "5.1.1"
    original: list[Message] = _part(msg, "message/rfc822").get_payload()  # type: ignore[assignment]
    assert original[0]["Message-ID"] == "<m1@lab.test>"
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")


def test_ses_suppression_list_bounce_says_so() -> None:
    reply = ses_sim.answer(ORIGINAL, "alice@lab.test", "suppressionlist@simulator.amazonses.com")
    assert reply is not None
    assert b"suppression list" in reply[1]


def test_ses_complaint_is_an_arf_report_from_email_abuse() -> None:
    reply = ses_sim.answer(ORIGINAL, "alice@lab.test", "complaint@simulator.amazonses.com")
    assert reply is not None
    envelope, raw = reply
    assert envelope == "no-reply@amazonses.com"
    msg = _parse(raw)
    assert msg["From"] == "complaints@email-abuse.amazonses.com"
    assert msg["Subject"] == "Fw: hello there"
    assert msg.get_param("report-type") == "feedback-report"
    report = _part(msg, "message/feedback-report")
    text = report.as_string()
    assert "Feedback-Type: abuse" in text
    assert "Original-Rcpt-To: <complaint@simulator.amazonses.com>" in text


def test_ses_ooto_is_an_rfc3834_auto_reply_to_the_original() -> None:
    reply = ses_sim.answer(ORIGINAL, "alice@lab.test", "ooto@simulator.amazonses.com")
    assert reply is not None
    envelope, raw = reply
    msg = _parse(raw)
    assert envelope == ""
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["In-Reply-To"] == "<m1@lab.test>"


def test_ses_success_answers_nothing() -> None:
    assert ses_sim.answer(ORIGINAL, "alice@lab.test", "success@simulator.amazonses.com") is None


def test_settings_derive_every_port_from_the_base() -> None:
    settings = LabSettings(lab_dir=Path("/nonexistent"), port_base=30000)
    assert settings.port("smtp") == 30025
    assert settings.port("submission") == 30587
    assert settings.port("imaps") == 30993
    assert len(set(settings.ports.values())) == len(settings.ports)
    with pytest.raises(LabError):
        check_port_base(80)


def test_lab_toml_round_trips_and_keeps_passwords(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DSNWATCH_LAB_PORT_BASE", raising=False)  # it would win over the file
    settings = LabSettings(lab_dir=tmp_path, port_base=25000)
    text = dump_toml(settings.to_toml(), "header")
    data = tomllib.loads(text)
    assert data["imap"]["user"] == "dsn-monitor@lab.test"
    assert data["users"]["dsn-monitor"]["password"] == settings.password("dsn-monitor")
    (tmp_path / "lab.toml").write_text(text)
    again = LabSettings.load(tmp_path)
    assert again.port_base == 25000
    assert again.password("alice") == settings.password("alice")


def test_templates_refuse_unknown_names() -> None:
    assert _render("a {{x}} b", {"x": "1"}) == "a 1 b"
    with pytest.raises(LabError):
        _render("{{nope}}", {})


def test_image_tag_follows_the_recipe() -> None:
    tag = image.lab_tag()
    assert tag.startswith("dsnwatch-lab:")
    assert tag == image.lab_tag()
    paths = [path for path, _, _ in image._image_tree()]
    assert "usr/local/bin/lab-postfix" in paths
    assert "usr/local/lib/lab/ses_sim.py" in paths


def test_debian_mirror_comes_from_apt_sources_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DSNWATCH_LAB_MIRROR", "http://mirror.invalid/debian")
    assert image.debian_mirror() == "http://mirror.invalid/debian"


class _FakeContainer:
    """A container whose state follows a script of (status, restart count) steps."""

    def __init__(self, name: str, steps: list[tuple[str, int]], policy: str = "unless-stopped"):
        self.name = name
        self.steps = steps
        self.policy = policy

    def now(self) -> _FakeContainer:
        status, count = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        self.status = status
        self.attrs = {"RestartCount": count, "HostConfig": {"RestartPolicy": {"Name": self.policy}}}
        return self

    def logs(self, tail: int) -> bytes:
        return b"postfix/master[150]: fatal: open lock file pid/master.pid\n"


def _waiting_lab(monkeypatch: pytest.MonkeyPatch, scripts: dict[str, _FakeContainer]) -> object:
    from dsnwatch.lab import stack

    lab = stack.Lab.__new__(stack.Lab)
    lab.settings = LabSettings()  # type: ignore[misc]
    lab.container = lambda svc: scripts[svc.name].now()  # type: ignore[method-assign]
    lab.progress = lambda *_a: None  # type: ignore[method-assign]
    monkeypatch.setattr(stack, "probe", lambda port, kind: True)
    monkeypatch.setattr(stack.time, "sleep", lambda _s: None)
    return lab


def test_wait_healthy_waits_for_a_service_its_restart_policy_starts_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dsnwatch.lab.stack import SERVICES

    scripts = {s.name: _FakeContainer(s.name, [("running", 0)]) for s in SERVICES}
    postfix = next(s.name for s in SERVICES if "postfix" in s.name)
    # Stopped once, started again by Docker: a restart count left over from before too.
    scripts[postfix] = _FakeContainer(postfix, [("exited", 4), ("restarting", 5), ("running", 5)])
    _waiting_lab(monkeypatch, scripts).wait_healthy(5)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("steps", "policy"),
    [
        ([("restarting", 1), ("exited", 2), ("restarting", 3), ("exited", 4)], "unless-stopped"),
        ([("dead", 0)], "unless-stopped"),
        ([("exited", 0)], "no"),
    ],
    ids=["crash-loop", "dead", "stopped-without-policy"],
)
def test_wait_healthy_fails_at_once_on_a_service_that_cannot_start(
    monkeypatch: pytest.MonkeyPatch, steps: list[tuple[str, int]], policy: str
) -> None:
    from dsnwatch.lab.stack import SERVICES

    scripts = {s.name: _FakeContainer(s.name, [("running", 0)]) for s in SERVICES}
    broken = SERVICES[0].name
    scripts[broken] = _FakeContainer(broken, steps, policy)
    with pytest.raises(LabError, match=f"{broken} failed to start: .*fatal: open lock file"):
        _waiting_lab(monkeypatch, scripts).wait_healthy(5)  # type: ignore[attr-defined]
