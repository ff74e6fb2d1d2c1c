"""The console driven with its keys over recorded logs and reports (no network, no Docker)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import NOW, FakePlan, good_checks
from helpers import new_app, screen_text, settle, until

from dsnwatch.install.doctor import Check
from dsnwatch.logs.follow import FollowerState
from dsnwatch.logs.readers import read_line
from dsnwatch.tui.screens.confirm import ConfirmScreen
from dsnwatch.tui.screens.detail import DetailScreen
from dsnwatch.tui.screens.doctor import DoctorScreen
from dsnwatch.tui.screens.help import HelpScreen
from dsnwatch.tui.screens.install import InstallScreen
from dsnwatch.tui.screens.tests import TestScreen

pytestmark = pytest.mark.asyncio


async def test_first_screen_shows_logs_reports_and_health(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        view = app.log_view
        assert view.following
        assert view.scroll_y == view.max_scroll_y  # newest at the bottom
        kinds = [e.kind for e in view.shown_lines()]
        assert "postfix-delivery" in kinds and "sieve-redirect" in kinds
        assert app.dsn_pane.shown[0]["recipient"] == "kim@example.net"  # newest first
        health = app.header.health
        assert health.imap == "idle"
        assert health.pipeline == "ok"
        text = screen_text(app)
        assert "mailcowdockerized" in text
        assert "userunknown" in text


async def test_log_lines_are_stored_and_correlated(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    async with app.run_test() as pilot:
        await settle(pilot, app)
        rows = app.store.table("events")
        assert len(rows) == 13
        assert any(e.kind == "alert" for e in app.log_view.shown_lines())  # failed redirect


async def test_filter_narrows_and_highlights_then_clears(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        view = app.log_view
        await pilot.press("slash", *"redirect")
        assert view.needle == "redirect"
        assert 0 < view.line_count < view.buffered
        assert all("redirect" in e.raw.lower() for e in view.shown_lines())
        await pilot.press("enter")
        assert app.focused is view
        assert "filter redirect" in screen_text(app)
        await pilot.press("escape")
        assert view.needle == "" and view.line_count == view.buffered


async def test_pause_sticks_and_counts_new_lines(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        view = app.log_view
        await pilot.press("space")
        assert not view.following
        where = view.scroll_y
        line = (
            "2026-12-03T16:01:00.000000000Z Dec  3 16:01:00 h postfix/qmgr[9]: ABCDEF123: removed"
        )
        view.append([read_line(line) for _ in range(40)])
        await pilot.pause()
        assert view.pending == 40
        assert view.scroll_y == where  # the view did not move
        assert "+40 new" in screen_text(app)
        await pilot.press("G")
        assert view.following and view.pending == 0
        assert view.scroll_y == view.max_scroll_y


async def test_scrolling_up_pauses(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("up")
        assert not app.log_view.following


async def test_service_toggle_times_wrap_and_raw(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        view = app.log_view
        await pilot.press("v")
        assert view.service == "dovecot"
        assert {e.service for e in view.shown_lines() if e.kind != "alert"} == {"dovecot"}
        await pilot.press("v")
        assert {e.service for e in view.shown_lines() if e.kind != "alert"} == {"postfix"}
        await pilot.press("v")
        assert view.service == "both" and view.line_count == view.buffered
        before = screen_text(app)
        await pilot.press("T")
        assert not view.show_time
        assert "16:00:01" in before and "16:00:01 !" not in screen_text(app)
        await pilot.press("w")
        assert view.wrap and view.virtual_size.height > view.line_count
        await pilot.press("w", "R")
        assert view.raw
        assert "a3865add0dfb" in screen_text(app)  # the host name is only in the raw line


async def test_report_detail_shows_every_part(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        app.dsn_pane.table.focus()
        await pilot.press("down", "down", "down", "down", "enter")  # the oldest: a Postfix bounce
        await until(pilot, lambda: isinstance(app.screen, DetailScreen))
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        assert screen.row["recipient"] == "nobody@remote.test"
        await until(pilot, lambda: "Original message" in str(screen._body("headers").content))
        assert "userunknown" in str(screen._body("fields").content)
        assert "550" in str(screen._body("diagnostic").content)
        assert "Content-Type: multipart/report" in str(screen._body("raw").content)
        await pilot.press("4")
        assert "Content-Type" in screen_text(app)
        await pilot.press("escape")
        assert not isinstance(app.screen, DetailScreen)


async def test_detail_says_why_when_the_message_is_gone(tmp_path: Path) -> None:
    app = new_app(tmp_path, raw_by_uid={})
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        app.dsn_pane.table.focus()
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        await until(pilot, lambda: "no longer" in str(screen._body("raw").content))


async def test_reports_filter_sort_and_hard_only(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        pane = app.dsn_pane
        pane.table.focus()
        await pilot.press("h")
        assert {r["recipient"] for r in pane.shown} == {"nobody@remote.test", "gone@example.net"}
        await pilot.press("h", "slash", *"reason:feedback", "enter")
        assert [r["reason"] for r in pane.shown] == ["feedback"]
        await pilot.press("escape")
        assert len(pane.shown) == 5
        await pilot.press("o", "o")
        assert pane.sort_index == 2
        assert [r["reason"] for r in pane.shown] == sorted(r["reason"] for r in pane.shown)
        await pilot.press("slash", *"nomatch", "enter")
        assert "No report matches" in screen_text(app)


async def test_install_shows_the_diff_and_cancel_changes_nothing(tmp_path: Path) -> None:
    plan = FakePlan()
    app = new_app(tmp_path, plan=plan)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("i")
        screen = app.screen
        assert isinstance(screen, InstallScreen)
        await until(pilot, lambda: screen.state == "planned")
        assert "bounce_notice_recipient" in screen_text(app)
        await pilot.press("a")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert plan.applied == []
        assert screen.state == "planned"
        await pilot.press("escape")
        assert not isinstance(app.screen, InstallScreen)


async def test_install_confirmed_applies_and_runs_doctor(tmp_path: Path) -> None:
    plan = FakePlan()
    app = new_app(tmp_path, plan=plan)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("i")
        screen = app.screen
        assert isinstance(screen, InstallScreen)
        await until(pilot, lambda: screen.state == "planned")
        await pilot.press("a", "y")
        await until(pilot, lambda: screen.state == "done" and "Every link" in screen_text(app))
        assert plan.applied == ["wrote /opt/postfix/conf/extra.cf", "restarted postfix-mailcow"]
        assert "restarted postfix-mailcow" in screen_text(app)


async def test_install_failure_is_shown(tmp_path: Path) -> None:
    app = new_app(tmp_path, plan=FakePlan(fail="postfix check failed: bad extra.cf"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("i")
        screen = app.screen
        assert isinstance(screen, InstallScreen)
        await until(pilot, lambda: screen.state == "planned")
        await pilot.press("a", "y")
        await until(pilot, lambda: screen.state == "failed")
        assert "Install failed: postfix check failed" in screen_text(app)


async def test_nothing_to_install(tmp_path: Path) -> None:
    app = new_app(tmp_path, plan=FakePlan(text="Nothing to change.\n", empty=True))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("i")
        screen = app.screen
        await until(pilot, lambda: "Every link" in screen_text(app))
        assert isinstance(screen, InstallScreen) and screen.state == "done"
        await pilot.press("a")
        assert not isinstance(app.screen, ConfirmScreen)  # nothing to apply, nothing asked


async def test_test_menu_asks_then_shows_stages_and_verdict(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("t")
        screen = app.screen
        assert isinstance(screen, TestScreen)
        await pilot.press("enter")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert not screen.updates
        await pilot.press("down", "enter", "y")
        await until(pilot, lambda: "PASSED" in screen_text(app))
        text = screen_text(app)
        assert "report read" in text and "remote" in text
        assert all(u.state == "passed" for u in screen.updates.values())


async def test_test_menu_without_a_launcher_says_why(tmp_path: Path) -> None:
    app = new_app(tmp_path, runner=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("t")
        assert "Tests cannot run here" in screen_text(app)
        await pilot.press("enter")
        assert isinstance(app.screen, TestScreen)  # nothing asked, nothing sent


async def test_doctor_screen_and_header(tmp_path: Path) -> None:
    checks = [*good_checks(), Check("sieve rule", "FAIL", "not installed; run dsnwatch install")]
    app = new_app(tmp_path, checks=checks)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        assert app.header.health.pipeline == "1 failing"
        await pilot.press("d")
        assert isinstance(app.screen, DoctorScreen)
        await until(pilot, lambda: "run dsnwatch install" in screen_text(app))
        await pilot.press("escape")
        assert not isinstance(app.screen, DoctorScreen)


async def test_a_failing_worker_is_shown_not_fatal(tmp_path: Path) -> None:
    app = new_app(tmp_path)

    def broken() -> list[Check]:
        raise RuntimeError("cannot reach the Docker engine at unix:///nowhere")

    app.sources.doctor = broken
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await settle(pilot, app)
        await pilot.press("d")
        await until(pilot, lambda: "could not run" in screen_text(app))
        assert app.header.health.pipeline != "ok"
        assert any("Docker engine" in str(n.message) for n in app._notifications)


async def test_help_lists_every_binding(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("Static").content)
        for words in ("Pause the view", "Install or reinstall", "Only hard bounces", "Raw"):
            assert words in text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_command_palette_runs_an_action(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("ctrl+p", *"doctor")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DoctorScreen))


async def test_quit(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    async with app.run_test() as pilot:
        await settle(pilot, app)
        await pilot.press("q")
    assert app.return_value == 0


async def test_resync_restarts_the_watcher(tmp_path: Path) -> None:
    created: dict[str, object] = {}
    app = new_app(tmp_path, created=created)
    async with app.run_test(notifications=True) as pilot:
        await settle(pilot, app)
        first = created["watcher"]
        await pilot.press("r")
        await until(pilot, lambda: created["watcher"] is not first)
        assert any("again" in str(n.message) for n in app._notifications)


async def test_missing_sources_say_why(tmp_path: Path) -> None:
    app = new_app(tmp_path, with_watcher=False, with_followers=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        text = screen_text(app)
        assert "No log lines: Docker is not configured" in text
        assert "No mailbox: set imap.host" in text


async def test_reconnecting_is_said_and_recovery_too(tmp_path: Path) -> None:
    states = [
        FollowerState("dovecot", "following", "dovecot-mailcow"),
        FollowerState("postfix", "reconnecting", "log stream ended"),
        FollowerState("postfix", "following", "postfix-mailcow"),
    ]
    app = new_app(
        tmp_path,
        follower_states=states,
        mailbox_states=[("reconnecting", "connection lost: timed out")],
    )
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot, app)
        messages = [str(n.message) for n in app._notifications]
        assert any("postfix logs: reconnecting" in m for m in messages)
        assert any("following again" in m for m in messages)
        assert any("Mailbox: connected again" in m for m in messages)
        assert app.header.health.logs == {"dovecot": "following", "postfix": "following"}


async def test_summary_counts_and_trend(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, app)
        text = screen_text(app)
        assert "last hour 5" in text and "userunknown 2" in text
        assert app.sources.clock() == NOW


async def test_late_source_messages_after_the_panes_are_gone_do_not_crash(tmp_path: Path) -> None:
    """Leaving through App.exit() removes the panes before on_unmount; the mailbox watcher,
    the doctor and the log pump may still report then, and must be ignored."""
    from dsnwatch.tui.messages import DoctorDone, MailboxState, SyncProgress
    from dsnwatch.tui.widgets.status import HeaderBar

    app = new_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        for widget in list(app.screen.children):
            await widget.remove()
        assert not app.query(HeaderBar)
        app.post_message(MailboxState("reconnecting", "connection lost"))
        app.post_message(SyncProgress(1, 2))
        app.post_message(DoctorDone(good_checks()))
        await pilot.pause(0.3)  # the batch timer runs as well
    assert app._exception is None


async def test_the_batch_timer_ignores_a_log_pane_removed_before_the_header(
    tmp_path: Path,
) -> None:
    """Panes go one at a time as the app closes: lines waiting for a log view that is
    already gone are dropped, not shown into nothing (which ended the app with NoMatches)."""
    from dsnwatch.logs.readers import read_line
    from dsnwatch.tui.lines import Lines
    from dsnwatch.tui.widgets.log_view import LogView

    app = new_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        waiting = Lines.pack([read_line("Dec  3 16:00:00 h postfix/qmgr[9]: 4B1C2D: removed")])
        await app.query_one("#panes").remove()
        assert not app.query(LogView) and app.header is not None
        with app._lock:
            app._inbox.extend(waiting)
        await pilot.pause(0.3)  # several ticks of the batch timer
        app._refresh_summary()
    assert app._exception is None
