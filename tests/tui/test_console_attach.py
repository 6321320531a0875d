"""The console attached as an operator attaches it: to a real Circus 0.19 circusd, from
`circus-tui --config` with no daemon yet, and in tmux driven by keystrokes."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.compat.compat_support import start_circusd
from tests.conftest import until, wait_for, write_config
from tests.tui.test_console_pilot import SIZE, table_names
from tui.app import CircusApp

PY = sys.executable


@pytest.fixture
def short_dir() -> Any:
    path = Path(f"/tmp/ct-at-{os.getpid()}-{os.urandom(2).hex()}")
    path.mkdir()
    yield path
    subprocess.run(["rm", "-rf", str(path)], check=False)


async def test_attaches_to_a_real_circusd(short_dir: Path) -> None:
    sup = start_circusd(short_dir, {"sl": {"cmd": "sleep 1000", "numprocesses": 2}}, stats=True)
    try:
        sup.wait_pids("sl", 2)
        app = CircusApp(sup.endpoint)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: "sl" in table_names(app), timeout=15)
            await until(pilot, lambda: app.store.connection == "connected")
            assert app.store.daemon_kind == "circusd"
            await until(pilot, lambda: app.store.watcher_cells("sl")[2] == "2/2", timeout=15)
            title = str(app.screen.query_one("#log-title").render())
            assert "does not stream output" in title
            # Scaling works through Circus's own commands.
            while app.store.selected != "sl":
                await pilot.press("down")
            await pilot.press("plus")
            wait_for(lambda: len(sup.pids("sl")) == 3, timeout=15)
            await until(pilot, lambda: app.store.watcher_cells("sl")[2] == "3/3", timeout=15)
            await pilot.press("x", "y")
            wait_for(lambda: sup.status("sl") == "stopped", timeout=15)
            await pilot.press("s")
            wait_for(lambda: sup.status("sl") == "active", timeout=15)
    finally:
        sup.stop()


def test_config_starts_a_daemon_when_none_answers(short_dir: Path) -> None:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    config, endpoints = write_config(short_dir, '[watchers.hello]\ncmd = "sleep 1000"\n')
    session = f"ct-{os.getpid()}"
    socket_arg = ["-L", session]
    env_cmd = f"cd {short_dir} && {PY} -m tui.cli --config {config}"
    subprocess.run(
        ["tmux", *socket_arg, "new-session", "-d", "-x", "100", "-y", "30", "-s", session, env_cmd],
        check=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )

    def screen() -> str:
        return subprocess.run(
            ["tmux", *socket_arg, "capture-pane", "-p", "-t", session],
            capture_output=True,
            text=True,
            check=False,
        ).stdout

    try:
        wait_for(lambda: "connected" in screen() and "hello" in screen(), timeout=30)
        assert "1/1" in wait_for(lambda: "1/1" in screen() and screen(), timeout=15)
        # Keys typed into the terminal reach the console: `+` scales, `?` shows help.
        subprocess.run(["tmux", *socket_arg, "send-keys", "-t", session, "+"], check=True)
        wait_for(lambda: "2/2" in screen(), timeout=15)
        subprocess.run(["tmux", *socket_arg, "send-keys", "-t", session, "?"], check=True)
        wait_for(lambda: "Keys" in screen(), timeout=10)
        subprocess.run(["tmux", *socket_arg, "send-keys", "-t", session, "Escape"], check=True)
        # tmux holds a lone Escape for a moment (escape-time): let it land before `q`, or
        # the two arrive as alt+q.
        wait_for(lambda: "Keys" not in screen(), timeout=10)
        subprocess.run(["tmux", *socket_arg, "send-keys", "-t", session, "q"], check=True)
        wait_for(lambda: "hello" not in screen() or not screen().strip(), timeout=10)
        # The console is gone; the daemon it started is not.
        ctl = subprocess.run(
            [PY, "-m", "tui.cli", "ctl", "--endpoint", endpoints["endpoint"], "numprocesses"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert ctl.stdout.strip() == "2"
    finally:
        subprocess.run(["tmux", *socket_arg, "kill-server"], check=False)
        subprocess.run(
            [PY, "-m", "tui.cli", "ctl", "--endpoint", endpoints["endpoint"], "quit"],
            capture_output=True,
            timeout=30,
            check=False,
        )
        with contextlib.suppress(AssertionError):  # cleanup: a daemon left behind is not a fail
            wait_for(lambda: not (short_dir / "state" / "daemon.json").exists(), timeout=10)
