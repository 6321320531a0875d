"""Shared fixtures: a real daemon in a subprocess, on ipc endpoints in the test's own directory."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import zmq
from hypothesis import settings

# CI replays the same examples on every run (HYPOTHESIS_PROFILE=ci, set by .ci/run): what
# lands was checked on exactly those. Local runs draw new ones each time and so keep looking.
settings.register_profile("ci", derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

VENV_BIN = Path(sys.executable).parent
CIRCUS_TUI = [sys.executable, "-m", "tui.cli"]


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll `predicate` until it returns something truthy; fail the test at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {predicate}")
        time.sleep(interval)


async def until(pilot: Any, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    """`wait_for` inside a Textual pilot test: the app runs while `predicate` is polled."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s: {predicate}")
        await pilot.pause(0.05)


def raw_call(
    ctx: zmq.Context[Any],
    endpoint: str,
    command: str,
    timeout: float = 10.0,
    label: str = "daemon",
    **props: Any,
) -> dict[str, Any]:
    """One request on a fresh DEALER, as circusctl sends it; replies to other ids are skipped."""
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    try:
        msg_id = os.urandom(8).hex()
        sock.send(json.dumps({"id": msg_id, "command": command, "properties": props}).encode())
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not sock.poll(int(left * 1000)):
                raise AssertionError(f"{label}: no reply to {command} within {timeout} s")
            reply: dict[str, Any] = json.loads(sock.recv())
            if reply.get("id") == msg_id:
                return reply
    finally:
        sock.close()


class Subscriber:
    """A SUB on one of the daemon's PUB endpoints, collecting everything it hears."""

    def __init__(self, endpoint: str, prefix: bytes = b"") -> None:
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.SUB)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.SUBSCRIBE, prefix)
        monitor = self.sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
        self.sock.connect(endpoint)
        # A SUB misses what is published before it is connected: wait for the handshake,
        # after which the subscription is on its way ahead of anything we provoke next.
        assert monitor.poll(10_000), f"no handshake with {endpoint}"
        monitor.recv_multipart()
        self.sock.disable_monitor()
        monitor.close()
        self.seen: list[tuple[str, Any]] = []

    def next(self, timeout: float = 0.1) -> tuple[str, Any] | None:
        if not self.sock.poll(int(timeout * 1000)):
            return None
        topic, raw = self.sock.recv_multipart()
        item = (topic.decode(), json.loads(raw))
        self.seen.append(item)
        return item

    def wait(self, topic: str, pred: Any = None, timeout: float = 10.0) -> Any:
        """The first message on `topic` (satisfying `pred`), heard before or within timeout."""
        for t, body in self.seen:
            if t == topic and (pred is None or pred(body)):
                return body
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            item = self.next(0.05)
            if item is not None and item[0] == topic and (pred is None or pred(item[1])):
                return item[1]
        raise AssertionError(f"no {topic} within {timeout} s; saw {self.seen[-10:]}")

    def close(self) -> None:
        self.ctx.destroy(linger=0)


@dataclass
class RunningDaemon:
    proc: subprocess.Popen[bytes]
    dir: Path
    config: Path
    endpoint: str
    pubsub_endpoint: str
    stats_endpoint: str
    state_dir: Path
    pid: int = 0  # the daemon's own: `proc` may be a launcher that started it
    _ctx: zmq.Context[Any] = field(default_factory=zmq.Context)

    def call(self, command: str, timeout: float = 10.0, **props: Any) -> dict[str, Any]:
        return raw_call(self._ctx, self.endpoint, command, timeout, **props)

    def ctl(self, *args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        """Our own `circus-tui ctl`."""
        return subprocess.run(
            [*CIRCUS_TUI, "ctl", "--endpoint", self.endpoint, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def pids(self, name: str) -> list[int]:
        return [int(p) for p in self.call("list", name=name)["pids"]]

    def wait_pids(self, name: str, count: int, timeout: float = 10.0) -> list[int]:
        def ready() -> list[int] | None:
            pids = self.pids(name)
            return pids if len(pids) == count else None

        return wait_for(ready, timeout)

    def stop(self, timeout: float = 20.0) -> int:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid or self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._ctx.destroy(linger=0)
        return self.proc.returncode


def write_config(
    directory: Path, body: str, circus_extra: str = "", endpoint: str | None = None
) -> tuple[Path, dict[str, str]]:
    endpoints = {
        "endpoint": endpoint or f"ipc://{directory}/control.sock",
        "pubsub_endpoint": f"ipc://{directory}/events.sock",
        "stats_endpoint": f"ipc://{directory}/stats.sock",
    }
    head = "[circus]\n" + "".join(f'{k} = "{v}"\n' for k, v in endpoints.items())
    head += f'state_dir = "{directory}/state"\n' + circus_extra + "\n"
    path = directory / "programs.toml"
    path.write_text(head + body)
    return path, endpoints


def start_daemon(
    directory: Path,
    body: str,
    circus_extra: str = "",
    launcher: Sequence[str] = (),
    endpoint: str | None = None,
) -> RunningDaemon:
    """`launcher`: a command line the daemon's is appended to, such as a shell that starts it
    as a background job; it must stay until the daemon exits. `endpoint`: the control
    endpoint, instead of an ipc socket in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    config, endpoints = write_config(directory, body, circus_extra, endpoint)
    log = open(directory / "daemon.log", "wb")  # noqa: SIM115 - lives as long as the daemon
    proc = subprocess.Popen(
        [*launcher, *CIRCUS_TUI, "daemon", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=directory,
    )
    daemon = RunningDaemon(
        proc=proc,
        dir=directory,
        config=config,
        state_dir=directory / "state",
        **endpoints,
    )

    def answering() -> bool:
        if proc.poll() is not None:
            raise AssertionError(
                f"daemon exited with {proc.returncode}: {(directory / 'daemon.log').read_text()}"
            )
        try:
            return daemon.call("numwatchers", timeout=0.5)["status"] == "ok"
        except AssertionError:
            return False

    wait_for(answering, timeout=20.0)
    daemon.pid = daemon.call("globaloptions")["options"]["pid"]
    return daemon


@pytest.fixture
def daemon_factory(tmp_path: Path) -> Iterator[Callable[..., RunningDaemon]]:
    started: list[RunningDaemon] = []
    # ipc paths are limited to ~107 bytes; pytest's tmp_path can be long, so use a short dir.
    short = Path(f"/tmp/ct-{os.getpid()}-{os.urandom(3).hex()}")

    def factory(
        body: str,
        circus_extra: str = "",
        sub: str = "d",
        launcher: Sequence[str] = (),
        endpoint: str | None = None,
    ) -> RunningDaemon:
        d = start_daemon(short / sub, body, circus_extra, launcher, endpoint)
        started.append(d)
        return d

    yield factory
    for d in started:
        d.stop()
    subprocess.run(["rm", "-rf", str(short)], check=False)
