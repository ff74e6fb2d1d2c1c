"""What a person sees, pinned: each screen and state at 80x24 and at a large size.

Regenerate after an intended change with `pytest tests/tui --snapshot-update`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from fakes import FakePlan, good_checks
from helpers import new_app, settle, until
from textual.pilot import Pilot

from dsnwatch.install.doctor import Check
from dsnwatch.logs.readers import read_line
from dsnwatch.tui.app import DsnwatchApp
from dsnwatch.tui.screens.detail import DetailScreen
from dsnwatch.tui.screens.install import InstallScreen

SIZES = [(80, 24), (160, 48)]
Before = Callable[[Pilot[Any]], Awaitable[None]]


def settled(then: Callable[[Pilot[Any], DsnwatchApp], Awaitable[None]] | None = None) -> Before:
    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, DsnwatchApp)
        await settle(pilot, app)
        if then is not None:
            await then(pilot, app)
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_main_screen(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    assert snap_compare(new_app(tmp_path), terminal_size=size, run_before=settled())


@pytest.mark.parametrize("size", SIZES)
def test_paused_with_new_lines_and_a_filter(
    snap_compare: Any, tmp_path: Path, size: tuple[int, int]
) -> None:
    async def then(pilot: Pilot[Any], app: DsnwatchApp) -> None:
        await pilot.press("slash", *"postfix", "enter", "space")
        line = (
            "2026-12-03T16:01:00.000000000Z Dec  3 16:01:00 h postfix/qmgr[9]: ABCDEF123: removed"
        )
        app.log_view.append([read_line(line) for _ in range(12)])

    assert snap_compare(new_app(tmp_path), terminal_size=size, run_before=settled(then))


@pytest.mark.parametrize("size", SIZES)
def test_waiting_and_error_states(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    app = new_app(tmp_path, with_watcher=False, with_followers=False)

    async def run_before(pilot: Pilot[Any]) -> None:
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_report_detail(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    async def then(pilot: Pilot[Any], app: DsnwatchApp) -> None:
        app.dsn_pane.table.focus()
        await pilot.press("down", "down", "down", "down", "enter")
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        await until(pilot, lambda: "Reading" not in str(screen._body("raw").content))

    assert snap_compare(new_app(tmp_path), terminal_size=size, run_before=settled(then))


@pytest.mark.parametrize("size", SIZES)
def test_install_plan(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    async def then(pilot: Pilot[Any], app: DsnwatchApp) -> None:
        await pilot.press("i")
        await until(
            pilot, lambda: isinstance(app.screen, InstallScreen) and app.screen.state == "planned"
        )

    assert snap_compare(
        new_app(tmp_path, plan=FakePlan()), terminal_size=size, run_before=settled(then)
    )


def test_install_confirmation(snap_compare: Any, tmp_path: Path) -> None:
    async def then(pilot: Pilot[Any], app: DsnwatchApp) -> None:
        await pilot.press("i")
        await until(
            pilot, lambda: isinstance(app.screen, InstallScreen) and app.screen.state == "planned"
        )
        await pilot.press("a")

    assert snap_compare(new_app(tmp_path), terminal_size=(80, 24), run_before=settled(then))


@pytest.mark.parametrize("size", SIZES)
def test_install_done_with_doctor(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    async def then(pilot: Pilot[Any], app: DsnwatchApp) -> None:
        await pilot.press("i")
        await until(
            pilot, lambda: isinstance(app.screen, InstallScreen) and app.screen.state == "planned"
        )
        await pilot.press("a", "y")
        await until(
            pilot, lambda: isinstance(app.screen, InstallScreen) and app.screen.state == "done"
        )
        await pilot.pause(0.2)

    assert snap_compare(new_app(tmp_path), terminal_size=size, run_before=settled(then))


@pytest.mark.parametrize("size", SIZES)
def test_test_run_finished(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    async def then(pilot: Pilot[Any], app: DsnwatchApp) -> None:
        await pilot.press("t", "enter", "y")
        await pilot.pause(0.3)

    assert snap_compare(new_app(tmp_path), terminal_size=size, run_before=settled(then))


@pytest.mark.parametrize("size", SIZES)
def test_doctor_with_a_failure(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    checks = [*good_checks(), Check("sieve rule", "FAIL", "not installed; run dsnwatch install")]

    async def then(pilot: Pilot[Any], app: DsnwatchApp) -> None:
        await pilot.press("d")
        await pilot.pause(0.3)

    assert snap_compare(
        new_app(tmp_path, checks=checks), terminal_size=size, run_before=settled(then)
    )


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    async def then(pilot: Pilot[Any], app: DsnwatchApp) -> None:
        await pilot.press("question_mark")

    assert snap_compare(new_app(tmp_path), terminal_size=size, run_before=settled(then))


def test_light_theme(snap_compare: Any, tmp_path: Path) -> None:
    async def then(pilot: Pilot[Any], app: DsnwatchApp) -> None:
        app.theme = "textual-light"
        await pilot.pause(0.1)

    assert snap_compare(new_app(tmp_path), terminal_size=(80, 24), run_before=settled(then))


def test_no_color(snap_compare: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(new_app(tmp_path), terminal_size=(80, 24), run_before=settled())
