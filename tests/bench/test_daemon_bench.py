"""Benchmarks: our daemon against Circus 0.19's circusd on the same workloads.

Run with `make bench` (`pytest -q -s tests/bench`). Each test starts our daemon and the real
`circusd` in turn, measures both, and prints one `BENCH ...` line per figure with the ratio
ours / circusd (below 1: we are faster or smaller). Nothing is asserted about speed beyond loose
sanity checks; the figures are for reading.

How each supervisor is configured:

- ours: `python -m tui.cli daemon CONFIG.toml`, defaults except the endpoints, `state_dir`, and
  `stats_interval = 1`. The respawn bench sets `stable_after = 1` (its floor) on its watcher and
  kills each process after more than a second, so that every `kill -9` counts as the death of a
  healthy process and is replaced at once; with the default (10 s) the second and later quick
  deaths in a row are backed off by design.
- circusd: an ini file with Circus's file defaults (`check_delay` is 5 s when read from a config
  file; circusd reaps only when it polls), multicast discovery off (`multicast_endpoint =`), and
  for the idle/RSS bench `statsd = True` with a `stats_endpoint`, which runs `circusd-stats`.

`BENCH_IDLE_SECONDS` (default 60) sets the CPU measuring window; `BENCH_KILLS` (default 10) and
`BENCH_INCRS` (default 20) the sample counts; `BENCH_STOP_SECONDS` (default 30) how long a
daemon holding 1,000 processes may take to quit after SIGTERM before the bench gives up on it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest
import zmq

from tests.support import daemon
from tests.support.configs import Watchers, toml_body
from tests.support.procs import alive, kill_all
from tests.support.waiting import wait_for as poll

REPO = Path(__file__).resolve().parents[2]

OURS = "ours"
CIRCUSD_NAME = "circusd"

# circusd's check_delay when it comes from a config file (circus/config.py: dget(..., 5.)).
CIRCUSD_FILE_CHECK_DELAY = 5.0

IDLE_SECONDS = float(os.environ.get("BENCH_IDLE_SECONDS", "60"))
KILLS = int(os.environ.get("BENCH_KILLS", "10"))
INCRS = int(os.environ.get("BENCH_INCRS", "20"))
STOP_SECONDS = float(os.environ.get("BENCH_STOP_SECONDS", "30"))


def ms(seconds: float) -> str:
    value = seconds * 1000
    return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"


def mib(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:.1f} MiB"


def ratio(ours: float, theirs: float) -> str:
    if theirs <= 0:
        return "n/a"
    value = ours / theirs
    return f"{value:.4f}" if value < 0.01 else f"{value:.2f}"


@dataclass(kw_only=True)
class Supervisor(daemon.Supervisor):
    """One running supervisor (ours or circusd), driven over the raw protocol: `label` is
    its kind."""

    gave_up: bool = False  # a timed quit ran out of time

    @property
    def kind(self) -> str:
        return self.label

    def ok(self, command: str, timeout: float = 10.0, **props: Any) -> dict[str, Any]:
        reply = self.call(command, timeout=timeout, **props)
        assert reply.get("status") == "ok", f"{self.kind} {command}: {reply}"
        return reply

    def pids(self, name: str) -> list[int]:
        return [int(p) for p in self.ok("list", name=name)["pids"]]

    def wait_running(self, name: str, count: int, timeout: float) -> list[int]:
        """Deadline-poll until `name` lists `count` pids that all exist and are not zombies."""

        def ready() -> list[int] | None:
            pids = self.pids(name)
            if len(pids) == count and all(alive(p) for p in pids):
                return pids
            return None

        return poll(ready, timeout, interval=0.1)

    def subscribe(self, topic: str) -> zmq.Socket[Any]:
        sub = self._ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.SUBSCRIBE, topic.encode())
        sub.connect(self.pubsub_endpoint)
        time.sleep(0.3)  # let the subscription reach the publisher
        return sub

    def helpers(self, exclude: set[int]) -> list[psutil.Process]:
        """The daemon's own helper children: our guardian, circusd's circusd-stats."""
        return [
            c
            for c in psutil.Process(self.proc.pid).children(recursive=False)
            if c.pid not in exclude and c.status() != psutil.STATUS_ZOMBIE
        ]

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stop(self, timeout: float = 60.0) -> None:
        """Stop the daemon gracefully, then SIGKILL it and anything it left behind."""
        self.snapshot()
        if self.proc.poll() is None:
            if self.gave_up:
                timeout = 1.0  # it already had its chance (see _timed_quit)
            if not self.terminate(timeout):
                print(f"BENCH note: {self.kind} still running after SIGTERM; SIGKILLed")
        kill_all(self.leftovers)
        self.close()


def start_ours(directory: Path, watchers: Watchers) -> Supervisor:
    """Our daemon: defaults except the endpoints, `state_dir` and `stats_interval = 1`."""
    return daemon.start_daemon(
        directory,
        toml_body(watchers),
        "stats_interval = 1",
        make=Supervisor,
        label=OURS,
        timeout=30.0,
    )


def start_circusd(directory: Path, watchers: Watchers, stats: bool) -> Supervisor:
    """circusd with Circus's file defaults (check_delay 5 s) and multicast discovery off."""
    return daemon.start_circusd(
        directory,
        watchers,
        stats,
        check_delay=None,
        make=Supervisor,
        label=CIRCUSD_NAME,
        timeout=30.0,
    )


@pytest.fixture
def bench_dir(request: pytest.FixtureRequest) -> Iterator[Path]:
    # ipc paths must stay short (~107 bytes), so not pytest's tmp_path.
    short = Path(f"/tmp/cbd-{os.getpid()}-{os.urandom(3).hex()}")
    short.mkdir()
    # Other work on the host skews the figures (and /proc scans grow with its process count).
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"\nBENCH host at start of {request.node.name}: {len(psutil.pids())} processes, "
        f"{psutil.cpu_count()} CPUs, load average {load}"
    )
    yield short
    shutil.rmtree(short, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# 1. respawn after kill -9


def _respawn_latencies(sup: Supervisor, name: str, pauses: list[float]) -> list[float]:
    """Kill the watcher's single process with SIGKILL; time until its `spawn` event arrives."""
    sub = sup.subscribe(f"watcher.{name}.spawn")
    try:
        pid = sup.wait_running(name, 1, timeout=15.0)[0]
        latencies: list[float] = []
        for pause in pauses:
            time.sleep(pause)
            while sub.poll(0):  # drop anything stale
                sub.recv_multipart()
            t0 = time.perf_counter()
            os.kill(pid, signal.SIGKILL)
            new_pid = None
            deadline = t0 + 20.0
            while new_pid is None:
                left = deadline - time.perf_counter()
                if left <= 0 or not sub.poll(int(left * 1000)):
                    raise AssertionError(f"{sup.kind}: no spawn event within 20 s of kill -9")
                _topic, body = sub.recv_multipart()
                candidate = int(json.loads(body)["process_pid"])
                if candidate != pid:
                    new_pid = candidate
            latencies.append(time.perf_counter() - t0)
            assert alive(new_pid), f"{sup.kind}: spawned pid {new_pid} is missing"
            pid = new_pid
        return latencies
    finally:
        sub.close()


def _spread(n: int, period: float) -> list[float]:
    """Pauses spread evenly over [0, period): kills land at every phase of a polling loop."""
    order = [(i * 7) % n for i in range(n)] if n % 7 else list(range(n))
    return [(k + 0.5) / n * period for k in order]


@pytest.mark.timeout(KILLS * 30 + 120)
def test_respawn_after_kill9(bench_dir: Path) -> None:
    victim = {"cmd": "sleep 1000", "numprocesses": 1}
    results: dict[str, list[float]] = {}

    with start_ours(bench_dir / "r1", {"victim": {**victim, "stable_after": 1}}) as ours:
        pauses = [1.0 + pause for pause in _spread(KILLS, 0.5)]
        results[OURS] = _respawn_latencies(ours, "victim", pauses)

    with start_circusd(bench_dir / "r2", {"victim": victim}, stats=False) as theirs:
        results[CIRCUSD_NAME] = _respawn_latencies(
            theirs, "victim", _spread(KILLS, CIRCUSD_FILE_CHECK_DELAY)
        )

    med = {k: statistics.median(v) for k, v in results.items()}
    top = {k: max(v) for k, v in results.items()}
    print()
    print(
        f"BENCH respawn after kill -9 ({KILLS} kills, `sleep 1000` x1, time to `spawn` event): "
        f"ours median {ms(med[OURS])} (max {ms(top[OURS])}), "
        f"circusd median {ms(med[CIRCUSD_NAME])} (max {ms(top[CIRCUSD_NAME])}; "
        f"check_delay {CIRCUSD_FILE_CHECK_DELAY:g} s, the config-file default), "
        f"ratio {ratio(med[OURS], med[CIRCUSD_NAME])}"
    )
    assert 0 < med[OURS] < 5.0


# ---------------------------------------------------------------------------------------------
# 2. incr round trip with waiting


def _incr_round_trips(sup: Supervisor, name: str) -> tuple[list[float], list[float]]:
    sup.wait_running(name, 1, timeout=15.0)
    incrs: list[float] = []
    decrs: list[float] = []
    for _ in range(INCRS):
        t0 = time.perf_counter()
        reply = sup.ok("incr", name=name, waiting=True)
        incrs.append(time.perf_counter() - t0)
        assert reply.get("numprocesses") == 2, f"{sup.kind} incr: {reply}"
        t0 = time.perf_counter()
        reply = sup.ok("decr", name=name, waiting=True)
        decrs.append(time.perf_counter() - t0)
        assert reply.get("numprocesses") == 1, f"{sup.kind} decr: {reply}"
    sup.wait_running(name, 1, timeout=15.0)
    return incrs, decrs


def test_incr_round_trip(bench_dir: Path) -> None:
    grow = {"cmd": "sleep 1000", "numprocesses": 1}
    results: dict[str, tuple[list[float], list[float]]] = {}

    with start_ours(bench_dir / "i1", {"grow": grow}) as ours:
        results[OURS] = _incr_round_trips(ours, "grow")

    with start_circusd(bench_dir / "i2", {"grow": grow}, stats=False) as theirs:
        results[CIRCUSD_NAME] = _incr_round_trips(theirs, "grow")

    incr = {k: statistics.median(v[0]) for k, v in results.items()}
    decr = {k: statistics.median(v[1]) for k, v in results.items()}
    print()
    print(
        f"BENCH incr round trip (waiting: true, {INCRS} incr/decr pairs, 1 -> 2 `sleep`): "
        f"ours median {ms(incr[OURS])} (max {ms(max(results[OURS][0]))}), "
        f"circusd median {ms(incr[CIRCUSD_NAME])} (max {ms(max(results[CIRCUSD_NAME][0]))}), "
        f"ratio {ratio(incr[OURS], incr[CIRCUSD_NAME])}"
    )
    print(
        f"BENCH decr round trip (waiting: true, 2 -> 1): "
        f"ours median {ms(decr[OURS])}, circusd median {ms(decr[CIRCUSD_NAME])}, "
        f"ratio {ratio(decr[OURS], decr[CIRCUSD_NAME])}"
    )
    assert 0 < incr[OURS] < 5.0


# ---------------------------------------------------------------------------------------------
# 3 and 4. idle CPU at 100 processes with stats on; RSS at 100 and 1,000 processes


def _cpu(procs: list[psutil.Process]) -> float:
    """User + system seconds of `procs`, including children they already reaped."""
    total = 0.0
    for p in procs:
        t = p.cpu_times()
        total += t.user + t.system + t.children_user + t.children_system
    return total


@dataclass
class IdleFigures:
    helpers: list[str]
    cpu_seconds: float
    cpu_helpers_seconds: float
    rss_100: int
    rss_100_helpers: int
    rss_1000: int
    rss_1000_helpers: int
    scale_seconds: float
    stop_seconds: float | None  # None: still running after STOP_SECONDS
    stop_left: int  # supervised processes still running (not zombies) at that point


def _timed_quit(sup: Supervisor, pids: list[int]) -> tuple[float | None, int]:
    """SIGTERM the daemon; seconds until it exits (None past STOP_SECONDS) and pids left."""
    sup.snapshot()
    t0 = time.perf_counter()
    sup.proc.send_signal(signal.SIGTERM)
    try:
        sup.proc.wait(STOP_SECONDS)
        elapsed: float | None = time.perf_counter() - t0
    except subprocess.TimeoutExpired:
        elapsed = None
        sup.gave_up = True
    return elapsed, sum(1 for p in pids if alive(p))


def _label(proc: psutil.Process) -> str:
    argv = proc.cmdline()
    if "-m" in argv[:-1]:
        return f"{proc.pid} {argv[argv.index('-m') + 1]}"
    if any("circus" in a and "stats" in a for a in argv):
        return f"{proc.pid} circusd-stats"
    return f"{proc.pid} {' '.join(argv)[:60]}"


def _idle_and_rss(sup: Supervisor, name: str) -> IdleFigures:
    pids = sup.wait_running(name, 100, timeout=60.0)
    time.sleep(3.0)  # let start-up work and the first stats ticks pass
    main = psutil.Process(sup.proc.pid)
    helpers = sup.helpers(exclude=set(pids))
    helper_names = [_label(h) for h in helpers]

    rss_100 = main.memory_info().rss
    rss_100_helpers = sum(h.memory_info().rss for h in helpers)

    cpu_main0, cpu_help0 = _cpu([main]), _cpu(helpers)
    time.sleep(IDLE_SECONDS)
    cpu_main = _cpu([main]) - cpu_main0
    cpu_help = _cpu(helpers) - cpu_help0
    assert sup.proc.poll() is None, f"{sup.kind} died during the idle window"
    assert len(sup.pids(name)) == 100

    t0 = time.perf_counter()
    sup.ok("incr", timeout=300.0, name=name, nb=900, waiting=True)
    pids = sup.wait_running(name, 1000, timeout=300.0)
    scale_seconds = time.perf_counter() - t0
    time.sleep(5.0)  # a few stats ticks over 1,000 processes
    rss_1000 = main.memory_info().rss
    rss_1000_helpers = sum(h.memory_info().rss for h in sup.helpers(exclude=set(pids)))
    stop_seconds, stop_left = _timed_quit(sup, pids)
    return IdleFigures(
        helper_names,
        cpu_main,
        cpu_help,
        rss_100,
        rss_100_helpers,
        rss_1000,
        rss_1000_helpers,
        scale_seconds,
        stop_seconds,
        stop_left,
    )


@pytest.mark.timeout(2 * IDLE_SECONDS + 900)
def test_idle_cpu_and_rss(bench_dir: Path) -> None:
    herd = {"cmd": "sleep 100000", "numprocesses": 100}
    figures: dict[str, IdleFigures] = {}

    with start_ours(bench_dir / "c1", {"herd": herd}) as ours:
        figures[OURS] = _idle_and_rss(ours, "herd")

    with start_circusd(bench_dir / "c2", {"herd": herd}, stats=True) as theirs:
        figures[CIRCUSD_NAME] = _idle_and_rss(theirs, "herd")

    o, c = figures[OURS], figures[CIRCUSD_NAME]
    o_cpu, c_cpu = o.cpu_seconds + o.cpu_helpers_seconds, c.cpu_seconds + c.cpu_helpers_seconds
    print()
    print(f"BENCH helpers counted: ours {o.helpers}, circusd {c.helpers}")
    print(
        f"BENCH idle CPU over {IDLE_SECONDS:g} s, 100 `sleep`, stats every 1 s: "
        f"ours {o_cpu:.2f} s ({o_cpu / IDLE_SECONDS * 100:.2f}% of a core; daemon "
        f"{o.cpu_seconds:.2f} + helpers {o.cpu_helpers_seconds:.2f}), "
        f"circusd {c_cpu:.2f} s ({c_cpu / IDLE_SECONDS * 100:.2f}%; circusd "
        f"{c.cpu_seconds:.2f} + circusd-stats {c.cpu_helpers_seconds:.2f}), "
        f"ratio {ratio(o_cpu, c_cpu)}"
    )
    for count, o_rss, o_help, c_rss, c_help in (
        (100, o.rss_100, o.rss_100_helpers, c.rss_100, c.rss_100_helpers),
        (1000, o.rss_1000, o.rss_1000_helpers, c.rss_1000, c.rss_1000_helpers),
    ):
        print(
            f"BENCH daemon RSS at {count} processes: ours {mib(o_rss)} "
            f"(+ helpers {mib(o_help)}), circusd {mib(c_rss)} (+ circusd-stats {mib(c_help)}), "
            f"ratio {ratio(o_rss, c_rss)} (with helpers {ratio(o_rss + o_help, c_rss + c_help)})"
        )
    print(
        f"BENCH incr nb=900 (waiting) until 1,000 running: ours {o.scale_seconds:.2f} s, "
        f"circusd {c.scale_seconds:.2f} s, ratio {ratio(o.scale_seconds, c.scale_seconds)}"
    )
    print(f"BENCH quit with 1,000 processes (SIGTERM to daemon exit): {_quit_text(o, c)}")
    assert o.rss_1000 > 0 and c.rss_1000 > 0


def _quit_text(o: IdleFigures, c: IdleFigures) -> str:
    def one(f: IdleFigures) -> str:
        if f.stop_seconds is None:
            return f"not done after {STOP_SECONDS:g} s ({f.stop_left} of 1000 still running)"
        return f"{f.stop_seconds:.2f} s"

    text = f"ours {one(o)}, circusd {one(c)}"
    if o.stop_seconds is not None and c.stop_seconds is not None:
        text += f", ratio {ratio(o.stop_seconds, c.stop_seconds)}"
    return text
