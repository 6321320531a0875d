"""The console on a daemon of another host, through a real sshd on a loopback port: its rows,
a key acting on the remote daemon, and the tunnel rebuilt after its ssh died."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from daemon.targets import parse_target
from daemon.tunnel import Reach, ssh_command
from tests.support.dirs import short_dir
from tests.support.sshd import SshServer, session_env, start_sshd
from tests.support.waiting import until
from tui.app import CircusApp
from tui.store import CONNECTED
from tui.widgets.tables import WatchersTable


@pytest.fixture(scope="module")
def sshd() -> Iterator[SshServer]:
    with short_dir("rc") as runtime, short_dir("sc") as directory:
        yield from start_sshd(directory, session_env(runtime))


def names(app: CircusApp) -> list[str]:
    return app.screen.query_one(WatchersTable).keys


async def test_the_console_through_ssh_acts_and_survives_a_dropped_tunnel(
    daemon_factory: Any, sshd: SshServer
) -> None:
    d = daemon_factory('[watchers.web]\ncmd = "sleep 600"\n[watchers.api]\ncmd = "sleep 600"\n')
    target = parse_target(sshd.target(d.endpoint.removeprefix("ipc://")))
    reach = Reach(target, ssh_command(sshd.ssh_command()))
    app = CircusApp(target.text, reach=reach)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await until(pilot, lambda: names(app) == ["api", "web"], timeout=30)
            await pilot.press("down")  # web
            await until(pilot, lambda: app.store.selected == "web")
            await pilot.press("plus")
            d.wait_pids("web", 2)
            await until(pilot, lambda: app.store.watchers["web"].running == 2)
            # The ssh connection dies: the console says so, keeps its rows, and is back
            # through a new tunnel.
            assert reach.tunnel is not None and reach.tunnel.master is not None
            dropped = time.monotonic()
            reach.tunnel.master.kill()
            await until(pilot, lambda: app.store.connection != CONNECTED, timeout=30)
            assert names(app) == ["api", "web"]
            await until(pilot, lambda: app.store.connection == CONNECTED, timeout=30)
            d.call("incr", name="api")
            await until(pilot, lambda: app.store.watchers["api"].running == 2, timeout=30)
            print(f"dropped tunnel to live data again: {time.monotonic() - dropped:.2f} s")
    finally:
        reach.close()
