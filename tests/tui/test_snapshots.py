"""What the console looks like, at 80x24 and 120x36, on fixed data (tests/tui/demo_data.py).

The SVGs live in the top-level `snapshots/` folder (see tests/tui/conftest.py). After a
deliberate change of looks: `pytest tests/tui/test_snapshots.py --snapshot-update`, then look at
the new files (the report pytest-textual-snapshot writes on failure shows both side by side).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from tests.tui.demo_data import ENDPOINT, demo_store, utc
from tests.tui.readiness_data import readiness_store
from tui.app import CircusApp
from tui.screens.details import DetailsScreen

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 36), id="120x36")]

SnapCompare = Callable[..., bool]


@pytest.fixture(autouse=True)
def _local_time_is_utc() -> Iterator[None]:
    with utc():
        yield


@pytest.fixture(params=SIZES)
def size(request: pytest.FixtureRequest) -> tuple[int, int]:
    return request.param


def console(**store: Any) -> CircusApp:
    """The console on the demo data: no daemon, and no periodic refresh to race with."""
    return CircusApp(ENDPOINT, connect=False, store=demo_store(**store), refresh_interval=3600)


async def settle(pilot: Pilot[Any]) -> None:
    """One more UI tick once the screen is up, as the live console has a few a second: the
    picture is of the console at rest, not of its first frame."""
    app = pilot.app
    assert isinstance(app, CircusApp)
    await pilot.pause()
    app.refresh_from_store()
    await pilot.pause()


async def without_cursor_blink(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    pilot.app.screen.query_one("#filter", Input).cursor_blink = False


async def open_details(pilot: Pilot[Any]) -> None:
    """Enter on the selected watcher. Without a daemon the screen's options and per-process
    history cannot be fetched: it says so in a notification, removed here once shown."""
    await settle(pilot)
    await pilot.press("enter")
    await pilot.pause()
    assert isinstance(pilot.app.screen, DetailsScreen)
    await pilot.app.workers.wait_for_complete()
    pilot.app.clear_notifications()
    await pilot.pause()


def compare(
    snap_compare: SnapCompare,
    app: CircusApp,
    size: tuple[int, int],
    press: tuple[str, ...] = (),
    run_before: Callable[[Pilot[Any]], Awaitable[None]] = settle,
) -> bool:
    return snap_compare(app, press=press, terminal_size=size, run_before=run_before)


def test_main_screen(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    """Watchers (one backing off, one stopped), web's processes and trends, its output."""
    assert compare(snap_compare, console(), size)


def test_filter(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    """`/error` on worker's output: only matching lines, matches highlighted, the count."""
    app = console(selected="worker")
    press = ("slash", *"error")
    assert compare(snap_compare, app, size, press=press, run_before=without_cursor_blink)


def test_details(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    """worker's CPU and memory charts, its events (a SIGKILL, a respawn) and options."""
    assert compare(snap_compare, console(selected="worker"), size, run_before=open_details)


def readiness_console(selected: str = "api") -> CircusApp:
    store = readiness_store(selected)
    return CircusApp(ENDPOINT, connect=False, store=store, refresh_interval=3600)


def test_readiness(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    """Probes and dependencies: api ready 2/3 and its Health column, web in a rolling reload
    (the status line), migrate completed, search unhealthy, mailer waiting for search."""
    assert compare(snap_compare, readiness_console(), size)


def test_readiness_details(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    """web's dependency chain, each condition holding, and each process's last probe."""
    app = readiness_console("web")
    assert compare(snap_compare, app, size, run_before=open_details)


def test_help(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    """`?` lists every key."""
    assert compare(snap_compare, console(), size, press=("question_mark",))


def test_confirm_stop(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    """`x` asks before stopping web; No has the focus."""
    assert compare(snap_compare, console(), size, press=("x",))


def test_disconnected(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    """The daemon went away: the status line says so, the last known state is dimmed."""
    assert compare(snap_compare, console(connected=False), size)


async def test_details_show_options_and_events_as_text_not_markup() -> None:
    """A program's command line and the daemon's reasons are text: `[bold]` is not a style
    and an escape sequence is not sent to the terminal."""
    app = console(selected="worker")
    async with app.run_test(size=(120, 36)) as pilot:
        app.store.apply_options("worker", {"cmd": "echo [bold]x[/bold] \x1b]0;PWNED\x07"})
        app.store.apply_event("worker", "failed", {"reason": "[red]bad[/red]", "time": 1.0})
        await open_details(pilot)
        app.store.apply_options("worker", {"cmd": "echo [bold]x[/bold] \x1b]0;PWNED\x07"})
        app.screen.refresh_from_store()
        await pilot.pause()
        options = str(app.screen.query_one("#options", Static).render())
        events = str(app.screen.query_one("#events", Static).render())
        assert "[bold]x[/bold]" in options and "\x1b" not in options
        assert "[red]bad[/red]" in events


async def test_details_show_dependencies_and_health_only_when_there_are_some() -> None:
    app = readiness_console("mailer")
    async with app.run_test(size=(120, 36)) as pilot:
        await open_details(pilot)
        screen = app.screen
        assert screen.query_one("#deps").display and not screen.query_one("#health").display
        deps = str(screen.query_one("#deps", Static).render())
        assert deps.splitlines() == [
            "waiting for search: 1 of 2 ready",
            "✗ search ready (now unhealthy (GET /_health: timed out…))",
        ]
