"""daemon.stats against real process trees; a fake clock where history timing is the subject."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from daemon import procfs
from daemon.procfs import ProcEntry
from daemon.stats import StatsSampler
from daemon.wire import stats
from daemon.wire.stats import history_body, process_info
from tests.conftest import wait_for

# A parent that sleeps and one child running CHILD; prints the child's pid.
PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", {child!r}])
print(child.pid, flush=True)
time.sleep(60)
"""
# Bounded so a leaked busy child cannot burn a core for long.
BUSY = "import time\nend = time.monotonic() + 15\nwhile time.monotonic() < end: pass"
SLEEPER = "import time; time.sleep(60)"
# b"x" * n writes every page, so the 50 MB are resident, not just reserved.
ALLOC_50MB = "import time\nblob = b'x' * (50 << 20)\ntime.sleep(60)"

MB = 1 << 20


def history(sampler: StatsSampler, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The history as the `history` command replies with it."""
    return history_body(sampler.history(*args, **kwargs))


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def spawn() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []

    def _spawn(code: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", code], start_new_session=True, stdout=subprocess.PIPE, text=True
        )
        started.append(proc)
        return proc

    yield _spawn
    for proc in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if proc.stdout:
            proc.stdout.close()


def spawn_tree(spawn: Callable[..., subprocess.Popen[str]], child: str) -> tuple[int, int]:
    parent = spawn(PARENT.format(child=child))
    assert parent.stdout is not None
    return parent.pid, int(parent.stdout.readline())


def test_busy_child_counts_on_parent_row(spawn: Callable[..., subprocess.Popen[str]]) -> None:
    parent, child = spawn_tree(spawn, BUSY)
    sampler = StatsSampler(interval=0.2)
    first, _ = sampler.sample({"web": [parent]})
    assert first["web"].cpu == 0.0

    def busy() -> tuple[Any, Any] | None:
        watchers, procs = sampler.sample({"web": [parent]})
        row = procs[parent]
        # Two cores shared with parallel tests: ask for a clear signal, not a full core.
        # The parent's own start-up can briefly be the busier one: wait for the child.
        member = row.members.get(child)
        return (watchers, procs) if member is not None and member.cpu > 20 else None

    watchers, procs = wait_for(busy, timeout=5, interval=0.1)
    row = procs[parent]
    assert list(procs) == [parent]  # the child is part of its parent's row, not a row
    assert row.members[child].cpu > row.members[parent].cpu
    assert row.cpu == pytest.approx(sum(m.cpu for m in row.members.values()))
    w = watchers["web"]
    assert w.pids == [parent]
    assert w.cpu == pytest.approx(row.cpu)  # Circus's average over one process
    assert w.cpu_total == pytest.approx(row.cpu)
    assert w.age > 0


def test_child_memory_counts_in_tree_rss(spawn: Callable[..., subprocess.Popen[str]]) -> None:
    parent, child = spawn_tree(spawn, ALLOC_50MB)
    sampler = StatsSampler()

    def allocated() -> Any:
        _, procs = sampler.sample({"mem": [parent]})
        row = procs[parent]
        return row if child in row.members and row.members[child].rss > 50 * MB else None

    row = wait_for(allocated, timeout=10, interval=0.1)
    assert row.rss >= row.members[parent].rss + 50 * MB
    assert row.rss == sum(m.rss for m in row.members.values())
    assert row.mem == pytest.approx(row.rss * 100 / procfs.total_memory())
    info = process_info(parent, sample=row)
    assert isinstance(info, dict)
    assert info["rss"] == row.rss
    assert re.fullmatch(r"\d+\.\d\dM", info["mem_info1"])
    assert float(info["mem_info1"][:-1]) >= 50


def test_disappearing_child_and_root(spawn: Callable[..., subprocess.Popen[str]]) -> None:
    parent, child = spawn_tree(spawn, BUSY)
    sampler = StatsSampler(interval=0.1, history_seconds=60)
    wait_for(lambda: child in sampler.sample({"w": [parent]})[1][parent].children, timeout=5)

    os.kill(child, signal.SIGKILL)
    # The parent does not reap it: the child lingers as a zombie, whose resident size is 0.

    def child_dead() -> Any:
        _, procs = sampler.sample({"w": [parent]})
        m = procs[parent].members.get(child)
        return procs[parent] if m is None or m.rss == 0 else None

    row = wait_for(child_dead, timeout=5, interval=0.1)
    assert row.cpu >= 0.0
    assert all(m.cpu >= 0.0 for m in row.members.values())

    os.killpg(parent, signal.SIGKILL)
    os.waitpid(parent, 0)  # reaped, as the supervisor would

    def root_gone() -> Any:
        result = sampler.sample({"w": [parent]})
        return result if parent not in result[1] else None

    watchers, procs = wait_for(root_gone, timeout=5, interval=0.1)
    assert procs == {}
    assert watchers["w"].pids == [] and watchers["w"].cpu == 0.0 and watchers["w"].rss == 0
    assert process_info(parent) == stats.NO_SUCH_PROCESS
    # A vanished process keeps its history (for history_seconds), until forgotten.
    assert str(parent) in history(sampler, pid=parent)["processes"]
    sampler.forget(parent)
    assert history(sampler, pid=parent)["processes"] == {}


def test_history_is_bounded_and_driven_by_the_clock(
    spawn: Callable[..., subprocess.Popen[str]],
) -> None:
    pid = spawn(SLEEPER).pid
    clock = FakeClock()
    sampler = StatsSampler(interval=1.0, history_seconds=5.0, clock=clock)
    for _ in range(20):
        clock.advance(1.0)
        sampler.sample({"web": [pid]})
    h = history(sampler)
    assert h["interval"] == 1.0
    assert h["processes"] == {}  # no filter: watchers only
    web = h["watchers"]["web"]
    assert len(web["t"]) == 6  # 5 s at one point a second, and the current point
    assert [round(b - a, 6) for a, b in zip(web["t"], web["t"][1:], strict=False)] == [1.0] * 5
    assert len(web["cpu"]) == len(web["mem"]) == len(web["rss"]) == 6
    assert all(r > 0 for r in web["rss"])
    by_name = history(sampler, name="web")
    assert by_name["watchers"]["web"] == web
    assert by_name["processes"][str(pid)]["t"] == web["t"]
    assert json.loads(json.dumps(by_name)) == by_name

    # An extra sample between ticks adds no point; the next tick does.
    clock.advance(0.3)
    sampler.sample({"web": [pid]})
    assert history(sampler, "web")["watchers"]["web"]["t"] == web["t"]
    clock.advance(0.7)
    sampler.sample({"web": [pid]})
    newer = history(sampler, "web", since=web["t"][-1])["watchers"]["web"]
    assert len(newer["t"]) == 1 and newer["t"][0] > web["t"][-1]

    # A watcher no longer sampled is dropped once its history has aged out.
    for _ in range(7):
        clock.advance(1.0)
        sampler.sample({"other": []})
    assert list(history(sampler)["watchers"]) == ["other"]
    assert history(sampler, "web") == {"interval": 1.0, "watchers": {}, "processes": {}}


def test_cpu_arithmetic_pid_reuse_and_births() -> None:
    """Exact edge cases need exact readings: a scripted reader stands in for /proc here."""
    table: dict[int, ProcEntry] = {}

    def proc(pid: int, ppid: int, start: float, cpu: float) -> None:
        table[pid] = ProcEntry(pid, ppid, start, cpu, 1 * MB, 2 * MB, 0)

    clock = FakeClock()
    sampler = StatsSampler(interval=1.0, clock=clock, reader=lambda: dict(table))
    proc(10, 1, start=100.0, cpu=5.0)
    proc(11, 10, start=100.0, cpu=5.0)
    assert sampler.sample({"w": [10]})[1][10].cpu == 0.0  # first sample

    clock.advance(2.0)
    proc(10, 1, start=100.0, cpu=5.5)  # 0.5 s over 2 s
    del table[11]  # exited mid-interval: its CPU is not counted
    proc(12, 10, start=150.0, cpu=0.2)  # born since the last pass: all of it counts
    row = sampler.sample({"w": [10]})[1][10]
    assert row.children == [12]
    assert row.members[10].cpu == pytest.approx(25.0)
    assert row.members[12].cpu == pytest.approx(10.0)
    assert row.cpu == pytest.approx(35.0)

    clock.advance(1.0)
    proc(12, 10, start=160.0, cpu=0.1)  # pid 12 reused: lower cpu time, never negative
    row = sampler.sample({"w": [10]})[1][10]
    assert row.members[12].cpu == pytest.approx(10.0)
    assert history(sampler, pid=10)["processes"]["10"]["cpu"] == [0.0, 35.0, 10.0]

    # A supervised process under another one is its own row, not counted twice.
    proc(13, 10, start=170.0, cpu=0.0)
    _, rows = sampler.sample({"a": [10], "b": [13]})
    assert 13 not in rows[10].children and list(rows) == [10, 13]


def test_process_info_matches_circus_shape(spawn: Callable[..., subprocess.Popen[str]]) -> None:
    from circus.process import Process as CircusProcess

    theirs = CircusProcess("t", 1, sys.executable, args=["-c", PARENT.format(child=SLEEPER)])
    try:
        assert theirs.pid is not None
        wait_for(theirs.children, timeout=5)
        circus_info = theirs.info()
        assert isinstance(circus_info, dict)
        sampler = StatsSampler()
        _, procs = sampler.sample({"t": [theirs.pid]})
        ours = process_info(theirs.pid, wid=1, started=theirs.started, sample=procs[theirs.pid])
        assert isinstance(ours, dict)
        assert set(ours) == set(circus_info) | {"rss", "vms"}
        assert set(ours["children"][0]) == set(circus_info["children"][0]) | {
            "rss",
            "vms",
            "ppid",
        }
        for key in ("pid", "username", "nice", "cmdline", "started", "wid"):
            assert ours[key] == circus_info[key], key
        # Circus counts from /proc/stat's whole-second boot time; ours is exact.
        assert ours["create_time"] == pytest.approx(circus_info["create_time"], abs=1.01)
        assert ours["children"][0]["cmdline"] == circus_info["children"][0]["cmdline"]
        for info in (ours, ours["children"][0]):
            assert re.fullmatch(r"\d+(B|\.\d\d[KMG])", info["mem_info1"])
            assert re.fullmatch(r"\d+(B|\.\d\d[KMG])", info["mem_info2"])
            assert re.fullmatch(r"\d+:\d\d\.\d\d?", info["ctime"])
        assert json.loads(json.dumps(ours)) == ours
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(theirs.pid, signal.SIGKILL)
        theirs._worker.wait()


def test_process_info_without_sample_and_vanished(
    spawn: Callable[..., subprocess.Popen[str]],
) -> None:
    parent, child = spawn_tree(spawn, SLEEPER)

    def with_child() -> Any:
        info = process_info(parent)
        # Between fork and exec the child can briefly show no resident pages.
        ok = isinstance(info, dict) and info["children"] and info["children"][0]["rss"] > 0
        return info if ok else None

    info = wait_for(with_child, timeout=5, interval=0.1)
    assert info["cpu"] == 0.0 and info["started"] is None and info["wid"] is None
    assert [c["pid"] for c in info["children"]] == [child]
    assert info["children"][0]["ppid"] == parent
    assert info["rss"] > info["children"][0]["rss"] > 0
    assert process_info(2**22 + 1) == "No such process (stopped?)"


def test_formats_match_circus() -> None:
    from circus.util import bytes2human as circus_bytes2human

    for n in (0, 1, 1023, 1024, 1536, 8_933_376, 12_803_112, 3 << 30, 5 << 40, (1 << 20) - 1):
        assert stats.bytes2human(n) == circus_bytes2human(n), n
    assert stats.format_cpu_time(0) == "0:00.0"
    assert stats.format_cpu_time(0.5) == "0:00.50"
    assert stats.format_cpu_time(0.05) == "0:00.05"  # Circus would print "0:00.50"
    assert stats.format_cpu_time(61.25) == "1:01.25"
    assert stats.format_cpu_time(3725.5) == "62:05.50"  # Circus drops the hour


def test_daemon_info() -> None:
    first = stats.daemon_info()
    assert first["pid"] == os.getpid()
    assert first["wid"] is None and first["children"] == []
    assert first["cmdline"].startswith("python")
    sum(i * i for i in range(200_000))  # some CPU between the calls
    second = stats.daemon_info()
    assert second["cpu"] >= 0.0
    assert second["rss"] > 0 and second["mem_info1"].endswith("M")


def test_psutil_fallback_sees_the_same_tree(spawn: Callable[..., subprocess.Popen[str]]) -> None:
    parent, child = spawn_tree(spawn, SLEEPER)
    proc_sampler = StatsSampler()
    psutil_sampler = StatsSampler(reader=procfs.read_table_psutil)

    def both() -> Any:
        a = proc_sampler.sample({"w": [parent]})[1]
        b = psutil_sampler.sample({"w": [parent]})[1]
        if child not in a[parent].children:
            return None
        # The child may still be loading Python between the two reads: wait until it settles.
        return (a[parent], b[parent]) if abs(a[parent].rss - b[parent].rss) < 2 * MB else None

    ours, fallback = wait_for(both, timeout=5, interval=0.1)
    assert fallback.children == ours.children
    assert fallback.create_time == pytest.approx(ours.create_time, abs=1.01)
