"""Benchmark: what liveness probes cost the daemon.

1,000 processes (`sleep`, 10 watchers of 100) with `stats_interval = 1`, measured three ways in
one run, each over `BENCH_PROBE_SECONDS` (default 20):

- baseline: no probes;
- `[alive] tcp` every second on every process, against a listening socket of the bench that
  counts the connections (so the bench knows the probes ran);
- `[alive] http` every second, against a small HTTP server of the bench;
- `[alive] exec = "true"` every second on 100 processes (a fork and exec each).

For each: the daemon's CPU (user + system, as a share of one core), its RSS, the probes that
ran, and the CPU cost of one probe, (CPU with probes - CPU of the baseline) / probes.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

from tests.bench.test_daemon_bench import (
    OURS,
    Supervisor,
    bench_dir,  # noqa: F401 (a fixture)
    mib,
    ratio,
)
from tests.support import daemon
from tests.support.waiting import wait_for

SECONDS = float(os.environ.get("BENCH_PROBE_SECONDS", "20"))
WATCHERS = 10
EACH = 100


@dataclass
class Figures:
    cpu: float  # share of one core
    rss: int
    probes: int


class Counter:
    """A listening socket that accepts and closes, counting connections."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1024)
        self.port = self.sock.getsockname()[1]
        self.count = 0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.count += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


# A small asyncio HTTP server in a process of its own (the bench's threads would not keep
# up with 1,000 requests a second): answers 200 and writes how many it served to a file.
HTTP_SERVER = """
import asyncio, os, sys
served = 0
async def answer(reader, writer):
    global served
    try:
        await reader.readuntil(b"\\r\\n\\r\\n")
        writer.write(b"HTTP/1.1 200 OK\\r\\nContent-Length: 0\\r\\nConnection: close\\r\\n\\r\\n")
        served += 1
        await writer.drain()
    except Exception:
        pass
    writer.close()
async def count(path):
    while True:
        with open(path + ".tmp", "w") as f:
            f.write(str(served))
        os.replace(path + ".tmp", path)
        await asyncio.sleep(0.1)
async def main():
    server = await asyncio.start_server(answer, "127.0.0.1", 0, backlog=4096)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.gather(server.serve_forever(), count(sys.argv[1]))
asyncio.run(main())
"""


@contextmanager
def http_server(directory: Path) -> Iterator[tuple[int, Callable[[], int]]]:
    counted = directory / "http-served"
    proc = subprocess.Popen(
        [sys.executable, "-c", HTTP_SERVER, str(counted)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())

        def served() -> int:
            try:
                return int(counted.read_text() or 0)
            except (OSError, ValueError):
                return 0

        yield port, served
    finally:
        proc.kill()
        proc.wait()


def _body(alive: str, watchers: int = WATCHERS, each: int = EACH) -> str:
    return "".join(
        f'[watchers.s{i}]\ncmd = "sleep 100000"\nnumprocesses = {each}\ngraceful_timeout = 1\n'
        + (f"[watchers.s{i}.alive]\n{alive}\ninterval = 1.0\ntimeout = 2.0\n" if alive else "")
        for i in range(watchers)
    )


def _measure(directory: Path, body: str, total: int, probes: Callable[[], int]) -> Figures:
    sup = daemon.start_daemon(
        directory, body, "stats_interval = 1", make=Supervisor, label=OURS, timeout=60.0
    )
    with sup:

        def all_running() -> bool:
            infos = sup.ok("stats")["infos"]
            return sum(len(v) for v in infos.values()) == total

        wait_for(all_running, timeout=120, interval=0.5)
        proc = psutil.Process(sup.pid)
        # Settle: the starts' own work is over, and the first probes have run.
        time.sleep(3)
        before_probes = probes()
        before = proc.cpu_times()
        started = time.monotonic()
        time.sleep(SECONDS)
        after = proc.cpu_times()
        took = time.monotonic() - started
        ran = probes() - before_probes
        rss = proc.memory_info().rss
    cpu = (after.user + after.system - before.user - before.system) / took
    return Figures(cpu, rss, ran)


def _row(label: str, f: Figures, base: Figures, per: int) -> str:
    extra = f.cpu - base.cpu
    each = extra / (f.probes / SECONDS) * 1e6 if f.probes else float("nan")
    return (
        f"BENCH probe {label}: daemon CPU {f.cpu * 100:.1f}% of a core "
        f"(baseline {base.cpu * 100:.1f}%, ratio {ratio(f.cpu, base.cpu)}), RSS {mib(f.rss)} "
        f"(baseline {mib(base.rss)}), {f.probes / SECONDS:.0f} probes/s of {per} expected, "
        f"{each:.0f} us of CPU per probe"
    )


def test_probe_cost_per_thousand_processes(bench_dir: Path) -> None:  # noqa: F811
    total = WATCHERS * EACH
    base = _measure(bench_dir / "base", _body(""), total, lambda: 0)
    counter = Counter()
    try:
        tcp = _measure(
            bench_dir / "tcp",
            _body(f'tcp = "127.0.0.1:{counter.port}"'),
            total,
            lambda: counter.count,
        )
    finally:
        counter.close()
    with http_server(bench_dir) as (port, served):
        http = _measure(
            bench_dir / "http",
            _body(f'http = "http://127.0.0.1:{port}/healthz"'),
            total,
            served,
        )
    # Each probe appends a line (short appends are atomic): the lines count the probes.
    lines = bench_dir / "exec-lines"
    lines.touch()
    counted = f"exec = \"sh -c 'echo $(circus.wid) >> {lines}'\""
    exec_base = _measure(bench_dir / "exec-base", _body("", 1, 100), 100, lambda: 0)
    exe = _measure(
        bench_dir / "exec", _body(counted, 1, 100), 100, lambda: len(lines.read_bytes().split())
    )
    print(f"\nBENCH probe setup: {total} `sleep` processes, interval 1 s, {SECONDS:g} s windows")
    print(_row("tcp, 1,000 processes", tcp, base, total))
    print(_row("http, 1,000 processes", http, base, total))
    print(_row("exec (sh -c 'echo …'), 100 processes", exe, exec_base, 100))
    # Sanity, not speed: the probes ran, about once a second each.
    assert tcp.probes > 0.8 * total * SECONDS
    assert http.probes > 0.8 * total * SECONDS
    assert exe.probes > 0.8 * 100 * SECONDS
