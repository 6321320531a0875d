"""Benchmark: reloading servers that take 1.5 s to boot, on a daemon-owned socket under load.

Four processes of `tests/support/slow_server.py` share one listening socket the supervisor
owns; four client threads send one request per connection without pause. During a graceful
reload of the watcher the bench records every request: how many failed, the 99th percentile
and the longest wait, and how long the reload command took.

- ours: a rolling reload (`reload name=web`), with `[ready] log = "^Listening"`: each old
  process stops only once a replacement is ready. Once with `max_surge = 1` (the default:
  one at a time) and once with `max_surge = 4` (all four replacements at once).
- circusd 0.19: the same watcher and socket in a circus.ini, `reload name=web` (graceful):
  Circus starts the new processes and stops the old ones without waiting for the new to boot.

The window measured is from just before the reload until two boot times after it returned,
so that requests queued while nothing served are counted when they are finally answered.
`BENCH_RELOAD_BOOT` (default 1.5) sets the boot time.
"""

from __future__ import annotations

import os
import socket
import statistics
import sys
import time
from pathlib import Path

from tests.bench.test_daemon_bench import (
    CIRCUSD_NAME,
    OURS,
    Supervisor,
    bench_dir,  # noqa: F401 (a fixture)
    ms,
    ratio,
)
from tests.support import daemon
from tests.support.load import Load, answering
from tests.support.waiting import wait_for

SLOW_SERVER = Path(__file__).parents[1] / "support" / "slow_server.py"
BOOT = float(os.environ.get("BENCH_RELOAD_BOOT", "1.5"))
WORKERS = 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cmd() -> str:
    return f"{sys.executable} {SLOW_SERVER} $(circus.sockets.web) {BOOT}"


def _ours(directory: Path, port: int, surge: int) -> Supervisor:
    body = (
        f'[sockets.web]\nhost = "127.0.0.1"\nport = {port}\nbacklog = 512\n'
        f'[watchers.web]\ncmd = "{_cmd()}"\nuse_sockets = true\n'
        f"numprocesses = {WORKERS}\ngraceful_timeout = 30\nmax_surge = {surge}\n"
        '[watchers.web.ready]\nlog = "^Listening"\nstart_timeout = 60\n'
    )
    return daemon.start_daemon(directory, body, make=Supervisor, label=OURS, timeout=30.0)


def _circusd(directory: Path, port: int) -> Supervisor:
    watchers = {
        "web": {
            "cmd": _cmd(),
            "use_sockets": True,
            "numprocesses": WORKERS,
            "graceful_timeout": 30,
        }
    }
    sockets = {"web": {"host": "127.0.0.1", "port": port, "backlog": 512}}
    return daemon.start_circusd(
        directory,
        watchers,
        check_delay=None,
        sockets=sockets,
        make=Supervisor,
        label=CIRCUSD_NAME,
        timeout=30.0,
    )


class Figures:
    def __init__(self, latencies: list[float], failed: list[str], took: float) -> None:
        self.failed = failed
        self.took = took
        self.count = len(latencies)
        self.p99 = statistics.quantiles(latencies, n=100)[98] if len(latencies) > 1 else 0.0
        self.max = max(latencies, default=0.0)

    def text(self) -> str:
        return (
            f"{len(self.failed)} failed of {self.count + len(self.failed)}, p99 {ms(self.p99)}, "
            f"max {ms(self.max)}, reload took {self.took:.2f} s"
        )


def _reload_under_load(sup: Supervisor, port: int) -> Figures:
    with sup:
        sup.wait_running("web", WORKERS, timeout=60)
        before = set(sup.pids("web"))
        wait_for(lambda: answering(port), timeout=60)
        with Load(port, threads=4, limit=120.0, timeout=30.0) as load:
            # Every process has booted and answers (a reload of half-booted ones would
            # flatter no one).
            wait_for(lambda: {int(p) for p in load.servers} >= before, timeout=60)
            mark = load.mark()
            failed_before = len(load.failed)
            started = time.monotonic()
            reply = sup.ok("reload", name="web", waiting=True, timeout=120)
            took = time.monotonic() - started
            assert reply["status"] == "ok"
            # The window ends once every replacement has answered, and then some: what was
            # queued while nothing served has been answered by then (the queue is FIFO).
            after = set(wait_for(lambda: _replaced(sup, before), timeout=60))
            wait_for(lambda: {int(p) for p in load.servers} >= after, timeout=60)
            answered = load.ok
            wait_for(lambda: load.ok > answered + 40, timeout=60)
            latencies = load.since(mark)
            failed = load.failed[failed_before:]
        return Figures(latencies, failed, took)


def _replaced(sup: Supervisor, before: set[int]) -> list[int] | None:
    pids = sup.pids("web")
    return pids if len(pids) == WORKERS and not set(pids) & before else None


def test_reload_of_slow_booting_servers_under_load(bench_dir: Path) -> None:  # noqa: F811
    port = _free_port()
    surge1 = _reload_under_load(_ours(bench_dir / "ours1", port, 1), port)
    surge4 = _reload_under_load(_ours(bench_dir / "ours4", port, WORKERS), port)
    theirs = _reload_under_load(_circusd(bench_dir / "circusd", port), port)
    what = f"{WORKERS} servers booting {BOOT:g} s, shared socket, 4 client threads"
    print(f"BENCH reload under load ({what}), ours max_surge=1: {surge1.text()}")
    print(f"BENCH reload under load ({what}), ours max_surge={WORKERS}: {surge4.text()}")
    print(f"BENCH reload under load ({what}), circusd: {theirs.text()}")
    for label, ours in (("max_surge=1", surge1), (f"max_surge={WORKERS}", surge4)):
        print(
            f"BENCH reload under load, ours {label} / circusd: p99 {ratio(ours.p99, theirs.p99)}, "
            f"max wait {ratio(ours.max, theirs.max)}, failed {len(ours.failed)} vs "
            f"{len(theirs.failed)}, reload duration {ratio(ours.took, theirs.took)} "
            "(ours waits for each replacement to be ready)"
        )
    # Sanity, not speed: the load ran through every reload and ours dropped nothing.
    assert min(surge1.count, surge4.count, theirs.count) > 50
    assert surge1.failed == [] and surge4.failed == [], (surge1.failed[:3], surge4.failed[:3])
