"""systemd readiness: a unix datagram socket stands in for systemd's notification socket."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from daemon.notify import Notifier
from tests.conftest import wait_for


class FakeSystemd:
    """Receives what a service sends to $NOTIFY_SOCKET, one datagram a message."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address.replace("@", "\0", 1) if address.startswith("@") else address)
        self.sock.settimeout(0.05)
        self.messages: list[dict[str, str]] = []

    def receive(self) -> None:
        try:
            while True:
                data = self.sock.recv(4096).decode()
                self.messages.append(dict(f.split("=", 1) for f in data.split("\n") if f))
        except TimeoutError:
            pass

    def wait(self, key: str, after: int = 0, timeout: float = 20.0) -> int:
        """The index of the first message from `after` on that has `key`."""

        def find() -> int | None:
            self.receive()
            hits = [i for i, m in enumerate(self.messages) if i >= after and key in m]
            return hits[0] + 1 if hits else None

        return wait_for(find, timeout) - 1

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[FakeSystemd]:
    fake = FakeSystemd(str(tmp_path / "notify.sock"))
    yield fake
    fake.close()


def test_notifier_speaks_the_protocol_and_keeps_its_variables_from_programs(
    systemd: FakeSystemd,
) -> None:
    env = {"NOTIFY_SOCKET": systemd.address, "WATCHDOG_USEC": "3000000", "PATH": "/bin"}
    notifier = Notifier(env)
    assert env == {"PATH": "/bin"}
    assert notifier.watchdog_interval == 1.5
    notifier.ready("2 watchers active")
    notifier.status("2 watchers active")  # unchanged: not sent again
    notifier.status("1 watcher active, 1 failed")
    notifier.reloading()
    notifier.watchdog()
    notifier.stopping()
    systemd.receive()
    assert [sorted(m) for m in systemd.messages] == [
        ["READY", "STATUS"],
        ["STATUS"],
        ["MONOTONIC_USEC", "RELOADING", "STATUS"],
        ["WATCHDOG"],
        ["STATUS", "STOPPING"],
    ]
    assert systemd.messages[1]["STATUS"] == "1 watcher active, 1 failed"
    usec = int(systemd.messages[2]["MONOTONIC_USEC"])
    assert abs(usec / 1e6 - time.monotonic()) < 5
    notifier.close()


def test_notifier_reaches_an_abstract_socket() -> None:
    fake = FakeSystemd(f"@circus-tui-test-{os.getpid()}-{os.urandom(4).hex()}")
    try:
        Notifier({"NOTIFY_SOCKET": fake.address}).ready("up")
        fake.wait("READY")
    finally:
        fake.close()


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"NOTIFY_SOCKET": "relative/path"},
        {"WATCHDOG_USEC": "1000000"},
    ],
)
def test_notifier_without_systemd_sends_nothing(env: dict[str, str]) -> None:
    notifier = Notifier(env)
    assert not notifier.enabled and notifier.watchdog_interval is None
    notifier.ready("up")  # nowhere to go, and no error


def test_watchdog_meant_for_another_process_is_not_ours(systemd: FakeSystemd) -> None:
    env = {"NOTIFY_SOCKET": systemd.address, "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}
    assert Notifier(env).watchdog_interval is None


def test_a_gone_service_manager_is_no_error(tmp_path: Path) -> None:
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "nobody.sock")})
    notifier.ready("up")
    notifier.watchdog()


def test_daemon_under_a_notify_unit(systemd: FakeSystemd, daemon_factory: Any) -> None:
    launcher = ["env", f"NOTIFY_SOCKET={systemd.address}", "WATCHDOG_USEC=200000"]
    body = (
        '[watchers.web]\ncmd = "sleep 300"\nnumprocesses = 3\ncopy_env = true\n\n'
        '[watchers.later]\ncmd = "sleep 300"\nautostart = false\n'
    )
    d = daemon_factory(body, launcher=launcher)
    ready = systemd.wait("READY")
    # Ready means started: every autostart watcher has its processes by then.
    assert len(d.pids("web")) == 3
    assert systemd.messages[ready]["STATUS"] == "2 watchers: 1 active, 1 stopped; 3 processes"
    # The watchdog comes every half WATCHDOG_USEC, from the event loop.
    seen = ready
    for _ in range(3):
        seen = systemd.wait("WATCHDOG", after=seen + 1)
    # The variables were meant for the daemon: even a program given its whole environment
    # does not see them.
    pid = d.pids("web")[0]
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert not [v for v in environ if v.split(b"=")[0] in (b"NOTIFY_SOCKET", b"WATCHDOG_USEC")]
    # A change of state shows in the status line.
    d.call("start", name="later", waiting=True)
    status = systemd.wait("STATUS", after=ready + 1)
    while systemd.messages[status]["STATUS"] != "2 watchers: 2 active; 4 processes":
        status = systemd.wait("STATUS", after=status + 1)
    # A reload is bracketed by RELOADING=1 and READY=1.
    os.kill(d.pid, signal.SIGHUP)
    reloading = systemd.wait("RELOADING", after=status + 1)
    systemd.wait("READY", after=reloading + 1)
    assert d.call("quit")["status"] == "ok"
    systemd.wait("STOPPING", after=reloading + 1)
    assert d.proc.wait(20) == 0
