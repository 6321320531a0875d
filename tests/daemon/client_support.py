"""Clients for tests and benchmarks that push the daemon's limits: one that stays connected,
and a flood of them from another process (client_flood.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import zmq

from tests.conftest import RunningDaemon, wait_for

FLOOD = Path(__file__).with_name("client_flood.py")

# 10,000 numbered lines of 200 bytes, then it stays: a backlog of about 2 MiB to `tail`.
LINES_PROGRAM = (
    "import sys, time\n"
    "out = sys.stdout\n"
    "for i in range(10_000):\n"
    "    out.write(f'{i:06d} ' + 'x' * 193 + '\\n')\n"
    "out.flush()\n"
    "time.sleep(100000)\n"
)


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

    def send(self, command: str, **props: Any) -> str:
        """Send a request without waiting for its reply; returns its id."""
        self.sent += 1
        msg_id = f"c{self.sent}"
        self.sock.send(json.dumps({"id": msg_id, "command": command, "properties": props}).encode())
        return msg_id

    def call(self, command: str, timeout: float = 10.0, **props: Any) -> dict[str, Any]:
        msg_id = self.send(command, **props)
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
