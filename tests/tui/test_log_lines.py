"""The log pane under load: compact lines, bounded work per tick, a bounded hand-over."""

from __future__ import annotations

import gc
import threading
import time
from pathlib import Path

import pytest
from fakes import make_sources
from helpers import screen_text, until

from dsnwatch.logs.events import LogEvent
from dsnwatch.logs.follow import LogQueue
from dsnwatch.logs.readers import read_line
from dsnwatch.tui import app as app_module
from dsnwatch.tui.app import DsnwatchApp
from dsnwatch.tui.lines import ALERT_KIND, LOOKS, Lines, alert_line

BOUNCE = (
    "2026-12-03T16:00:07.123456789Z Dec  3 16:00:07 h postfix/smtp[41]: 0A1B2C3D4E: "
    "to=<kim@example.net>, relay=mx.example.net[198.51.100.7]:25, delay=0.6, dsn=5.1.1,"
    " status=bounced (550 5.1.1 user unknown)"
)
REMOVED = "2026-12-03T16:00:07.987654321Z Dec  3 16:00:07 h postfix/qmgr[9]: 0A1B2C3D4E: removed"
PLAIN = "2026-12-03T16:00:08.000000001Z something nobody reads [/INBOX]"


def _removed(n: int) -> str:
    return f"2026-12-03T16:00:{n % 60:02d}.000000000Z Dec  3 16:00:00 h postfix/qmgr[9]: Q{n:09X}: removed"


def test_a_packed_line_keeps_what_the_view_shows() -> None:
    bounce, removed, plain = (read_line(line) for line in (BOUNCE, REMOVED, PLAIN))
    alert = alert_line("dsn-discarded", "a report was discarded", bounce.time)
    lines = Lines.pack([bounce, removed, plain, alert])
    assert len(lines) == 4
    first = lines.line(0)
    assert first.raw == BOUNCE and first.kind == "postfix-delivery" and first.service == "postfix"
    assert first.message == (
        "delivery  0A1B2C3D4E  -> kim@example.net  bounced  dsn=5.1.1  (550 5.1.1 user unknown)"
    )
    assert first.alerting and LOOKS[lines.look[0]] == "alert"
    assert LOOKS[lines.look[1]] == "plain" and not lines.alerting(1)
    # A line the readers did not take apart: the message is the raw text after the stamp,
    # kept as an offset, not as a second copy of the text.
    assert lines.text[2] == len("2026-12-03T16:00:08.000000001Z ")
    assert lines.message(2) == "something nobody reads [/INBOX]"
    assert lines.kind[3] == ALERT_KIND and lines.alerting(3)
    assert lines.message(3) == "ALERT dsn-discarded: a report was discarded"
    # Lines of the same second share one time column string, whatever their fraction.
    assert lines.stamp[0] is lines.stamp[1] is lines.stamp[3]
    assert lines.stamp[2] != lines.stamp[0]


def test_the_time_column_falls_back_to_the_syslog_time_then_to_dashes() -> None:
    syslog = LogEvent(kind="plain", service="", raw="x", syslog_time="Dec  3 16:00:09")
    broken = LogEvent(kind="plain", service="", raw="x", time="2026-12-03T16:00:xx.1Z")
    bare = LogEvent(kind="plain", service="", raw="x")
    lines = Lines.pack([syslog, broken, bare])
    assert lines.stamp == ["16:00:09", "16:00:xx", "--:--:--"]


def test_held_lines_are_no_objects_for_the_garbage_collector() -> None:
    events = [read_line(BOUNCE if n % 2 else _removed(n)) for n in range(2_000)]
    lines = Lines.pack(events)
    del events
    gc.collect()
    for column in (lines.raw, lines.text, lines.stamp, lines.service, lines.kind, lines.look):
        assert len(column) == 2_000
        assert not any(gc.is_tracked(value) for value in column)


def test_slices_keep_the_order_and_drop_first_forgets_the_oldest() -> None:
    lines = Lines.pack([read_line(_removed(n)) for n in range(10)])
    more = Lines()
    more.extend(lines, 2, 5)
    more.extend(lines, 8)
    assert [more.line(i).raw for i in range(len(more))] == [_removed(n) for n in (2, 3, 4, 8, 9)]
    more.drop_first(2)
    assert more.line(0).raw == _removed(4) and len(more) == 3


@pytest.mark.asyncio
async def test_a_backlog_beyond_the_capacity_is_counted_not_held(tmp_path: Path) -> None:
    app = DsnwatchApp(make_sources(tmp_path, lines=[]), log_capacity=100, tick=0.02)
    async with app.run_test() as pilot:
        view = app.log_view
        await pilot.press("space")  # paused: every line that arrives is counted as new
        assert not view.following
        with app._lock:
            app._inbox.extend(Lines.pack([read_line(_removed(n)) for n in range(1_000)]))
        await until(pilot, lambda: view.received == 1_000)
        assert view.pending == 1_000
        assert view.buffered <= 110  # the capacity and the tenth it trims in one go
        assert view.shown_lines()[-1].raw == _removed(999)
        await pilot.press("slash", *"q0000003d", "enter")  # 0x3D0..0x3DF: 976 to 991
        assert [line.raw for line in view.shown_lines()] == [_removed(n) for n in range(976, 992)]


@pytest.mark.asyncio
async def test_a_big_backlog_is_shown_a_slice_per_tick(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "SLICE_LINES", 100)
    monkeypatch.setattr(app_module, "SLICE_BUDGET", 0.0)  # one slice a tick
    app = DsnwatchApp(make_sources(tmp_path, lines=[]), tick=0.05)
    async with app.run_test() as pilot:
        view = app.log_view
        per_tick: list[int] = []
        show = app._show_backlog

        def counted(backlog: Lines) -> None:
            before = view.received
            show(backlog)
            per_tick.append(view.received - before)

        app._show_backlog = counted  # type: ignore[method-assign]
        with app._lock:
            app._inbox.extend(Lines.pack([read_line(_removed(n)) for n in range(1_000)]))
        await until(pilot, lambda: view.received == 1_000)
        assert [count for count in per_tick if count] == [100] * 10
        assert [line.raw for line in view.shown_lines()] == [_removed(n) for n in range(1_000)]


class _Firehose:
    """A follower that never stops writing: it waits on the full queue like a real one."""

    def __init__(self, queue: LogQueue) -> None:
        self.queue = queue
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.stopped_after = -1.0

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            self.queue.put(read_line(_removed(n)))
            n += 1

    def stop(self, timeout: float = 5.0) -> None:
        began = time.monotonic()
        self._stop.set()
        self._thread.join(timeout)
        self.stopped_after = time.monotonic() - began


@pytest.mark.asyncio
async def test_a_follower_waiting_on_a_full_queue_still_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "LOG_QUEUE_SIZE", 50)
    created: list[_Firehose] = []

    def followers(queue: LogQueue) -> _Firehose:
        created.append(_Firehose(queue))
        return created[0]

    sources = make_sources(tmp_path)
    sources.followers = followers
    app = DsnwatchApp(sources, tick=0.02)
    async with app.run_test() as pilot:
        await until(pilot, lambda: app.log_view.received > 1_000)
        app.shutdown_sources()
        await until(pilot, lambda: created[0].stopped_after >= 0)
    assert created[0].stopped_after < 1.0
    assert not created[0]._thread.is_alive()


@pytest.mark.asyncio
async def test_following_through_many_batches_keeps_the_newest_line_on_screen(
    tmp_path: Path,
) -> None:
    app = DsnwatchApp(make_sources(tmp_path, lines=[]), tick=0.02)
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.log_view
        for batch in range(30):
            view.append([read_line(_removed(batch * 50 + n)) for n in range(50)])
            await pilot.pause()
        await pilot.pause()
        assert view.virtual_size.height == view.line_count == 1_500
        assert view.vertical_scrollbar.window_virtual_size == 1_500
        assert view.scroll_y == view.max_scroll_y > 0
        assert f"Q{1_499:09X}" in screen_text(app)
        assert "1,500 lines" in screen_text(app)
        await pilot.press("space")
        view.append([read_line(_removed(2_000 + n)) for n in range(50)])
        await pilot.pause()
        assert view.scroll_y == view.max_scroll_y - 50  # paused: the view stays put
        assert "+50 new" in screen_text(app)
