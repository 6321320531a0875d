"""Memory a client or a program can make the daemon spend is bounded in bytes: replies queued
for a client that does not read, the output kept for `tail`, and the size of one reply."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import zmq

from tests.conftest import RunningDaemon, wait_for
from tests.daemon.client_support import LINES_PROGRAM

MIB = 1024 * 1024


def daemon_log(d: RunningDaemon) -> str:
    return (d.dir / "daemon.log").read_text(errors="replace")


def rss(d: RunningDaemon) -> int:
    return int(psutil.Process(d.pid).memory_info().rss)


@pytest.fixture
def peak_rss() -> Iterator[Callable[[RunningDaemon], list[int]]]:
    """Samples a daemon's RSS in the background; the list holds the highest value seen."""
    done = threading.Event()
    threads: list[threading.Thread] = []

    def start(d: RunningDaemon) -> list[int]:
        peak = [rss(d)]
        process = psutil.Process(d.pid)

        def sample() -> None:
            while not done.wait(0.02):
                peak[0] = max(peak[0], int(process.memory_info().rss))

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        threads.append(thread)
        return peak

    yield start
    done.set()
    for thread in threads:
        thread.join()


def test_a_client_that_does_not_read_holds_bounded_memory(
    daemon_factory: Any, tmp_path: Path, peak_rss: Callable[[RunningDaemon], list[int]]
) -> None:
    program = tmp_path / "lines.py"
    program.write_text(LINES_PROGRAM)
    d = daemon_factory(f'[watchers.lines]\ncmd = "{sys.executable} {program}"\n')
    wait_for(lambda: d.call("tail", name="lines", count=0)["last_seq"] >= 10_000)
    peak = peak_rss(d)
    ctx = zmq.Context()
    stuck = ctx.socket(zmq.DEALER)
    # It reads one reply into its own queue and then nothing: the rest stays with the daemon.
    stuck.setsockopt(zmq.RCVHWM, 1)
    stuck.setsockopt(zmq.RCVBUF, 4096)
    stuck.setsockopt(zmq.LINGER, 0)
    stuck.connect(d.endpoint)
    try:
        for n in range(300):
            request = {"id": n, "command": "tail", "properties": {"name": "lines", "count": 10_000}}
            stuck.send(json.dumps(request).encode())

        def dropping() -> bool:
            assert peak[0] < 300 * MIB, f"daemon RSS reached {peak[0] / MIB:.0f} MiB"
            return "does not read its replies" in daemon_log(d)

        wait_for(dropping, timeout=60.0)
        # Another client is still answered, and a big reply still reaches it.
        assert len(d.call("tail", name="lines", count=10_000)["lines"]) == 10_000
        assert peak[0] < 300 * MIB, f"daemon RSS reached {peak[0] / MIB:.0f} MiB"
    finally:
        ctx.destroy(linger=0)


def test_output_without_newlines_stays_within_output_buffer_bytes(
    daemon_factory: Any, tmp_path: Path, peak_rss: Callable[[RunningDaemon], list[int]]
) -> None:
    program = tmp_path / "endless.py"
    program.write_text(
        "import sys, time\n"
        "chunk = b'x' * (1 << 20)\n"
        "for _ in range(400):\n"
        "    sys.stdout.buffer.write(chunk)\n"
        "sys.stdout.buffer.write(b'\\ndone\\n'); sys.stdout.flush()\n"
        "time.sleep(100000)\n"
    )
    d = daemon_factory(
        f'[watchers.endless]\ncmd = "{sys.executable} {program}"\n'
        "max_bytes = 1048576\nbackup_count = 1\n"
    )
    peak = peak_rss(d)

    def finished() -> bool:
        assert peak[0] < 300 * MIB, f"daemon RSS reached {peak[0] / MIB:.0f} MiB"
        lines = d.call("tail", name="endless", count=1)["lines"]
        return bool(lines) and lines[0]["data"] == "done"

    wait_for(finished, timeout=120.0)
    kept = d.call("tail", name="endless")["lines"]
    assert sum(len(ln["data"]) for ln in kept) <= 16 * MIB
    assert d.call("get", name="endless", keys=["output_buffer_bytes"])["options"] == {
        "output_buffer_bytes": 16 * MIB
    }


def test_output_buffer_bytes_keeps_the_newest_lines(daemon_factory: Any, tmp_path: Path) -> None:
    program = tmp_path / "lines.py"
    program.write_text(LINES_PROGRAM)
    d = daemon_factory(
        f'[watchers.lines]\ncmd = "{sys.executable} {program}"\noutput_buffer_bytes = 100000\n'
    )
    wait_for(lambda: d.call("tail", name="lines", count=0)["last_seq"] >= 10_000)
    reply = d.call("tail", name="lines")
    lines = reply["lines"]
    # Each line counts its length and a fixed cost for the daemon's bookkeeping of it.
    assert 0 < len(lines) < 100000 // 200
    assert lines[-1]["seq"] == reply["last_seq"] == 10_000
    assert [ln["seq"] for ln in lines] == list(range(lines[0]["seq"], 10_001))
    # Lowered on the running watcher: the oldest lines go at once, the program runs on.
    pids = d.pids("lines")
    d.call("set", name="lines", options={"output_buffer_bytes": 10_000}, waiting=True)
    fewer = d.call("tail", name="lines")["lines"]
    assert 0 < len(fewer) < 10_000 // 200 and fewer[-1]["seq"] == 10_000
    assert d.pids("lines") == pids


def test_a_tail_larger_than_a_reply_may_be_keeps_the_newest_lines(
    daemon_factory: Any, tmp_path: Path
) -> None:
    program = tmp_path / "binary.py"
    # Invalid UTF-8 becomes U+FFFD, six bytes of JSON ("\ufffd") for each byte of output.
    program.write_text(
        "import sys, time\n"
        "for _ in range(8000):\n"
        "    sys.stdout.buffer.write(b'\\xff' * 1000 + b'\\n')\n"
        "sys.stdout.flush()\n"
        "time.sleep(100000)\n"
    )
    d = daemon_factory(
        f'[watchers.binary]\ncmd = "{sys.executable} {program}"\noutput_buffer_bytes = 67108864\n'
    )
    wait_for(lambda: d.call("tail", name="binary", count=0)["last_seq"] >= 8000)
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(d.endpoint)
    try:
        sock.send(
            json.dumps({"id": 1, "command": "tail", "properties": {"name": "binary"}}).encode()
        )
        assert sock.poll(20_000), "no reply to tail"
        frame = sock.recv()
    finally:
        ctx.destroy(linger=0)
    assert len(frame) <= 32 * MIB
    reply = json.loads(frame)
    assert reply["status"] == "ok" and reply["truncated"] is True
    assert reply["lines"][-1]["seq"] == reply["last_seq"] == 8000
    assert 0 < len(reply["lines"]) < 8000
