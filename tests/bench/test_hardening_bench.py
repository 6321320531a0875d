"""Hardening: what clients and programs can make the daemon spend, measured against the same
daemon at rest in the same run.

Run with `make bench` (`pytest -q -s tests/bench`); prints `BENCH ...` lines. Nothing is
asserted about speed; the assertions only check that the measurement took place.

1. Clients at `ulimit -n 1024` (soft and hard, so nothing can be raised): 1,200 clients
   connect at once, each sending `numwatchers`; how many the daemon holds (answers), a
   client connected before the flood (its round trip against the same at rest), and how long
   a process killed during the flood takes to be replaced. Once on ipc, once on TCP.
2. A client that does not read (RCVHWM 1, a 4 KiB receive buffer) sends 300 `tail`
   requests of 10,000 lines (about 2.8 MiB each): the daemon's peak RSS against its RSS at
   rest, and how long another client waits for the same `tail` meanwhile, against at rest.
   The same for a greedy client that sends its 300 at once and reads them all.
3. A program writes 700 MiB without a newline: peak RSS against at rest.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import zmq

from tests.conftest import RunningDaemon, start_daemon, wait_for
from tests.daemon.client_support import LINES_PROGRAM, Client, Flood, ulimit

MIB = 1024 * 1024
FLOOD_CLIENTS = int(os.environ.get("BENCH_FLOOD_CLIENTS", "1200"))
STUCK_REQUESTS = int(os.environ.get("BENCH_STUCK_REQUESTS", "300"))
ENDLESS_MIB = int(os.environ.get("BENCH_ENDLESS_MIB", "700"))


@pytest.fixture
def bench_dir() -> Iterator[Path]:
    # ipc paths must stay short (~107 bytes), so not pytest's tmp_path.
    short = Path(f"/tmp/chb-{os.getpid()}-{os.urandom(3).hex()}")
    short.mkdir()
    yield short
    shutil.rmtree(short, ignore_errors=True)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def ratio(ours: float, base: float) -> str:
    return f"{ours / base:.2f}" if base > 0 else "n/a"


class Peak:
    """The highest RSS of a process, sampled every 20 ms while in use."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.value = self.process.memory_info().rss
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.wait(0.02):
            self.value = max(self.value, self.process.memory_info().rss)

    def __enter__(self) -> Peak:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._done.set()
        self._thread.join()


def _round_trips(client: Client, command: str, count: int, **props: Any) -> list[float]:
    times = []
    for _ in range(count):
        t0 = time.perf_counter()
        assert client.call(command, timeout=30.0, **props)["status"] == "ok"
        times.append(time.perf_counter() - t0)
    return times


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ---------------------------------------------------------------------------------------------
# 1. a flood of clients at ulimit -n 1024


def _flood(d: RunningDaemon, label: str) -> None:
    other = Client(d.endpoint)
    try:
        at_rest = statistics.median(_round_trips(other, "status", 50))
        pid = d.wait_pids("w", 1)[0]
        with Flood(d.endpoint, FLOOD_CLIENTS) as flood:
            flood.wait_replies(d, 100)

            def settled() -> bool:
                before = flood.replies
                other.call("numwatchers", timeout=30.0)
                return flood.replies == before

            wait_for(settled, timeout=60.0, interval=0.2)
            during = statistics.median(_round_trips(other, "status", 50))
            fds = len(os.listdir(f"/proc/{d.pid}/fd"))
            t0 = time.perf_counter()
            os.kill(pid, signal.SIGKILL)

            def replaced() -> bool:
                pids = other.call("list", name="w", timeout=30.0)["pids"]
                return bool(pids) and pids != [pid]

            wait_for(replaced, timeout=60.0, interval=0.005)
            respawn = time.perf_counter() - t0
            held = flood.replies
        alive = d.proc.poll() is None
    finally:
        other.close()
    print(
        f"\nBENCH {label} at ulimit -n 1024, {FLOOD_CLIENTS} clients at once: daemon "
        f"{'up' if alive else 'DEAD'}, {held} clients held and answered, {fds} descriptors open; "
        f"an earlier client's `status` round trip {ms(during)} during the flood against "
        f"{ms(at_rest)} at rest, ratio {ratio(during, at_rest)}; a process killed during the "
        f"flood replaced in {ms(respawn)}"
    )
    assert alive and held > 0


def test_flood_of_clients_at_ulimit_1024(bench_dir: Path) -> None:
    body = '[watchers.w]\ncmd = "sleep 1000"\n'
    d = start_daemon(bench_dir / "ipc", body, launcher=ulimit("-n 1024"))
    try:
        _flood(d, "ipc")
    finally:
        d.stop()
    d = start_daemon(
        bench_dir / "tcp",
        body,
        launcher=ulimit("-n 1024"),
        endpoint=f"tcp://127.0.0.1:{_free_port()}",
    )
    try:
        _flood(d, "tcp")
    finally:
        d.stop()


# ---------------------------------------------------------------------------------------------
# 2. a client that does not read, and a greedy one


def _wait_idle(d: RunningDaemon) -> None:
    """Until the daemon has done with every request: its CPU time stops growing."""
    process = psutil.Process(d.pid)
    last = [sum(process.cpu_times()[:2])]

    def idle() -> bool:
        now = sum(process.cpu_times()[:2])
        quiet = now - last[0] < 0.01
        last[0] = now
        return quiet

    wait_for(idle, timeout=120.0, interval=0.25)


def _tail_request(n: int) -> bytes:
    msg = {"id": n, "command": "tail", "properties": {"name": "lines", "count": 10_000}}
    return json.dumps(msg).encode()


def _wait_for_tail(d: RunningDaemon) -> float:
    """One `tail` of 10,000 lines from a fresh client: seconds until its reply."""
    t0 = time.perf_counter()
    reply = d.call("tail", timeout=60.0, name="lines", count=10_000)
    assert len(reply["lines"]) == 10_000
    return time.perf_counter() - t0


def test_clients_that_do_not_read_or_ask_too_much(bench_dir: Path) -> None:
    program = bench_dir / "lines.py"
    program.write_text(LINES_PROGRAM)
    d = start_daemon(bench_dir / "d", f'[watchers.lines]\ncmd = "{sys.executable} {program}"\n')
    ctx = zmq.Context()
    try:
        wait_for(lambda: d.call("tail", name="lines", count=0)["last_seq"] >= 10_000)
        rest_rss = psutil.Process(d.pid).memory_info().rss
        at_rest = statistics.median(_wait_for_tail(d) for _ in range(5))

        stuck = ctx.socket(zmq.DEALER)
        stuck.setsockopt(zmq.RCVHWM, 1)
        stuck.setsockopt(zmq.RCVBUF, 4096)
        stuck.setsockopt(zmq.LINGER, 0)
        stuck.connect(d.endpoint)
        with Peak(d.pid) as peak:
            for n in range(STUCK_REQUESTS):
                stuck.send(_tail_request(n))
            stuck_wait = _wait_for_tail(d)
            _wait_idle(d)
        stuck_peak = peak.value
        stuck.close()

        greedy = ctx.socket(zmq.DEALER)
        greedy.setsockopt(zmq.LINGER, 0)
        greedy.connect(d.endpoint)
        with Peak(d.pid) as peak:
            for n in range(STUCK_REQUESTS):
                greedy.send(_tail_request(n))
            greedy_wait = _wait_for_tail(d)
            got = 0
            while got < STUCK_REQUESTS and greedy.poll(60_000):
                greedy.recv()
                got += 1
        greedy_peak = peak.value
        greedy.close()
    finally:
        ctx.destroy(linger=0)
        d.stop()
    print(
        f"\nBENCH a client that does not read sends {STUCK_REQUESTS} `tail` of 10,000 lines: "
        f"daemon RSS peak {stuck_peak / MIB:.1f} MiB against {rest_rss / MIB:.1f} MiB at rest, "
        f"ratio {ratio(stuck_peak, rest_rss)}; another client's `tail` answered in "
        f"{ms(stuck_wait)} against {ms(at_rest)} at rest, ratio {ratio(stuck_wait, at_rest)}"
    )
    print(
        f"BENCH a greedy client sends {STUCK_REQUESTS} `tail` at once and reads them "
        f"({got} answered): RSS peak {greedy_peak / MIB:.1f} MiB, ratio "
        f"{ratio(greedy_peak, rest_rss)}; another client's `tail` answered in "
        f"{ms(greedy_wait)}, ratio {ratio(greedy_wait, at_rest)}"
    )
    assert got == STUCK_REQUESTS


# ---------------------------------------------------------------------------------------------
# 3. output without newlines


def test_output_without_newlines(bench_dir: Path) -> None:
    program = bench_dir / "endless.py"
    program.write_text(
        "import sys, time\n"
        "chunk = b'x' * (1 << 20)\n"
        f"for _ in range({ENDLESS_MIB}):\n"
        "    sys.stdout.buffer.write(chunk)\n"
        "sys.stdout.buffer.write(b'\\ndone\\n'); sys.stdout.flush()\n"
        "time.sleep(100000)\n"
    )
    d = start_daemon(
        bench_dir / "d",
        f'[watchers.endless]\ncmd = "{sys.executable} {program}"\nautostart = false\n'
        "max_bytes = 1048576\nbackup_count = 1\n",
    )
    try:
        rest_rss = psutil.Process(d.pid).memory_info().rss
        with Peak(d.pid) as peak:
            t0 = time.perf_counter()
            d.call("start", name="endless", waiting=True)

            def finished() -> bool:
                lines = d.call("tail", name="endless", count=1)["lines"]
                return bool(lines) and lines[0]["data"] == "done"

            wait_for(finished, timeout=600.0, interval=0.05)
            seconds = time.perf_counter() - t0
        kept = sum(len(ln["data"]) for ln in d.call("tail", name="endless")["lines"])
    finally:
        d.stop()
    print(
        f"\nBENCH {ENDLESS_MIB} MiB without a newline ({seconds:.1f} s): daemon RSS peak "
        f"{peak.value / MIB:.1f} MiB against {rest_rss / MIB:.1f} MiB at rest, ratio "
        f"{ratio(peak.value, rest_rss)}; {kept / MIB:.1f} MiB kept for `tail`"
    )
    assert kept > 0
