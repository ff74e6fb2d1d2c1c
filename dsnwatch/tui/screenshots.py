"""`python -m dsnwatch.tui.screenshots DIR`: the console's screens as SVG, from the real app.

The console runs headless on the configured server (`--lab`: the lab) with its real
sources, the same as `dsnwatch` opens it, and each screen is saved with Textual's
screenshot export once what it shows has arrived. `make screenshots` brings the lab
up, installs the pipeline, sends the four test bounces, then writes docs/images/.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SIZE = (100, 32)
# (file name, what it shows); the order they are taken in.
SHOTS = (
    ("console-main.svg", "the main screen"),
    ("console-detail.svg", "the detail screen of the newest report"),
    ("console-doctor.svg", "the doctor's checks"),
    ("console-tests.svg", "the test menu"),
    ("console-install.svg", "install, on a server where the pipeline is in place"),
    ("console-help.svg", "every key"),
)


class ShotError(RuntimeError):
    """The console did not show what a screenshot needs in time."""


async def _until(pilot: Any, what: str, condition: Callable[[], bool], timeout: float) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise ShotError(f"the console did not show {what} within {timeout:.0f}s")
        await pilot.pause(0.1)
    await pilot.pause(0.3)


def _doctor_text(app: Any) -> str:
    from textual.widgets import Static

    return str(app.screen.query_one("#doctor-checks", Static).content)


async def take(out: Path, *, lab: bool = True, timeout: float = 60.0) -> list[Path]:
    """Run the console on the configured server and save every screen in `out`."""
    from dsnwatch.config import load_config
    from dsnwatch.tui.app import DsnwatchApp
    from dsnwatch.tui.launch import sources_from_config
    from dsnwatch.tui.screens.detail import DetailScreen
    from dsnwatch.tui.screens.doctor import DoctorScreen
    from dsnwatch.tui.screens.install import InstallScreen

    cfg = load_config(lab=lab)
    if cfg.docker_host:
        # The engine through DOCKER_HOST, as on most servers: the header names the project only.
        os.environ["DOCKER_HOST"] = cfg.docker_host
        cfg.docker_host = ""
    out.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="dsnwatch-shots-") as scratch:
        cfg.store = str(Path(scratch) / "store.sqlite")  # the whole mailbox, read afresh
        app = DsnwatchApp(sources_from_config(cfg))

        def save(name: str) -> None:
            app.save_screenshot(name, str(out))
            saved.append(out / name)

        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.5)
            health = app.header.health
            await _until(
                pilot,
                "the reports, the logs and the pipeline's health",
                lambda: (
                    len(app.dsn_pane.rows) > 0
                    and app.log_view.buffered > 0
                    and health.imap == "idle"
                    and health.pipeline != "checking"
                ),
                timeout,
            )
            save("console-main.svg")

            async def screen(
                key: str, name: str, what: str, ready: Callable[[], bool], extra: float = 0.0
            ) -> None:
                """Open a screen with its key, save it once `ready` holds, go back."""
                await pilot.press(key)
                await _until(pilot, what, ready, timeout)
                await pilot.pause(extra)
                save(name)
                await pilot.press("escape")

            app.dsn_pane.table.focus()
            await screen(
                "enter",
                "console-detail.svg",
                "the detail screen",
                lambda: (
                    isinstance(app.screen, DetailScreen)
                    and "Reading" not in str(app.screen._body("raw").content)
                ),
            )
            await screen(
                "d",
                "console-doctor.svg",
                "the doctor's checks",
                lambda: isinstance(app.screen, DoctorScreen) and "Running" not in _doctor_text(app),
            )
            await screen("t", "console-tests.svg", "the test menu", lambda: True, 0.5)
            # With nothing to change, the doctor's checks follow the plan: 2 s more.
            await screen(
                "i",
                "console-install.svg",
                "the install plan",
                lambda: (
                    isinstance(app.screen, InstallScreen)
                    and app.screen.state in ("planned", "done", "failed")
                ),
                2.0,
            )
            await screen("question_mark", "console-help.svg", "the help", lambda: True, 0.5)
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dsnwatch.tui.screenshots",
        description="Save the console's screens as SVG (docs/images/ for docs/console.md).",
    )
    parser.add_argument("out", type=Path, help="where to write the SVG files")
    parser.add_argument(
        "--configured",
        action="store_true",
        help="use the configured server instead of the lab",
    )
    args = parser.parse_args(argv)
    try:
        saved = asyncio.run(take(args.out, lab=not args.configured))
    except ShotError as exc:
        print(f"screenshots: {exc}", file=sys.stderr)
        return 1
    for path in saved:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
