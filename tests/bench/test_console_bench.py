"""The console under load: 200 watchers of 5 processes each (1,000 processes) on a real daemon,
10,000 output lines a second, the console headless at 120x36 in this process.

Targets (the console issue): a keypress shows its effect within 100 ms; the console uses under
30 % of a core. Also measured: the console's RSS, and the time to a full first screen.

Load. 200 watchers `w000` ... `w199`, 5 processes each. 190 run `sleep`; 10 (`w000`, `w003`, ...
`w027`, interleaved with sleepers at the top of the table, where the keys go) run a small Python
writer whose wid 1 prints 1,000 lines a second in batches every 10 ms (wids 2-5 exec `sleep`),
so 10,000 lines a second in all. The daemon publishes stats every second (1,000 process
messages and 200 watcher aggregates a second reach the console). The daemon is a separate
process: the CPU figures below are this process's only (`time.process_time()`, every thread:
the event loop and ZeroMQ's I/O threads).

Time to a full first screen: from `App.run_test` being entered (driver, CSS, compose, mount,
connection) to the first frame written after the watchers table holds 200 rows, every row
shows `5/5` processes and a memory figure from the stats (not the `0.0%` shown before any
stats), and the process table holds the selected watcher's 5 processes. Interpreter start and
imports are what `circus-tui` adds on top: measured apart, in a fresh interpreter
(`python -c "import tui.app"`), and reported with the sum.

Keypress-to-screen latency: a key is delivered as a terminal driver delivers it
(`driver.send_message(events.Key)`, not `pilot.press`, which also waits for idle and adds
pauses). The clock stops at the first frame written (`App._display`, hooked) at which the key's
visible effect has reached the terminal: a frame whose bytes, as a terminal would receive them,
contain the effect's text (`Output of w004 —` in the log pane's title after `down` from `w003`,
`paused (f follows)` after `f`, `match 'err'` while typing a filter), this frame or a later
one, with the widgets' state agreeing when it is written (the selected watcher, the cursor row,
the process table's 5 pids; the follow flag; the store's filter). Headless Textual skips
encoding frames for a terminal; the hook does it (and counts the bytes), so that cost is in the
CPU figures as on a real terminal. Keys come at random moments 50-300 ms apart, as an
operator's would: 20 `down` and 5 `up` over the top of the table, 4 `f`, then `/`, `error`
typed and `escape`. A key not shown within 15 s is reported (and ends the key phase if it
moved the cursor); so does a key phase longer than 60 s. Event-loop stalls (how late a 10 ms
sleep wakes up) are reported per phase.

CPU: `time.process_time()` over a 20 s window with the load on and no keys (after 2 s to
settle), divided by the wall time; then again over the key phase. RSS: psutil, of this pytest
process (what it held before the app started is reported too).

Run with `make bench` (pytest -q -s tests/bench); prints BENCH lines and asserts only that the
load ran (the daemon published at least 80 % of the lines). Nothing about speed is asserted.
`BENCH_CONSOLE_CPU_SECONDS` (default 20) sets the CPU window; `BENCH_CONSOLE_PROFILE=FILE` writes
cProfile statistics of the key phase to FILE (read them with `python -m pstats FILE`).
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from rich.console import RenderableType
from textual import events
from textual._compositor import CompositorUpdate
from textual.screen import Screen

from tests.conftest import RunningDaemon, start_daemon, wait_for
from tui.app import CircusApp
from tui.store import Store
from tui.widgets.log_view import LogView
from tui.widgets.tables import ProcessTable, WatchersTable

WATCHERS = 200
PROCESSES = 5
WRITERS = [f"w{i:03d}" for i in range(0, 30, 3)]  # 10 watchers with output
LINES_PER_WRITER = 1_000  # lines a second
WRITE_EVERY = 0.01  # seconds
SIZE = (120, 36)
CPU_SECONDS = float(os.environ.get("BENCH_CONSOLE_CPU_SECONDS", "20"))
KEY_TIMEOUT = 15.0  # a key not shown by then ends the key phase
KEY_PHASE_SECONDS = 60.0
PROFILE = os.environ.get("BENCH_CONSOLE_PROFILE")  # a file for cProfile stats of the key phase

WRITER = f"""
import os, sys, time
if os.environ.get("CIRCUS_TUI_WID") != "1":
    os.execvp("sleep", ["sleep", "3600"])
name = sys.argv[1]
per_batch = round({LINES_PER_WRITER} * {WRITE_EVERY})
levels = ["INFO", "INFO", "INFO", "DEBUG", "WARNING", "ERROR"]
out = sys.stdout.buffer
n = 0
next_at = time.monotonic()
while True:
    lines = []
    for _ in range(per_batch):
        level = levels[n % len(levels)]
        lines.append(
            f"{{level}} {{name}} request {{n}} GET /api/items/{{n % 977}} 200 {{n % 4096}}B "
            f"in {{n % 250}} ms\\n".encode()
        )
        n += 1
    out.write(b"".join(lines))
    out.flush()
    next_at += {WRITE_EVERY}
    delay = next_at - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    elif delay < -1:
        next_at = time.monotonic()
"""

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def config(writer: Path) -> str:
    body = []
    for i in range(WATCHERS):
        name = f"w{i:03d}"
        cmd = f"{sys.executable} {writer} {name}" if name in WRITERS else "sleep 3600"
        body.append(
            f'[watchers.{name}]\ncmd = "{cmd}"\nnumprocesses = {PROCESSES}\ngraceful_timeout = 2\n'
        )
    return "\n".join(body)


@dataclass
class Waiter:
    marker: str
    check: Callable[[], bool]
    done: asyncio.Event
    seen: bool = False  # the marker was in a frame


class BenchApp(CircusApp):
    """The console, with its frames encoded as a terminal driver would, and watched."""

    def __init__(self, endpoint: str) -> None:
        super().__init__(endpoint, store=Store())
        self.frames = 0
        self.bytes_out = 0
        self.waiter: Waiter | None = None
        self.first_full: Callable[[], bool] | None = None
        self.first_full_at: float | None = None

    def _display(self, screen: Screen[object], renderable: RenderableType | None) -> None:
        if isinstance(renderable, CompositorUpdate) and not self._batch_count:
            data = renderable.render_segments(self.console)
            self.frames += 1
            self.bytes_out += len(data.encode())
            waiter = self.waiter
            if waiter is not None and not waiter.done.is_set():
                waiter.seen = waiter.seen or waiter.marker in ANSI.sub("", data)
                if waiter.seen and waiter.check():
                    waiter.done.set()
            if self.first_full is not None and self.first_full_at is None and self.first_full():
                self.first_full_at = time.perf_counter()
        super()._display(screen, renderable)

    async def key_to_screen(self, key: str, marker: str, check: Callable[[], bool]) -> float:
        """Seconds from `key` arriving to the first frame that shows `marker`, with `check`
        true when it is written (the marker may show first, the state a frame later)."""
        waiter = self.waiter = Waiter(marker, check, asyncio.Event())
        assert self._driver is not None
        char = key if len(key) == 1 else {"slash": "/"}.get(key)
        sent = time.perf_counter()
        self._driver.send_message(events.Key(key, char))
        try:
            await asyncio.wait_for(waiter.done.wait(), timeout=KEY_TIMEOUT)
        except TimeoutError:
            state = (
                f"marker seen: {waiter.seen}, check: {check()}, selected "
                f"{self.store.selected}, focus {self.focused}, screen {self.screen}"
            )
            raise AssertionError(
                f"key {key!r}: {marker!r} not on screen in {KEY_TIMEOUT} s ({state})"
            ) from None
        finally:
            self.waiter = None
        return time.perf_counter() - sent


def full_first_screen(app: BenchApp) -> bool:
    store = app.store
    if len(store.watchers) != WATCHERS:
        return False
    table = app.screen.query_one(WatchersTable)
    if table.row_count != WATCHERS:
        return False
    for name in store.watchers:
        cells = table.cells(name)
        if cells is None or cells[2] != f"{PROCESSES}/{PROCESSES}" or cells[4].endswith("%"):
            return False
    procs = app.screen.query_one(ProcessTable)
    return procs.row_count == PROCESSES and procs.watcher == store.selected


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def import_seconds() -> float:
    """What `circus-tui` spends before the app starts: interpreter and imports (best of 3)."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import tui.app, tui.cli"], check=True)
        best = min(best, time.perf_counter() - started)
    return best


def stop_all(daemon: RunningDaemon) -> None:
    """Quit the daemon, then kill by pid whatever it started that is still alive."""
    try:
        children = psutil.Process(daemon.proc.pid).children(recursive=True)
    except psutil.Error:
        children = []
    with contextlib.suppress(Exception):
        daemon.call("quit", timeout=5)
    daemon.stop(timeout=30)
    for child in children:
        with contextlib.suppress(psutil.Error):  # psutil refuses a pid reused since
            child.send_signal(signal.SIGKILL)


class LoopLag:
    """How late a 10 ms sleep wakes up: the event loop's stalls, when nothing else runs."""

    def __init__(self) -> None:
        self.stalls: list[float] = []
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.ensure_future(self._watch())

    async def _watch(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            self.stalls.append(time.perf_counter() - before - 0.01)

    def take(self) -> list[float]:
        stalls, self.stalls = self.stalls, []
        return stalls

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()


def stall_text(stalls: list[float]) -> str:
    if not stalls:
        return "no samples"
    over = sum(s > 0.1 for s in stalls)
    return (
        f"event loop stalls: max {ms(max(stalls))}, {over} over 100 ms, "
        f"{sum(s for s in stalls if s > 0.1):.1f} s stalled in all"
    )


Key = tuple[str, str, str, Callable[[], bool]]  # kind, key, marker, check


def key_script(app: BenchApp) -> list[Callable[[], Key]]:
    """The keys pressed, each built when its turn comes (its check reads the state then)."""
    store = app.store
    screen = app.screen
    table = screen.query_one(WatchersTable)
    procs = screen.query_one(ProcessTable)
    log = screen.query_one(LogView)
    box = screen.query_one("#filter")

    def move(kind: str, name: str) -> Callable[[], Key]:
        def build() -> Key:
            pids = {str(p) for p in store.watchers[name].processes}

            def check() -> bool:
                return (
                    store.selected == name
                    and procs.watcher == name
                    and {procs.cells(key)[0] for key in procs.keys} == pids
                    and table.current_key() == name
                )

            return kind, kind, f"Output of {name} —", check

        return build

    # Down through w001 ... w020 (writers and sleepers in turn), up to w015 (a writer).
    script = [move("down", f"w{i:03d}") for i in range(1, 21)]
    script += [move("up", f"w{i:03d}") for i in range(19, 14, -1)]
    name = "w015"

    def toggle_follow() -> Key:
        # Pause, or follow again; what it shows depends on the state at the press.
        if log.follow:
            return "f", "f", "paused (f follows)", lambda: not log.follow
        return "f", "f", f"Output of {name} — following", lambda: log.follow

    script += [toggle_follow] * 4
    script.append(lambda: ("filter", "slash", "filter: text or regex", lambda: box.has_focus))
    for n in range(1, 6):
        typed = "error"[:n]
        script.append(
            lambda typed=typed: (
                "filter",
                typed[-1],
                f"match {typed!r}",
                lambda: store.log_filter == typed,
            )
        )
    script.append(
        lambda: (
            "filter",
            "escape",
            f"Output of {name} — following",
            lambda: not store.log_filter and table.has_focus,
        )
    )
    return script


def others_cpu(daemon: RunningDaemon) -> Callable[[], dict[str, float]]:
    """CPU seconds of the daemon and of the writers, read apart from the console's."""
    main = psutil.Process(daemon.proc.pid)
    writers = []
    for child in main.children():
        with contextlib.suppress(psutil.Error):
            if "writer.py" in " ".join(child.cmdline()):
                writers.append(child)

    def seconds(proc: psutil.Process) -> float:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            return 0.0
        return times.user + times.system

    return lambda: {"daemon": seconds(main), "writers": sum(map(seconds, writers))}


def published(daemon: RunningDaemon) -> int:
    """Lines the writers have printed so far, as the daemon counts them (its sequence numbers).
    A blocking call: made outside the CPU window."""
    return sum(daemon.call("tail", name=name, count=0)["last_seq"] for name in WRITERS)


async def measure(daemon: RunningDaemon) -> None:
    imports = import_seconds()
    read_others = others_cpu(daemon)
    me = psutil.Process()
    rss_before = me.memory_info().rss
    app = BenchApp(daemon.endpoint)
    app.first_full = lambda: full_first_screen(app)
    lag = LoopLag()
    started = time.perf_counter()
    async with app.run_test(size=SIZE):
        entered = time.perf_counter()
        lag.start()
        deadline = time.monotonic() + 60
        while app.first_full_at is None:
            assert time.monotonic() < deadline, "no full first screen within 60 s"
            await asyncio.sleep(0.005)
        first_screen = app.first_full_at - started
        first_stalls = lag.take()
        store = app.store
        assert store.selected == "w000" and app.screen.query_one(WatchersTable).has_focus

        # -- CPU under load, no keys -----------------------------------------------------
        await asyncio.sleep(2)  # the tails of the snapshot are in; steady state
        lag.take()
        lines_before, frames_before, bytes_before = store.log.total, app.frames, app.bytes_out
        others_before = read_others()
        published_before = published(daemon)
        cpu_before, wall_before = time.process_time(), time.perf_counter()
        await asyncio.sleep(CPU_SECONDS)
        wall = time.perf_counter() - wall_before
        cpu = (time.process_time() - cpu_before) / wall
        others = {k: (v - others_before[k]) / wall for k, v in read_others().items()}
        published_per_s = (published(daemon) - published_before) / wall
        lines_per_s = (store.log.total - lines_before) / wall
        frames_per_s = (app.frames - frames_before) / wall
        kib_per_s = (app.bytes_out - bytes_before) / wall / 1024
        rss = me.memory_info().rss
        cpu_stalls = lag.take()

        # -- keys ------------------------------------------------------------------------
        rng = random.Random(7)
        latencies: dict[str, list[float]] = {}
        misses: list[str] = []
        script = key_script(app)
        profiler = cProfile.Profile() if PROFILE else None
        if profiler is not None:
            profiler.enable()
        key_cpu_before, key_wall_before = time.process_time(), time.perf_counter()
        for build in script:
            if time.perf_counter() - key_wall_before > KEY_PHASE_SECONDS:
                misses.append(f"key phase cut at {KEY_PHASE_SECONDS:.0f} s")
                break
            await asyncio.sleep(rng.uniform(0.05, 0.3))
            kind, key, marker, check = build()
            try:
                seconds = await app.key_to_screen(key, marker, check)
            except AssertionError as exc:
                misses.append(str(exc))
                if kind in ("down", "up"):
                    break  # the next keys' expected rows would be wrong
                continue
            latencies.setdefault(kind, []).append(seconds)
        key_wall = time.perf_counter() - key_wall_before
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(PROFILE)
        key_cpu = (time.process_time() - key_cpu_before) / key_wall
        key_stalls = lag.take()
        rss_after_keys = me.memory_info().rss
        lag.stop()
        # Reported before the console quits, so a failure on the way out loses no figure.
        every = [s for values in latencies.values() for s in values]
        print()
        print(
            f"BENCH console load: {WATCHERS} watchers x {PROCESSES} processes, "
            f"{len(WRITERS)} writers x {LINES_PER_WRITER} lines/s: the daemon published "
            f"{published_per_s:,.0f} lines/s, the console took in {lines_per_s:,.0f} lines/s; "
            f"{SIZE[0]}x{SIZE[1]}; meanwhile the daemon used "
            f"{others['daemon'] * 100:.0f} % and the writers {others['writers'] * 100:.0f} % "
            f"of a core; {os.cpu_count()} cores, load average "
            + ", ".join(f"{x:.1f}" for x in os.getloadavg())
        )
        print(
            f"BENCH time to a full first screen ({WATCHERS} rows, all {PROCESSES}/{PROCESSES}, "
            f"stats shown): {ms(first_screen)} from app start (run_test entered after "
            f"{ms(entered - started)}); + interpreter and imports {ms(imports)} = "
            f"{ms(first_screen + imports)} from `circus-tui`; {stall_text(first_stalls)}"
        )
        print(
            f"BENCH console CPU under load, no keys: {cpu * 100:.1f} % of a core over {wall:.1f} s "
            f"(target < 30); {frames_per_s:.1f} frames/s, {kib_per_s:.1f} KiB/s to the terminal; "
            f"{stall_text(cpu_stalls)}"
        )
        if every:
            kinds = "; ".join(
                f"{kind} x{len(v)} median {ms(statistics.median(v))} max {ms(max(v))}"
                for kind, v in latencies.items()
            )
            print(
                f"BENCH keypress to screen over {len(every)} of {len(script)} keys: median "
                f"{ms(statistics.median(every))}, p95 {ms(p95(every))}, max {ms(max(every))} "
                f"(target < 100 ms); {kinds}"
            )
        for miss in misses:
            print(f"BENCH keypress not shown: {miss}")
        print(
            f"BENCH console CPU while keys are pressed: {key_cpu * 100:.1f} % of a core over "
            f"{key_wall:.1f} s; {stall_text(key_stalls)}"
        )
        print(
            f"BENCH console RSS: {rss / 2**20:.1f} MiB after the CPU window, "
            f"{rss_after_keys / 2**20:.1f} MiB after the keys (this pytest process; "
            f"{rss_before / 2**20:.1f} MiB before the app started: the app adds "
            f"{(rss - rss_before) / 2**20:.1f} MiB)"
        )
        assert published_per_s > 0.8 * LINES_PER_WRITER * len(WRITERS), "the load did not run"


@pytest.mark.timeout(300)
async def test_console_under_load() -> None:
    directory = Path(f"/tmp/ccb-{os.getpid()}")
    directory.mkdir(parents=True, exist_ok=True)
    writer = directory / "writer.py"
    writer.write_text(WRITER)
    daemon: RunningDaemon | None = None
    try:
        started = time.perf_counter()
        daemon = start_daemon(directory, config(writer), circus_extra="stats_interval = 1.0\n")
        d = daemon

        def ready() -> bool:
            details = d.call("status")["details"]
            if sum(v.get("running") == PROCESSES for v in details.values()) != WATCHERS:
                return False
            infos = d.call("stats")["infos"]
            return all(
                len(v) == PROCESSES and all(i.get("rss") for i in v.values())
                for v in infos.values()
            )

        wait_for(ready, timeout=90, interval=0.5)
        print(
            f"\n(daemon with {WATCHERS * PROCESSES} processes up and sampled in "
            f"{time.perf_counter() - started:.1f} s)"
        )
        await measure(daemon)
    finally:
        if daemon is not None:
            stop_all(daemon)
        subprocess.run(["rm", "-rf", str(directory)], check=False)
