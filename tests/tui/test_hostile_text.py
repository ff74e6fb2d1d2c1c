"""Untrusted text through every widget path: shown as text, never markup, never escapes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fakes import FIXTURES, FakePlan, fake_runner
from helpers import foreign_controls, new_app, screen_text, terminal_output, until

from dsnwatch.install.doctor import Check
from dsnwatch.logs.follow import FollowerState
from dsnwatch.tui.app import DsnwatchApp
from dsnwatch.tui.screens.detail import DetailScreen
from dsnwatch.tui.screens.install import InstallScreen
from dsnwatch.tui.screens.tests import TestScreen
from dsnwatch.tui.sources import StageUpdate

pytestmark = pytest.mark.asyncio

OSC52 = "\x1b]52;c;aGVsbG8=\x07"
HOSTILE = [
    "[/INBOX]",
    "[@click=app.quit]click me[/]",
    "[bold]not bold[/bold] [/",
    "[type=x, v={'a[0]'}]",
    f"clipboard {OSC52} write",
    "title \x1b]2;owned\x07 change",
    "\x1b[31mred\x1b[0m \x1b[2J\x1b[H clear",
    "dcs \x1bPq#0;2;0;0;0\x1b\\ c1 \x9b31m del \x7f bidi \u202egnp.exe",
    "x" * 100_000,
]


def hostile_lines() -> list[str]:
    stamp = "2026-12-03T16:00:0{}.000000000Z Dec  3 16:00:0{} h "
    lines = []
    for n, text in enumerate(HOSTILE):
        prefix = stamp.format(n, n)
        lines.append(
            prefix + f"dovecot: lmtp(a@example.org)<1><s>: sieve: msgid=<{text[:40]}>: " + text
        )
        lines.append(
            prefix + f"postfix/smtp[1]: ABCDEF{n}: to=<v@example.net>, status=bounced ({text})"
        )
    return lines


def hostile_report() -> bytes:
    diagnostic = " ".join(HOSTILE[:-1]).replace("\n", " ")
    return (
        "From: MAILER-DAEMON@mx.example.net\n"
        "To: sender@example.org\n"
        "Subject: [/INBOX] =?utf-8?b?G101MjtjO2FHVnNiRzg9Bw==?= Undelivered\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        "--b\nContent-Type: text/plain\n\n[@click=app.quit]x[/]\n\n"
        "--b\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; [/mx]\n\n"
        "Final-Recipient: rfc822; [/victim]@example.net\n"
        "Action: failed\nStatus: 5.1.1\n"
        f"Diagnostic-Code: smtp; 550 5.1.1 {diagnostic}\n\n"
        "--b\nContent-Type: text/rfc822-headers\n\n"
        "Subject: [@click=app.quit]quit[/] \x1b]52;c;aGVsbG8=\x07\nMessage-ID: <[/x]@y>\n\n"
        "--b--\n"
    ).encode("utf-8", "surrogateescape")


def assert_clean(app: DsnwatchApp) -> None:
    output = terminal_output(app)
    assert foreign_controls(output) == []
    assert "\x1b]" not in output and "\x1bP" not in output  # no OSC, no DCS


def hostile_app(tmp_path: Path, **kwargs: Any) -> DsnwatchApp:
    messages = [
        (1, (FIXTURES / "hostile-subject.eml").read_bytes()),
        (2, hostile_report()),
    ]
    return new_app(
        tmp_path,
        lines=hostile_lines(),
        messages=messages,
        follower_states=[FollowerState("postfix", "reconnecting", "[/x] " + OSC52)],
        mailbox_states=[("error", "[@click=app.quit]x[/] " + OSC52)],
        checks=[Check("[/sieve]", "FAIL", "[@click=app.quit]x[/] " + OSC52)],
        plan=FakePlan(text="# [/why]\n--- a\n+++ b\n+[@click=app.quit]x[/] " + OSC52 + "\n"),
        **kwargs,
    )


async def test_hostile_log_lines_and_reports_on_the_main_screen(tmp_path: Path) -> None:
    app = hostile_app(tmp_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await until(
            pilot, lambda: app.log_view.buffered >= len(HOSTILE) * 2 and len(app.dsn_pane.rows) >= 2
        )
        assert_clean(app)
        view = app.log_view
        for keys in (["R"], ["w"], ["R"], ["w", "T"], ["slash", "[", "/", "enter"]):
            await pilot.press(*keys)
            await pilot.pause()
            assert_clean(app)
        assert view.needle == "[/"
        assert view.line_count > 0
        text = screen_text(app)
        assert "[/" in text
        await pilot.press("escape", "G")
        # The panes repaint on the next frames: wait for it rather than read a stale screen.
        await until(pilot, lambda: "[/victim]@example.net" in screen_text(app))
        assert app.is_running


async def test_hostile_time_stamps_in_the_time_column(tmp_path: Path) -> None:
    lines = [
        f"2026-12-03T16:00:{OSC52} Dec  3 16:00:00 h postfix/qmgr[9]: ABCDEF1: removed",
        "Dec  3 \x1b]52;c;\x07 h postfix/qmgr[9]: ABCDEF2: removed",  # 15 characters
        "2026-12-03T16:\x1b[2J\x1b[H Dec  3 16:00:00 h postfix/qmgr[9]: ABCDEF3: removed",
    ]
    app = new_app(tmp_path, lines=lines)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.log_view.buffered >= 3)
        assert_clean(app)
        assert all(len(line.stamp) == 8 for line in app.log_view.shown_lines())


async def test_hostile_report_in_every_tab_of_the_detail_screen(tmp_path: Path) -> None:
    app = hostile_app(tmp_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await until(pilot, lambda: len(app.dsn_pane.rows) >= 2)
        for index in range(len(app.dsn_pane.shown)):
            app.dsn_pane.table.focus()
            app.dsn_pane.table.move_cursor(row=index)
            await pilot.press("enter")
            screen = app.screen
            assert isinstance(screen, DetailScreen)
            await until(pilot, lambda s=screen: "Reading" not in str(s._body("raw").content))
            for tab in "12345":
                await pilot.press(tab)
                await pilot.pause()
                assert_clean(app)
            await pilot.press("escape")
        assert app.is_running


async def test_hostile_text_in_doctor_install_and_test_screens(tmp_path: Path) -> None:
    def runner(kind: str, stage: Any, stop: Any) -> Any:
        stage(StageUpdate(kind, "[/stage]", "failed", "[@click=app.quit]x[/] " + OSC52))
        return fake_runner(kind, stage, stop)

    app = hostile_app(tmp_path, runner=runner)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await until(pilot, lambda: len(app.dsn_pane.rows) >= 2)
        await pilot.press("d")
        await until(pilot, lambda: "[/sieve]" in screen_text(app))
        assert_clean(app)
        await pilot.press("escape", "i")
        await until(
            pilot, lambda: isinstance(app.screen, InstallScreen) and app.screen.state == "planned"
        )
        assert "[@click=app.quit]x[/]" in screen_text(app)
        assert_clean(app)
        await pilot.press("escape", "t")
        assert isinstance(app.screen, TestScreen)
        await pilot.press("enter", "y")
        await until(pilot, lambda: "PASSED" in screen_text(app))
        assert "[/stage]" in screen_text(app)
        assert_clean(app)
        assert app.is_running
