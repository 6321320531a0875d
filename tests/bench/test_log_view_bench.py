"""The log pane under a flood: 10,000 lines a second in 4 batches a second, for a few seconds.

Measures the console process's CPU (target: under 30 % of a core) and how long a keypress takes
to show its effect while the flood goes on (target: under 100 ms), at 80x24 and at 200x60: with
all watchers shown, with a regex filter, and scrolled back (paused). The app runs headless,
but every screen update is still encoded to the bytes a terminal would receive, so that cost
(and the bytes per second a slow SSH link would carry) is counted too.

Run with `make bench`; prints BENCH lines, asserts only that every line arrived.
`BENCH_LOG_SECONDS` (default 5) sets the flood's length, `BENCH_LOG_RATE` (default 10000) its
lines per second.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
from collections.abc import Callable

import psutil
import pytest
from rich.console import RenderableType
from textual import events
from textual._compositor import CompositorUpdate
from textual.app import App, ComposeResult
from textual.screen import Screen

from tui.logbuffer import LogBuffer, LogEntry
from tui.stylesheets import stylesheet
from tui.widgets.log_view import LogView

SECONDS = float(os.environ.get("BENCH_LOG_SECONDS", "5"))
RATE = int(os.environ.get("BENCH_LOG_RATE", "10000"))
TICKS_PER_SECOND = 4
BATCH = RATE // TICKS_PER_SECOND
WATCHERS = ("web", "worker", "scheduler")


def flood_text(n: int) -> str:
    # A realistic mix: plain access lines, coloured levels, tabs, the odd hostile sequence.
    kind = n % 10
    if kind < 5:
        return f'10.0.0.{n % 250} - - "GET /api/items/{n} HTTP/1.1" 200 {n % 9000} 0.{n % 97:03d}'
    if kind < 8:
        return f"\x1b[32mINFO\x1b[0m\tworker {n % 8}\tprocessed job {n} in {n % 500} ms"
    if kind == 8:
        return f"\x1b[1;31mERROR\x1b[0m job {n} failed: timeout after 30 s (attempt {n % 3})"
    return f"\x1b]0;title {n}\x07progress {n % 100}%\x1b[K"


class TimedLogView(LogView):
    """Tells the app when a key's action has run, so the frame showing it can be timed."""

    def _timed(self, action: Callable[[], None]) -> None:
        app = self.app
        assert isinstance(app, FloodApp)
        before = (self.scroll_y, self.follow)
        action()
        if (self.scroll_y, self.follow) == before:
            app.key_shown.set()  # nothing to show (say `up` at the top): handled is done
        else:
            app.key_handled = True

    def action_scroll_up(self) -> None:
        self._timed(super().action_scroll_up)

    def action_scroll_down(self) -> None:
        self._timed(super().action_scroll_down)

    def action_scroll_end(self) -> None:
        self._timed(super().action_scroll_end)


class FloodApp(App[None]):
    CSS_PATH = [stylesheet("log_view.tcss")]

    def __init__(self, buffer: LogBuffer) -> None:
        super().__init__()
        self.buffer = buffer
        self.sent = 0
        self.bytes_out = 0
        self.frames = 0
        self.tick_seconds: list[float] = []
        self.key_handled = False
        self.key_shown = asyncio.Event()

    def compose(self) -> ComposeResult:
        yield TimedLogView(self.buffer, id="log")

    def _display(self, screen: Screen[object], renderable: RenderableType | None) -> None:
        # Headless skips the encoding a terminal driver does; do it, and count the bytes.
        if isinstance(renderable, CompositorUpdate):
            self.bytes_out += len(renderable.render_segments(self.console).encode())
            self.frames += 1
            if self.key_handled:
                self.key_handled = False
                self.key_shown.set()
        super()._display(screen, renderable)

    async def press(self, key: str) -> float:
        """Seconds from a key arriving, as a terminal driver delivers it, to the frame
        that shows its effect."""
        self.key_shown.clear()
        assert self._driver is not None
        sent = time.perf_counter()
        self._driver.send_message(events.Key(key, None))
        await asyncio.wait_for(self.key_shown.wait(), timeout=5)
        return time.perf_counter() - sent

    def tick(self) -> None:
        started = time.perf_counter()
        now = time.time()
        base = self.sent
        self.buffer.extend(
            LogEntry(
                seq=base + i,
                time=now,
                watcher=WATCHERS[(base + i) % 3],
                pid=1000 + (base + i) % 8,
                stream="stderr" if (base + i) % 10 == 8 else "stdout",
                text=TEXTS[(base + i) % len(TEXTS)],
            )
            for i in range(BATCH)
        )
        self.sent += BATCH
        self.query_one(LogView).refresh_lines()
        self.tick_seconds.append(time.perf_counter() - started)


TEXTS = [flood_text(n) for n in range(10_000)]


async def run_flood(*, filtered: bool, reading: bool, size: tuple[int, int]) -> dict[str, float]:
    buffer = LogBuffer(maxlen=20_000)
    app = FloodApp(buffer)
    process = psutil.Process()
    latencies: list[float] = []
    async with app.run_test(size=size) as pilot:
        view = app.query_one(LogView)
        view.show_watcher = True
        view.focus()
        if filtered:
            buffer.set_filter("error|timeout")
        app.tick()  # some content to scroll in
        await pilot.pause()
        if reading:
            await pilot.press("pageup")
        rendered_before = view.lines_rendered
        cpu_before = process.cpu_times()
        started = time.perf_counter()
        timer = app.set_interval(1 / TICKS_PER_SECOND, app.tick)
        rng = random.Random(7)
        # Following: up (stops following), end (follows again). Reading: up, down, in place.
        keys = ["up", "down"] if reading else ["up", "end"]
        while time.perf_counter() - started < SECONDS:
            # Keys at random phases of the tick, as an operator's would be.
            await asyncio.sleep(rng.uniform(0.05, 0.3))
            latencies.append(await app.press(keys[len(latencies) % 2]))
            if not reading:
                assert view.follow == (len(latencies) % 2 == 0)
        timer.stop()
        elapsed = time.perf_counter() - started
        cpu_after = process.cpu_times()
        cpu = (cpu_after.user - cpu_before.user + cpu_after.system - cpu_before.system) / elapsed
        assert app.sent >= RATE * (SECONDS - 1)
        assert buffer.total == app.sent
        return {
            "cpu": cpu * 100,
            "lines_per_s": (app.sent - BATCH) / elapsed,
            "key_median_ms": statistics.median(latencies) * 1000,
            "key_max_ms": max(latencies) * 1000,
            "keys": len(latencies),
            "tick_median_ms": statistics.median(app.tick_seconds[1:]) * 1000,
            "tick_max_ms": max(app.tick_seconds[1:]) * 1000,
            "kib_per_s": app.bytes_out / elapsed / 1024,
            "frames_per_s": app.frames / elapsed,
            "rendered_per_s": (view.lines_rendered - rendered_before) / elapsed,
        }


@pytest.mark.parametrize(
    ("label", "filtered", "reading", "size"),
    [
        ("all watchers, following, 80x24", False, False, (80, 24)),
        ("regex filter, following, 80x24", True, False, (80, 24)),
        ("all watchers, scrolled back, 80x24", False, True, (80, 24)),
        ("all watchers, following, 200x60", False, False, (200, 60)),
    ],
)
async def test_log_view_under_a_flood(
    label: str, filtered: bool, reading: bool, size: tuple[int, int]
) -> None:
    r = await run_flood(filtered=filtered, reading=reading, size=size)
    print(
        f"\nBENCH log view, {label}: {r['lines_per_s']:,.0f} lines/s in {TICKS_PER_SECOND} "
        f"batches/s for {SECONDS:.0f} s; CPU {r['cpu']:.1f} % of a core (target < 30); "
        f"keypress median {r['key_median_ms']:.1f} ms, max {r['key_max_ms']:.1f} ms over "
        f"{r['keys']} keys (target < 100); tick (extend + refresh_lines) median "
        f"{r['tick_median_ms']:.1f} ms, max {r['tick_max_ms']:.1f} ms; "
        f"{r['frames_per_s']:.1f} frames/s, {r['kib_per_s']:.1f} KiB/s to the terminal; "
        f"{r['rendered_per_s']:.0f} lines rendered/s; host load {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} CPUs"
    )
