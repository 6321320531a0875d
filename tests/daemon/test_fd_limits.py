"""File descriptors: client connections are bounded (refused beyond a limit, never the end of
the daemon), and a spawn that finds none left is retried, not failed."""

from __future__ import annotations

import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from tests.conftest import RunningDaemon, wait_for
from tests.daemon.client_support import LINES_PROGRAM, Client, Flood, ulimit


def daemon_log(d: RunningDaemon) -> str:
    return (d.dir / "daemon.log").read_text(errors="replace")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _survives_a_flood(d: RunningDaemon) -> None:
    other = Client(d.endpoint)
    try:
        assert other.call("numwatchers")["status"] == "ok"  # connected before the flood
        pid = d.wait_pids("w", 1)[0]
        with Flood(d.endpoint, 1200) as flood:
            flood.wait_replies(d, 100)
            assert other.call("status", name="w")["status"] == "active"
            # It keeps spawning: a killed process is replaced while the clients hold on.
            os.kill(pid, signal.SIGKILL)

            def replaced() -> bool:
                pids = other.call("list", name="w")["pids"]
                return bool(pids) and pids != [pid]

            wait_for(replaced, timeout=20.0)
            assert other.call("status", name="w")["status"] == "active"
            assert d.proc.poll() is None
            assert "new clients wait" in daemon_log(d)
        # Once they leave, new clients get in again.
        wait_for(lambda: "taking new clients again" in daemon_log(d), timeout=20.0)
        assert d.call("numwatchers")["status"] == "ok"
    finally:
        other.close()
    assert d.stop() == 0


def test_a_flood_of_clients_on_ipc_at_ulimit_1024_leaves_the_daemon_up(
    daemon_factory: Any,
) -> None:
    d = daemon_factory('[watchers.w]\ncmd = "sleep 1000"\n', launcher=ulimit("-n 1024"))
    _survives_a_flood(d)


def test_a_flood_of_clients_on_tcp_at_ulimit_1024_leaves_spawning_working(
    daemon_factory: Any,
) -> None:
    d = daemon_factory(
        '[watchers.w]\ncmd = "sleep 1000"\n',
        launcher=ulimit("-n 1024"),
        endpoint=f"tcp://127.0.0.1:{_free_port()}",
    )
    _survives_a_flood(d)


def test_the_soft_descriptor_limit_is_raised_to_the_hard_one(daemon_factory: Any) -> None:
    d = daemon_factory('[watchers.w]\ncmd = "sleep 1000"\n', launcher=ulimit("-Sn 256"))
    limits = Path(f"/proc/{d.pid}/limits").read_text().splitlines()
    soft, hard = next(ln for ln in limits if ln.startswith("Max open files")).split()[3:5]
    assert soft == hard, limits
    if int(hard) > 256:
        assert "raised the soft limit on open files from 256" in daemon_log(d)


def test_a_spawn_short_of_file_descriptors_is_retried_not_failed(daemon_factory: Any) -> None:
    d = daemon_factory(
        '[watchers.many]\ncmd = "sleep 1000"\nnumprocesses = 60\n'
        "backoff_min = 0.1\nbackoff_max = 0.5\n",
        launcher=ulimit("-n 128"),
    )

    def short() -> dict[str, Any] | None:
        details: dict[str, Any] = d.call("status", name="many")["details"]
        return details if "Too many open files" in (details["reason"] or "") else None

    details = wait_for(short)
    assert details["state"] == "active", details
    assert 0 < details["running"] < 60
    assert "retrying in" in daemon_log(d)
    d.call("set", name="many", options={"numprocesses": 5})

    def settled() -> bool:
        details = d.call("status", name="many")["details"]
        return details["state"] == "active" and details["running"] == 5 and not details["reason"]

    wait_for(settled, timeout=20.0)


def test_new_clients_are_answered_while_the_daemon_is_busy(
    daemon_factory: Any, tmp_path: Path
) -> None:
    # A batch of connections is let go once its clients are gone, as counted from ZeroMQ's
    # events: a loop too busy to read them must not make it close a client just accepted.
    program = tmp_path / "lines.py"
    program.write_text(LINES_PROGRAM)
    d = daemon_factory(f'[watchers.lines]\ncmd = "{sys.executable} {program}"\n')
    wait_for(lambda: d.call("tail", name="lines", count=0)["last_seq"] >= 10_000)
    busy = Client(d.endpoint)
    try:
        for _ in range(40):
            busy.send("tail", name="lines", count=10_000)
        for _ in range(20):
            assert d.call("numwatchers")["status"] == "ok"
    finally:
        busy.close()


def test_clients_one_after_another_are_all_answered(daemon_factory: Any, tmp_path: Path) -> None:
    # Each new client comes through a listening socket handed to ZeroMQ, unbound once its
    # client has left; that unbind must not swallow the wakeup for the next client's request.
    program = tmp_path / "lines.py"
    program.write_text(LINES_PROGRAM)
    d = daemon_factory(f'[watchers.lines]\ncmd = "{sys.executable} {program}"\n')
    wait_for(lambda: d.call("tail", name="lines", count=0)["last_seq"] >= 10_000)
    for _ in range(150):
        assert len(d.call("tail", name="lines", count=10_000)["lines"]) == 10_000
