"""daemon.notify_socket: the daemon's end of the notify protocol, against real child processes
speaking it on a real socket."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import stat
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from daemon.notify_socket import MAX_DATAGRAM, NotifySocket, fields
from tests.support.dirs import short_dir
from tests.support.waiting import eventually

Messages = list[tuple[int, dict[str, str]]]

SEND = r"""
import os, socket, sys
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
for message in sys.argv[1:]:
    sock.sendto(message.encode(), os.environ["NOTIFY_SOCKET"])
"""


@pytest.fixture
def directory() -> Iterator[Path]:
    with short_dir("ns") as path:
        yield path


@pytest.fixture
async def notify(directory: Path) -> AsyncIterator[tuple[NotifySocket, Messages]]:
    got: Messages = []
    ns = NotifySocket(directory / "notify.sock", lambda pid, f: got.append((pid, f)))
    ns.open()
    yield ns, got
    ns.close()


def child(ns: NotifySocket, *argv: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "NOTIFY_SOCKET": str(ns.path)}
    return subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL)


async def ended(proc: subprocess.Popen[bytes]) -> int:
    await eventually(lambda: proc.poll() is not None)
    return proc.returncode


async def test_a_child_is_known_by_its_pid(notify: tuple[NotifySocket, Messages]) -> None:
    ns, got = notify
    proc = child(
        ns, sys.executable, "-c", SEND, "READY=1\nSTATUS=serving: 4 workers, a=b\n", "WATCHDOG=1"
    )
    assert await ended(proc) == 0
    await eventually(lambda: len(got) == 2)
    assert got == [
        (proc.pid, {"READY": "1", "STATUS": "serving: 4 workers, a=b"}),
        (proc.pid, {"WATCHDOG": "1"}),
    ]


async def test_the_socket_is_private_and_goes_with_close(directory: Path) -> None:
    ns = NotifySocket(directory / "n.sock", lambda pid, f: None)
    ns.open()
    mode = os.lstat(ns.path).st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o600
    ns.close()
    assert not ns.path.exists()
    ns.close()  # twice is fine


async def test_systemd_notify_is_understood(notify: tuple[NotifySocket, Messages]) -> None:
    if shutil.which("systemd-notify") is None:
        pytest.skip("systemd-notify is not installed")
    ns, got = notify
    # It names its parent as the sender when it may (the shell here, running as root), and
    # waits for its BARRIER=1 to be read (the pipe it sends along is closed by the kernel).
    proc = child(ns, "sh", "-c", "systemd-notify --ready --status=booted")
    assert await ended(proc) == 0
    await eventually(lambda: any("READY" in f for _pid, f in got))
    ready = [(pid, f) for pid, f in got if "READY" in f]
    assert ready[0][1] == {"READY": "1", "STATUS": "booted"}
    assert ready[0][0] == proc.pid or os.geteuid() != 0


async def test_what_is_not_key_value_is_ignored(notify: tuple[NotifySocket, Messages]) -> None:
    ns, got = notify
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
        for garbage in (b"", b"\xff\xfe\x00\n=x\nno equals", os.urandom(512), b"STATUS=\xff ok\r"):
            sender.sendto(garbage, str(ns.path))
        sender.sendto(b"READY=1", str(ns.path))
        await eventually(lambda: any(f.get("READY") == "1" for _pid, f in got))
    assert (os.getpid(), {}) in got
    assert (os.getpid(), {"STATUS": "\ufffd ok\r"}) in got


def test_fields() -> None:
    assert fields(b"A=1\nB=x=y\n\nC\n=D\nA=2") == {"A": "2", "B": "x=y"}


async def test_an_oversized_datagram_is_dropped_and_logged_once(
    notify: tuple[NotifySocket, Messages], caplog: pytest.LogCaptureFixture
) -> None:
    ns, got = notify
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
        sender.sendto(b"STATUS=" + b"x" * (MAX_DATAGRAM - 7), str(ns.path))
        for _ in range(3):
            sender.sendto(b"READY=1\nSTATUS=" + b"y" * MAX_DATAGRAM, str(ns.path))
        sender.sendto(b"WATCHDOG=1", str(ns.path))
        with caplog.at_level(logging.WARNING, logger="circus-tui"):
            await eventually(lambda: any("WATCHDOG" in f for _pid, f in got))
    assert [list(f) for _pid, f in got] == [["STATUS"], ["WATCHDOG"]]
    assert len(got[0][1]["STATUS"]) == MAX_DATAGRAM - 7
    drops = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert drops == [f"notify socket {ns.path}: dropped datagrams: 1 longer than 4096 bytes"]


async def test_a_datagram_without_credentials_is_dropped(
    notify: tuple[NotifySocket, Messages],
) -> None:
    ns, got = notify
    # With SO_PASSCRED on neither end, the kernel sends no credentials.
    ns._sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 0)  # type: ignore[union-attr]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
        sender.sendto(b"READY=1", str(ns.path))
        ns._sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)  # type: ignore[union-attr]
        sender.sendto(b"STATUS=with", str(ns.path))
        await eventually(lambda: got)
    assert got == [(os.getpid(), {"STATUS": "with"})]


async def test_file_descriptors_sent_along_are_not_kept(
    notify: tuple[NotifySocket, Messages],
) -> None:
    ns, got = notify
    before = len(os.listdir("/proc/self/fd"))
    read_end, write_end = os.pipe()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
        sender.connect(str(ns.path))
        for _ in range(5):
            socket.send_fds(sender, [b"FDSTORE=1"], [read_end, write_end])
    os.close(read_end)
    await eventually(lambda: len(got) == 5)
    assert all(f == {"FDSTORE": "1"} for _pid, f in got)
    # Ten descriptors were sent; only our own write end is open still.
    assert len(os.listdir("/proc/self/fd")) <= before + 1
    os.close(write_end)


async def test_a_flood_does_not_block_the_loop(notify: tuple[NotifySocket, Messages]) -> None:
    ns, got = notify
    count = 20_000
    lag = 0.0

    async def ticker() -> None:
        nonlocal lag
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.005)
            lag = max(lag, time.monotonic() - before - 0.005)

    ticking = asyncio.ensure_future(ticker())
    try:
        script = "import os, socket\n"
        script += "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
        script += (
            f"for i in range({count}): s.sendto(b'STATUS=%d' % i, os.environ['NOTIFY_SOCKET'])\n"
        )
        proc = child(ns, sys.executable, "-c", script)
        assert await ended(proc) == 0
        await eventually(lambda: len(got) == count, timeout=30)
    finally:
        ticking.cancel()
    # A blocking sender loses nothing: it waits while the queue is full.
    assert [f["STATUS"] for _pid, f in got] == [str(i) for i in range(count)]
    assert lag < 1.0, lag


async def test_no_more_than_so_many_datagrams_a_wakeup(
    notify: tuple[NotifySocket, Messages],
) -> None:
    ns, got = notify
    ns.per_wakeup = 3  # the kernel queues only max_dgram_qlen (often 10) datagrams
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
        sender.setblocking(False)
        for i in range(5):
            sender.sendto(b"STATUS=%d" % i, str(ns.path))
        ns._readable()
        assert len(got) == 3
        await eventually(lambda: len(got) == 5)


async def test_a_stale_socket_of_ours_is_replaced(directory: Path) -> None:
    path = directory / "notify.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    stale.bind(str(path))
    stale.close()
    got: Messages = []
    ns = NotifySocket(path, lambda pid, f: got.append((pid, f)))
    ns.open()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
            sender.sendto(b"READY=1", str(path))
        await eventually(lambda: got)
    finally:
        ns.close()


async def test_anything_else_in_the_way_is_refused(directory: Path) -> None:
    regular = directory / "file"
    regular.write_text("keep me")
    link = directory / "link"
    target = directory / "target.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as elsewhere:
        elsewhere.bind(str(target))
    link.symlink_to(target)
    for path in (regular, link):
        ns = NotifySocket(path, lambda pid, f: None)
        with pytest.raises(OSError, match="exists and is not a socket of ours"):
            ns.open()
    assert regular.read_text() == "keep me"
    assert link.is_symlink() and target.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="making a socket someone else owns needs root")
async def test_a_socket_someone_else_owns_is_refused(directory: Path) -> None:
    path = directory / "theirs.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as theirs:
        theirs.bind(str(path))
    os.chown(path, 65534, 65534)
    with pytest.raises(OSError, match="not a socket of ours"):
        NotifySocket(path, lambda pid, f: None).open()
    assert path.exists()


async def test_a_path_too_long_for_a_unix_socket(directory: Path) -> None:
    path = directory / ("n" * 120)
    with pytest.raises(OSError, match="more than a unix socket allows"):
        NotifySocket(path, lambda pid, f: None).open()


async def test_a_failing_callback_does_not_stop_the_socket(directory: Path) -> None:
    got: Messages = []

    def on_message(pid: int, f: dict[str, str]) -> None:
        if "BOOM" in f:
            raise RuntimeError("boom")
        got.append((pid, f))

    ns = NotifySocket(directory / "n.sock", on_message)
    ns.open()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
            sender.sendto(b"BOOM=1", str(ns.path))
            sender.sendto(b"READY=1", str(ns.path))
        await eventually(lambda: got)
    finally:
        ns.close()
    assert got == [(os.getpid(), {"READY": "1"})]
