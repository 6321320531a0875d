"""File descriptors: client connections are bounded (refused beyond a limit, never the end of
the daemon), and a spawn that finds none left is retried, not failed."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import zmq

from tests.conftest import RunningDaemon, wait_for

FLOOD = Path(__file__).with_name("client_flood.py")


def ulimit(spec: str) -> list[str]:
    """A launcher that starts the daemon under `ulimit SPEC` (`-n 1024`: soft and hard)."""
    return ["bash", "-c", f'ulimit {spec}; exec "$@"', "bash"]


class Client:
    """One DEALER that stays connected: while the daemon is at its connection limit, a new
    connection waits its turn, an established one does not."""

    def __init__(self, endpoint: str) -> None:
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(endpoint)
        self.sent = 0

    def call(self, command: str, timeout: float = 10.0, **props: Any) -> dict[str, Any]:
        self.sent += 1
        msg_id = f"c{self.sent}"
        self.sock.send(json.dumps({"id": msg_id, "command": command, "properties": props}).encode())
        while True:
            assert self.sock.poll(int(timeout * 1000)), f"no reply to {command} in {timeout} s"
            reply: dict[str, Any] = json.loads(self.sock.recv())
            if reply.get("id") == msg_id:
                return reply

    def close(self) -> None:
        self.ctx.destroy(linger=0)


class Flood:
    """`count` clients connecting at once from another process (client_flood.py)."""

    def __init__(self, endpoint: str, count: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(FLOOD), endpoint, str(count)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.replies = 0
        self.started = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("connecting"):
                self.started = True
            elif line.startswith("replies "):
                self.replies = int(line.split()[1])

    def wait_replies(self, d: RunningDaemon, count: int, timeout: float = 60.0) -> None:
        def answered() -> bool:
            assert d.proc.poll() is None, f"daemon exited with {d.proc.returncode}"
            return self.replies >= count

        wait_for(answered, timeout)

    def __enter__(self) -> Flood:
        wait_for(lambda: self.started, timeout=60.0)
        return self

    def __exit__(self, *_exc: object) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


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
