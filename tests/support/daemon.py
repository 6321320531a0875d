"""One harness for a running supervisor: our daemon or Circus 0.19's circusd, in a subprocess
on ipc endpoints in a directory of its own, driven over the raw protocol.

The tests use `RunningDaemon` (through tests/conftest.py's `daemon_factory`); the
compatibility suite and the benches subclass `Supervisor` with what they need on top (the real
circusctl; timings), and start both kinds with `start_daemon` and `start_circusd`.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import psutil
import zmq

from tests.support.configs import Watchers, circus_ini, ipc_endpoints, write_config
from tests.support.waiting import wait_for

VENV_BIN = Path(sys.executable).parent
CIRCUS_TUI = [sys.executable, "-m", "tui.cli"]
CIRCUSD = str(VENV_BIN / "circusd")


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


@dataclass(kw_only=True)
class Supervisor:
    """A supervisor in a subprocess, on the endpoints its `config` names."""

    label: str  # names it in failure messages: "daemon", "circusd", ...
    proc: subprocess.Popen[bytes]
    dir: Path
    config: Path
    endpoint: str
    pubsub_endpoint: str
    stats_endpoint: str
    pid: int = 0  # the supervisor's own: `proc` may be a launcher that started it
    leftovers: list[psutil.Process] = field(default_factory=list)
    _ctx: zmq.Context[Any] = field(default_factory=zmq.Context)

    def call(self, command: str, timeout: float = 10.0, **props: Any) -> dict[str, Any]:
        """One request on a fresh DEALER, as circusctl sends it."""
        return raw_call(self._ctx, self.endpoint, command, timeout, self.label, **props)

    def try_call(self, command: str, timeout: float = 1.0, **props: Any) -> dict[str, Any] | None:
        """`call` with a short timeout, None when the supervisor does not answer (restarting)."""
        try:
            return self.call(command, timeout=timeout, **props)
        except AssertionError:
            return None

    def wait_answering(self, log: Path, timeout: float = 20.0) -> None:
        def answering() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"{self.label} exited with {self.proc.returncode}: {log.read_text()[-4000:]}"
                )
            reply = self.try_call("numwatchers", timeout=0.5)
            return reply is not None and reply.get("status") == "ok"

        wait_for(answering, timeout)

    def descendants(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def snapshot(self) -> None:
        """Remember every descendant now, to kill whatever outlives the supervisor."""
        self.leftovers += self.descendants()

    def terminate(self, timeout: float) -> bool:
        """SIGTERM, then SIGKILL after `timeout`. True when it quit by itself in time."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid or self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return False

    def close(self) -> None:
        self._ctx.destroy(linger=0)


@dataclass(kw_only=True)
class RunningDaemon(Supervisor):
    """Our daemon, as the tests drive it."""

    label: str = "daemon"

    @property
    def state_dir(self) -> Path:
        return self.dir / "state"

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
            self.terminate(timeout)
        self.close()
        return self.proc.returncode


S = TypeVar("S", bound=Supervisor)


def _launch(argv: Sequence[str], directory: Path, log: Path) -> subprocess.Popen[bytes]:
    # The child keeps its own copy of the log's descriptor.
    with open(log, "wb") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=directory)


def _answering(sup: S, log: Path, timeout: float) -> S:
    try:
        sup.wait_answering(log, timeout)
    except BaseException:
        if sup.proc.poll() is None:
            sup.proc.kill()
            sup.proc.wait()
        sup.close()
        raise
    return sup


def start_daemon(
    directory: Path,
    body: str,
    circus_extra: str = "",
    launcher: Sequence[str] = (),
    endpoint: str | None = None,
    *,
    make: type[S] = RunningDaemon,  # type: ignore[assignment]
    timeout: float = 20.0,
    **extra: Any,
) -> S:
    """Our daemon on `body` (watchers, sockets: TOML). `launcher`: a command line the daemon's
    is appended to, such as a shell that starts it as a background job; it must stay until the
    daemon exits. `endpoint`: the control endpoint, instead of an ipc socket in `directory`.
    `make`: the Supervisor class to return, with `extra` for its own fields."""
    directory.mkdir(parents=True, exist_ok=True)
    config, endpoints = write_config(directory, body, circus_extra, endpoint)
    log = directory / "daemon.log"
    proc = _launch([*launcher, *CIRCUS_TUI, "daemon", str(config)], directory, log)
    sup = _answering(
        make(proc=proc, dir=directory, config=config, **endpoints, **extra), log, timeout
    )
    sup.pid = sup.call("globaloptions")["options"]["pid"]
    return sup


def start_circusd(
    directory: Path,
    watchers: Watchers,
    stats: bool = False,
    *,
    check_delay: float | None = 0.5,
    sockets: Watchers | None = None,
    make: type[S] = Supervisor,  # type: ignore[assignment]
    timeout: float = 20.0,
    **extra: Any,
) -> S:
    """Circus 0.19's real circusd on the same watchers and `sockets` (see `circus_ini`)."""
    directory.mkdir(parents=True, exist_ok=True)
    endpoints = ipc_endpoints(directory)
    ini = directory / "circus.ini"
    ini.write_text(circus_ini(endpoints, watchers, stats, check_delay, sockets))
    log = directory / "circusd.log"
    proc = _launch([CIRCUSD, str(ini)], directory, log)
    extra.setdefault("label", "circusd")
    sup = make(proc=proc, dir=directory, config=ini, pid=proc.pid, **endpoints, **extra)
    return _answering(sup, log, timeout)
