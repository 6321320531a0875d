"""The console driven by its keys against a real daemon: each key sends the right command and
the screen shows the outcome."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningDaemon, start_daemon, until, wait_for
from tui.actions import ACTIONS
from tui.app import CircusApp
from tui.widgets.log_view import LogView
from tui.widgets.tables import WatchersTable

PY = sys.executable
SIZE = (120, 36)

CHATTY = """
import time
for i in range(100000):
    print("error" if i % 3 == 0 else "fine", i, flush=True)
    time.sleep(0.05)
"""

QUIET = """
import time
print("once", flush=True)
time.sleep(1000)
"""

EVIL = """
import sys, time
sys.stdout.write("\\x1b]0;owned\\x07\\x1b[2J\\x1b[?1049h\\x1b]52;c;ZXZpbA==\\x07"
                 "\\x1b[31mred\\x1b[0m plain\\x07\\x9b2J\\n")
sys.stdout.flush()
time.sleep(1000)
"""


def programs(tmp_path: Path) -> str:
    (tmp_path / "chatty.py").write_text(CHATTY)
    return (
        '[watchers.web]\ncmd = "sleep 1000"\nnumprocesses = 2\ngraceful_timeout = 2\n'
        f'[watchers.chatty]\ncmd = "{PY} {tmp_path}/chatty.py"\n'
        '[watchers.alpha]\ncmd = "sleep 1000"\n'
    )


def table_names(app: CircusApp) -> list[str]:
    table = app.screen.query_one(WatchersTable)
    return table.keys


@pytest.fixture
def daemon(daemon_factory: Any, tmp_path: Path) -> RunningDaemon:
    d = daemon_factory(programs(tmp_path))
    d.wait_pids("web", 2)
    return d


async def test_opens_on_the_watchers_table_sorted_by_name(daemon: RunningDaemon) -> None:
    app = CircusApp(daemon.endpoint)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: table_names(app) == ["alpha", "chatty", "web"])
        table = app.screen.query_one(WatchersTable)
        assert app.focused is table
        assert table.cursor_row == 0 and app.store.selected == "alpha"


async def test_plus_and_minus_scale_the_selected_watcher(daemon: RunningDaemon) -> None:
    app = CircusApp(daemon.endpoint)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(table_names(app)) == 3)
        await pilot.press("down", "down")  # web
        await until(pilot, lambda: app.store.selected == "web")
        await pilot.press("plus")
        daemon.wait_pids("web", 3)
        await until(pilot, lambda: app.store.watchers["web"].running == 3)
        await pilot.press("minus", "minus")
        daemon.wait_pids("web", 1)
        await until(pilot, lambda: app.store.watcher_cells("web")[2] == "1/1")


async def test_stop_and_restart_ask_first_then_act(daemon: RunningDaemon) -> None:
    app = CircusApp(daemon.endpoint)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(table_names(app)) == 3)
        await pilot.press("down", "down")
        await until(pilot, lambda: app.store.selected == "web")
        before = daemon.pids("web")
        await pilot.press("r")
        await until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen")
        await pilot.press("n")
        await until(pilot, lambda: type(app.screen).__name__ == "MainScreen")
        assert daemon.pids("web") == before
        await pilot.press("r")
        await until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen")
        await pilot.press("y")
        wait_for(lambda: len(daemon.pids("web")) == 2 and not set(before) & set(daemon.pids("web")))
        await pilot.press("x", "y")
        wait_for(lambda: daemon.call("status", name="web")["status"] == "stopped")
        await until(pilot, lambda: app.store.watchers["web"].state == "stopped")
        await pilot.press("s")
        wait_for(lambda: daemon.call("status", name="web")["status"] == "active")
        await until(pilot, lambda: app.store.watchers["web"].state == "active")


async def test_filter_shows_only_matching_output(daemon: RunningDaemon) -> None:
    app = CircusApp(daemon.endpoint)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(table_names(app)) == 3)
        await pilot.press("down")
        await until(pilot, lambda: app.store.selected == "chatty")
        await until(pilot, lambda: len(app.store.log) > 6)
        await pilot.press("slash")
        await pilot.press(*"ERROR")
        await until(pilot, lambda: app.store.log_filter == "ERROR")
        shown = [app.store.log.visible(i).text for i in range(len(app.store.log))]
        assert shown and all(t.startswith("error") for t in shown)
        # New lines are filtered too.
        count = len(shown)
        await until(pilot, lambda: len(app.store.log) > count)
        assert all(
            app.store.log.visible(i).text.startswith("error") for i in range(len(app.store.log))
        )
        await pilot.press("escape")
        await until(pilot, lambda: app.store.log_filter == "")
        assert any(
            app.store.log.visible(i).text.startswith("fine") for i in range(len(app.store.log))
        )


async def test_readonly_hides_and_refuses_changes(daemon: RunningDaemon) -> None:
    app = CircusApp(daemon.endpoint, readonly=True)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(table_names(app)) == 3)
        await pilot.press("down", "down", "plus", "x")  # each press waits until handled
        # Nothing was even sent: a command would run as a worker of the "commands" group.
        assert not [w for w in app.workers if w.group == "commands"]
        assert type(app.screen).__name__ == "MainScreen"
        assert len(daemon.pids("web")) == 2
        active = {b.binding.id for b in app.screen.active_bindings.values()}
        changing = {a.id for a in ACTIONS.values() if a.changes}
        assert {"filter", "quit"} <= active and not active & changing


async def test_help_lists_every_key(daemon: RunningDaemon) -> None:
    app = CircusApp(daemon.endpoint)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await until(pilot, lambda: type(app.screen).__name__ == "HelpScreen")
        keys = {k for k, _ in app.key_help()}
        for key in ("+", "-", "s", "x", "r", "/", "f", "q", "?", "enter", "ctrl+p"):
            assert key in keys, key
        await pilot.press("escape")
        await until(pilot, lambda: type(app.screen).__name__ == "MainScreen")


async def test_enter_opens_details(daemon: RunningDaemon) -> None:
    app = CircusApp(daemon.endpoint)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(table_names(app)) == 3)
        await pilot.press("down", "down", "enter")
        await until(pilot, lambda: type(app.screen).__name__ == "DetailsScreen")
        await until(pilot, lambda: app.store.watchers["web"].options.get("numprocesses") == 2)
        await pilot.press("escape")
        await until(pilot, lambda: type(app.screen).__name__ == "MainScreen")


async def test_quit_leaves_the_daemon_running(daemon: RunningDaemon) -> None:
    app = CircusApp(daemon.endpoint)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(table_names(app)) == 3)
        await pilot.press("q")
    assert len(daemon.pids("web")) == 2


def shown(app: CircusApp) -> list[str]:
    return [app.store.log.visible(i).text for i in range(len(app.store.log))]


async def test_reconnects_after_the_daemon_restarts(tmp_path: Path) -> None:
    short = Path(f"/tmp/ct-rc-{os.getpid()}-{os.urandom(2).hex()}")
    say = f"{PY} -c 'import sys, time; print(sys.argv[1], flush=True); time.sleep(1000)'"
    first = start_daemon(short, f'[watchers.one]\ncmd = "{say} first-daemon"\n')
    app = CircusApp(first.endpoint)
    second: RunningDaemon | None = None
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.store.connection == "connected")
            await until(pilot, lambda: "first-daemon" in shown(app))
            first.stop()
            await until(pilot, lambda: app.store.connection == "disconnected", timeout=15)
            assert "one" in app.store.watchers  # the last data stays on screen
            await until(
                pilot, lambda: "disconnected" in str(app.screen.query_one("#status").render())
            )
            (short / "programs.toml").unlink()
            second = start_daemon(
                short,
                f'[watchers.one]\ncmd = "{say} second-daemon"\n'
                '[watchers.two]\ncmd = "sleep 1000"\n',
            )
            await until(pilot, lambda: app.store.connection == "connected", timeout=20)
            await until(pilot, lambda: table_names(app) == ["one", "two"])
            # Its output starts again at sequence number 1: shown, not taken for old lines.
            await until(pilot, lambda: "second-daemon" in shown(app), timeout=15)
            lines = shown(app)
            assert lines.index("first-daemon") < lines.index("second-daemon")
            assert any("daemon restarted" in line for line in lines)
    finally:
        if second is not None:
            second.stop()
        subprocess.run(["rm", "-rf", str(short)], check=False)


async def test_each_watchers_output_and_all_of_it(daemon_factory: Any, tmp_path: Path) -> None:
    (tmp_path / "chatty.py").write_text(CHATTY)
    (tmp_path / "quiet.py").write_text(QUIET)
    d = daemon_factory(
        f'[watchers.chatty]\ncmd = "{PY} {tmp_path}/chatty.py"\n'
        f'[watchers.quiet]\ncmd = "{PY} {tmp_path}/quiet.py"\n'
    )
    app = CircusApp(d.endpoint)
    async with app.run_test(size=SIZE) as pilot:
        view = app.screen.query_one(LogView)
        await until(pilot, lambda: table_names(app) == ["chatty", "quiet"])
        await until(pilot, lambda: len(shown(app)) > 3)  # chatty's lines
        await pilot.press("down")
        await until(pilot, lambda: shown(app) == ["once"])
        await pilot.press("up")
        await until(pilot, lambda: app.store.selected == "chatty")
        count = len(shown(app))
        await until(pilot, lambda: len(shown(app)) > count + 3)
        await pilot.press("down")  # quiet's line is still there, fetched once
        await until(pilot, lambda: app.store.selected == "quiet")
        assert shown(app) == ["once"]

        await pilot.press("a")  # everything, each line with its watcher's name
        await until(pilot, lambda: {"once"} < set(shown(app)) and len(shown(app)) > 3)
        names = {app.store.log.visible(i).watcher for i in range(len(app.store.log))}
        assert names == {"chatty", "quiet"} and view.show_watcher
        title = app.screen.query_one("#log-title")
        await until(pilot, lambda: "Output of all watchers" in str(title.render()))
        await pilot.press("f")  # pause: the title says so, the view stays put
        await until(pilot, lambda: "paused (f follows)" in str(title.render()))
        assert not view.follow
        await pilot.press("f")
        await until(pilot, lambda: view.follow)
        await pilot.press("a")
        await until(pilot, lambda: shown(app) == ["once"] and not view.show_watcher)


async def test_hostile_output_never_reaches_the_terminal(
    daemon_factory: Any, tmp_path: Path
) -> None:
    (tmp_path / "evil.py").write_text(EVIL)
    d = daemon_factory(f'[watchers.evil]\ncmd = "{PY} {tmp_path}/evil.py"\n')
    app = CircusApp(d.endpoint)
    async with app.run_test(size=SIZE) as pilot:
        view = app.screen.query_one(LogView)

        def rendered() -> str:
            lines = range(view.size.height)
            return "".join(seg.text for y in lines for seg in view.render_line(y))

        text = await until(pilot, lambda: "plain" in rendered() and rendered())
        assert "red" in text and "plain" in text
        for bad in ("\x1b", "\x07", "\x9b"):
            assert bad not in text
        table = app.screen.query_one(WatchersTable)
        await until(pilot, lambda: table.row_count == 1)


async def test_sorting_keeps_the_cursor_on_its_watcher(daemon: RunningDaemon) -> None:
    app = CircusApp(daemon.endpoint)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: table_names(app) == ["alpha", "chatty", "web"])
        await pilot.press("down", "down")
        await until(pilot, lambda: app.store.selected == "web")
        await pilot.press("1")  # name again: reversed
        await until(pilot, lambda: table_names(app) == ["web", "chatty", "alpha"])
        table = app.screen.query_one(WatchersTable)
        assert app.store.selected == "web" and table.cursor_row == 0
        await pilot.press("3")  # processes: web has the most
        await until(pilot, lambda: app.store.sort_key == "procs")
        await until(pilot, lambda: table_names(app)[table.cursor_row] == "web")
        # Clicking a header sorts by it as well.
        await pilot.click(WatchersTable, offset=(3, 1))  # inside the border: the header
        await until(pilot, lambda: app.store.sort_key == "name")
        assert table_names(app)[table.cursor_row] == "web"
