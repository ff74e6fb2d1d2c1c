"""Helpers for driving the console in tests."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fakes import make_sources
from textual.pilot import Pilot

from dsnwatch.tui.app import DsnwatchApp


def new_app(tmp: Path, **kwargs: Any) -> DsnwatchApp:
    return DsnwatchApp(make_sources(tmp, **kwargs), tick=0.02)


async def until(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Let the app run until `condition` holds (fails the test after `timeout`)."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError("the console did not get there in time")
        await pilot.pause(0.02)
    await pilot.pause()


async def settle(pilot: Pilot[Any], app: DsnwatchApp) -> None:
    """Wait until the recorded log lines and reports are on screen."""
    health = app.header.health
    await until(
        pilot,
        lambda: (
            app.log_view.buffered >= 13
            and len(app.dsn_pane.rows) >= 5
            and health.imap in ("idle", "off")
            and health.pipeline != "checking"
            and not app._reports_dirty
        ),
    )
    await asyncio.sleep(0.05)
    await pilot.pause()


# Sequences Textual itself writes: cursor moves and colours.
_OWN = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def terminal_output(app: DsnwatchApp) -> str:
    """What the screen sends to the terminal now, as a full repaint."""
    update = app.screen._compositor.render_update(full=True)
    assert update is not None
    return str(update.render_segments(app.console))


def foreign_controls(output: str) -> list[str]:
    """Control characters in the output that Textual did not put there itself."""
    rest = _OWN.sub("", output)
    return sorted({c for c in rest if (ord(c) < 32 and c not in "\n\r") or 0x7F <= ord(c) <= 0x9F})


def screen_text(app: DsnwatchApp) -> str:
    """The visible characters of the screen, colours and moves removed."""
    return _OWN.sub("", terminal_output(app))
