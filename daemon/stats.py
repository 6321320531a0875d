"""CPU and memory of supervised process trees, sampled once a tick, with bounded history.

A supervised process is measured together with all its descendants (a gunicorn master and its
workers are one row). A tick is one pass over the process table (daemon.procfs).
The wire's bodies (daemon.wire.stats) are built from a sample, so the once-a-second
`stat.<watcher>.<pid>` publishes need no further system calls beyond a small identity cache.

Measured at 1,000 supervised processes on 2 cores (tests/bench/test_stats_bench.py): a tick
costs about 25 ms of CPU; psutil's per-pid children(recursive=True) costs seconds. `sample` is
synchronous: call it from the event loop, or through `asyncio.to_thread` to keep those
milliseconds off the loop.
"""

from __future__ import annotations

import math
import os
import time
from array import array
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from daemon import procfs
from daemon.procfs import ProcEntry, Table, total_memory

_MAX_CPU = 100.0 * (os.cpu_count() or 1)

# Series of processes that exited are kept for history_seconds, but at most this many, so a
# crash-looping watcher cannot grow the daemon's memory.
_MAX_RETIRED_PROCESSES = 256
_MAX_RETIRED_WATCHERS = 64

# A history point is recorded at most every half interval per series: an extra sample() between
# ticks (an on-demand `stats`) does not crowd the ring, and a late tick is not dropped.
_MIN_POINT_SPACING = 0.5


class MemberSample(NamedTuple):
    """One process of a tree with its own figures (not its descendants')."""

    pid: int
    ppid: int
    cpu: float
    rss: int
    vms: int
    cpu_time: float
    nice: int
    create_time: float


@dataclass
class ProcSample:
    """One supervised process, its whole tree counted."""

    pid: int
    cpu: float  # percent of one core over the last interval, tree total (0.0 on first sample)
    mem: float  # percent of total RAM, tree total
    rss: int  # bytes, tree total
    children: list[int]  # descendant pids currently alive
    vms: int = 0  # bytes, tree total
    cpu_time: float = 0.0  # user + system seconds, tree total
    create_time: float = 0.0  # of the root process, wall seconds
    members: dict[int, MemberSample] = field(default_factory=dict)  # root and descendants


@dataclass
class WatcherSample:
    name: str
    pids: list[int]  # the supervised processes that were alive at this sample
    cpu: float  # Circus's stat.<watcher> "cpu": the average over processes
    cpu_total: float  # sum over processes
    mem: float  # sum of percent
    rss: int  # sum bytes
    age: float  # max age seconds


class Series(NamedTuple):
    """Points of one history, oldest first, as parallel lists."""

    t: list[float]  # wall seconds, to the millisecond
    cpu: list[float]  # percent (float32 precision)
    mem: list[float]  # percent (float32 precision)
    rss: list[int]  # bytes


@dataclass
class History:
    interval: float
    watchers: dict[str, Series]
    processes: dict[int, Series]


@dataclass
class Tick:
    """One sampling tick: what was asked about and what was found."""

    groups: dict[str, list[int]]  # watcher name -> the supervised pids asked about
    watchers: dict[str, WatcherSample]
    procs: dict[int, ProcSample]


Reader = Callable[[], Table]


def _tree_sample(
    root: int,
    procs: Table,
    stop: set[int] | frozenset[int],
    cpu_of: Callable[[ProcEntry], float],
) -> ProcSample | None:
    top = procs.get(root)
    if top is None:
        return None
    desc = procfs.descendants((root,), procs, stop)
    cpu = cpu_of(top)
    members = {
        root: MemberSample(
            root, top.ppid, cpu, top.rss, top.vms, top.cpu_time, top.nice, top.create_time
        )
    }
    cpu_time, rss, vms = top.cpu_time, top.rss, top.vms
    for pid in desc:  # most supervised processes have none
        p = procs[pid]
        c = cpu_of(p)
        members[pid] = MemberSample(pid, p.ppid, c, p.rss, p.vms, p.cpu_time, p.nice, p.create_time)
        cpu += c
        cpu_time += p.cpu_time
        rss += p.rss
        vms += p.vms
    return ProcSample(
        pid=root,
        cpu=cpu,
        mem=rss * 100.0 / total_memory(),
        rss=rss,
        children=desc,
        vms=vms,
        cpu_time=cpu_time,
        create_time=top.create_time,
        members=members,
    )


class _Series:
    """A bounded ring of (t, cpu, mem, rss) points in compact arrays.

    Four float objects per point in a deque would cost ~130 bytes; these cost 24, which matters
    at a thousand processes times 900 points.
    """

    __slots__ = ("cap", "cpu", "head", "key", "last_seen", "mem", "rss", "t")

    def __init__(self, cap: int, key: float) -> None:
        self.cap = cap
        self.key = key  # create time of the process (pid reuse starts a new series)
        self.head = 0
        self.last_seen = -math.inf
        self.t = array("d")
        self.cpu = array("f")
        self.mem = array("f")
        self.rss = array("q")

    def add(self, t: float, cpu: float, mem: float, rss: int) -> None:
        if len(self.t) < self.cap:
            self.t.append(t)
            self.cpu.append(cpu)
            self.mem.append(mem)
            self.rss.append(rss)
            return
        i = self.head
        self.t[i], self.cpu[i], self.mem[i], self.rss[i] = t, cpu, mem, rss
        self.head = (i + 1) % self.cap

    def last_t(self) -> float:
        if not self.t:
            return -math.inf
        return self.t[self.head - 1]

    def export(self, since: float | None) -> Series:
        h = self.head
        t = self.t[h:] + self.t[:h]
        cpu = self.cpu[h:] + self.cpu[:h]
        mem = self.mem[h:] + self.mem[:h]
        rss = self.rss[h:] + self.rss[:h]
        s = 0 if since is None else bisect_right(t, since)
        return Series(list(t[s:]), list(cpu[s:]), list(mem[s:]), list(rss[s:]))


class StatsSampler:
    """Samples process trees and keeps per-watcher and per-process history.

    The caller calls `sample` every `interval` seconds (the sampler schedules nothing).
    History points are stamped with wall-clock seconds derived from `clock` (anchored to
    `time.time()` once), so a fake clock drives the history and wall-clock steps do not reorder it.
    Each ring holds ceil(history_seconds / interval) + 1 points: at least history_seconds when
    sampled every interval.
    """

    def __init__(
        self,
        interval: float = 1.0,
        history_seconds: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
        *,
        reader: Reader | None = None,
    ) -> None:
        if interval <= 0 or history_seconds < 0:
            raise ValueError("interval must be positive and history_seconds not negative")
        self.interval = interval
        self.history_seconds = history_seconds
        self._clock = clock
        self._read = reader or procfs.read_table
        self._wall_offset = time.time() - clock()
        self._cap = math.ceil(history_seconds / interval) + 1
        self._prev: Table | None = None
        self._prev_time = 0.0
        self._watchers: dict[str, _Series] = {}
        self._processes: dict[int, _Series] = {}
        self._groups: dict[str, list[int]] = {}

    def sample(
        self, groups: dict[str, list[int]]
    ) -> tuple[dict[str, WatcherSample], dict[int, ProcSample]]:
        """Measure each supervised pid's tree; group by watcher name; record history."""
        now = self._clock()
        procs = self._read()
        wall_now = time.time()
        prev, dt = self._prev, now - self._prev_time
        self._prev, self._prev_time = procs, now

        def cpu_of(p: ProcEntry) -> float:
            if prev is None or dt <= 0:
                return 0.0
            q = prev.get(p.pid)
            if q is not None and q.create_time == p.create_time:
                used = p.cpu_time - q.cpu_time
            else:
                # Born since the previous pass: everything it used falls in this interval.
                used = p.cpu_time
            if used <= 0:
                return 0.0
            return min(used * 100.0 / dt, _MAX_CPU)

        roots = {pid for pids in groups.values() for pid in pids}
        watchers: dict[str, WatcherSample] = {}
        samples: dict[int, ProcSample] = {}
        for name, pids in groups.items():
            alive: list[int] = []
            cpu = mem = 0.0
            rss = 0
            age = 0.0
            for pid in pids:
                s = _tree_sample(pid, procs, roots, cpu_of)
                if s is None:
                    continue
                samples[pid] = s
                alive.append(pid)
                cpu += s.cpu
                mem += s.mem
                rss += s.rss
                age = max(age, wall_now - s.create_time)
            watchers[name] = WatcherSample(
                name=name,
                pids=alive,
                cpu=cpu / len(alive) if alive else 0.0,
                cpu_total=cpu,
                mem=mem,
                rss=rss,
                age=age,
            )
        self._record(now, watchers, samples, procs)
        return watchers, samples

    def _record(
        self,
        now: float,
        watchers: dict[str, WatcherSample],
        samples: dict[int, ProcSample],
        procs: Table,
    ) -> None:
        # Milliseconds: what history() returns, so a client's `since` compares exactly.
        t = round(now + self._wall_offset, 3)
        spacing = self.interval * _MIN_POINT_SPACING
        for name, w in watchers.items():
            series = self._watchers.get(name)
            if series is None:
                series = self._watchers[name] = _Series(self._cap, 0.0)
            series.last_seen = now
            self._groups[name] = w.pids
            if t - series.last_t() >= spacing:
                series.add(t, w.cpu_total, w.mem, w.rss)
        for pid, s in samples.items():
            series = self._processes.get(pid)
            if series is None or series.key != s.create_time:
                series = self._processes[pid] = _Series(self._cap, s.create_time)
            series.last_seen = now
            if t - series.last_t() >= spacing:
                series.add(t, s.cpu, s.mem, s.rss)
        self._prune(now, procs)

    def _prune(self, now: float, procs: Table) -> None:
        horizon = now - self.history_seconds
        gone: list[tuple[float, int]] = []
        for pid, series in list(self._processes.items()):
            if series.last_seen == now:
                continue
            if series.last_seen < horizon:
                del self._processes[pid]
                continue
            p = procs.get(pid)
            if p is None or p.create_time != series.key:
                gone.append((series.last_seen, pid))
        if len(gone) > _MAX_RETIRED_PROCESSES:
            gone.sort()
            for _, pid in gone[: len(gone) - _MAX_RETIRED_PROCESSES]:
                del self._processes[pid]
        # A watcher absent from one call may just not have been asked about; only time and
        # a cap retire it.
        idle = [(s.last_seen, n) for n, s in self._watchers.items() if s.last_seen != now]
        idle.sort()
        excess = max(0, len(idle) - _MAX_RETIRED_WATCHERS)
        for i, (seen, name) in enumerate(idle):
            if i < excess or seen < horizon:
                del self._watchers[name]
                self._groups.pop(name, None)

    def history(
        self, name: str | None = None, pid: int | None = None, since: float | None = None
    ) -> History:
        """History, points with t > since only; a watcher's cpu is its cpu_total, the sum
        over its processes' trees. No filter: every watcher, no processes (a thousand process
        histories would be tens of megabytes). `name`: that watcher and the processes it had at
        its last sample. `pid`: that process."""
        if name is None:
            wnames = [] if pid is not None else list(self._watchers)
        else:
            wnames = [name] if name in self._watchers else []
        if pid is not None:
            pids = [pid]
        elif name is not None:
            pids = list(self._groups.get(name, ()))
        else:
            pids = []
        return History(
            self.interval,
            {n: self._watchers[n].export(since) for n in wnames},
            {p: self._processes[p].export(since) for p in pids if p in self._processes},
        )

    def forget(self, pid: int) -> None:
        self._processes.pop(pid, None)


def measure(pid: int) -> ProcSample | None:
    """One supervised process's tree now, outside a tick: cpu is 0.0, there being no interval
    to measure over."""
    return _tree_sample(pid, procfs.read_table(), frozenset(), lambda _: 0.0)


# (pid, monotonic time, cpu seconds) at the previous call; the pid changes across a fork.
_own_prev: tuple[int, float, float] | None = None


def own_usage() -> MemberSample:
    """The daemon process itself (not its tree: that is every supervised program), its CPU
    measured since the previous call (0.0 on the first), so it costs no sleep."""
    global _own_prev
    pid = os.getpid()
    # /proc/self is always readable; the fallback only keeps answering if it is not.
    me = procfs.read(pid) or ProcEntry(
        pid, os.getppid(), procfs.BOOT_TIME, sum(os.times()[:2]), 0, 0, 0
    )
    now = time.monotonic()
    cpu = 0.0
    prev = _own_prev
    if prev is not None and prev[0] == pid and now > prev[1]:
        cpu = max(0.0, (me.cpu_time - prev[2]) * 100.0 / (now - prev[1]))
    _own_prev = (pid, now, me.cpu_time)
    return MemberSample(pid, me.ppid, cpu, me.rss, me.vms, me.cpu_time, me.nice, me.create_time)
