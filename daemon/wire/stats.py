"""Stats bodies as Circus's tools read them: the per-process `info` dict (`stats`, `dstats`,
`stat.<watcher>.<pid>`), the per-watcher and socket aggregates, and our `history`."""

from __future__ import annotations

import time
from typing import Any

from daemon import procfs
from daemon.procfs import total_memory
from daemon.sockets import ManagedSocket
from daemon.stats import (
    History,
    MemberSample,
    ProcSample,
    Series,
    WatcherSample,
    measure,
    own_usage,
)

NO_SUCH_PROCESS = "No such process (stopped?)"

# Same units and thresholds as Circus's bytes2human (circus/util.py).
_SYMBOLS = ("K", "M", "G", "T", "P", "E", "Z", "Y")


def bytes2human(n: int) -> str:
    """Circus's human byte counts: '512B', '8.52M' (powers of 1024, two decimals)."""
    i = min((n.bit_length() - 1) // 10, len(_SYMBOLS)) if n > 0 else 0
    if i == 0:
        return f"{n}B"
    return f"{n / (1 << (10 * i)):.2f}{_SYMBOLS[i - 1]}"


def format_cpu_time(seconds: float) -> str:
    """CPU time as Circus shows it, 'm:ss.cc' ('0:00.0' when the hundredths are zero).

    Circus prints the first two digits of the microseconds, so 0.05 s reads '.50'; here the
    hundredths are zero-padded instead. Minutes are not wrapped at 60 (Circus drops the hours).
    """
    centis = max(0, round(seconds * 100))
    minutes, rest = divmod(centis, 6000)
    secs, hundredths = divmod(rest, 100)
    frac = f"{hundredths:02d}" if hundredths else "0"
    return f"{minutes}:{secs:02d}.{frac}"


def _info_of(
    pid: int,
    *,
    cpu: float,
    rss: int,
    vms: int,
    cpu_time: float,
    nice: int,
    create_time: float,
    wall_now: float,
) -> dict[str, Any]:
    username, cmdline = procfs.identity(pid, create_time) or ("N/A", "N/A")
    return {
        "pid": pid,
        "cpu": round(cpu, 1),
        "mem": round(rss * 100.0 / total_memory(), 3),
        "mem_info1": bytes2human(rss),
        "mem_info2": bytes2human(vms),
        "ctime": format_cpu_time(cpu_time),
        "username": username,
        "nice": nice,
        "create_time": create_time,
        "age": wall_now - create_time,
        "cmdline": cmdline,
        "children": [],
        "rss": rss,
        "vms": vms,
    }


def _member_info(m: MemberSample, wall_now: float) -> dict[str, Any]:
    return _info_of(
        m.pid,
        cpu=m.cpu,
        rss=m.rss,
        vms=m.vms,
        cpu_time=m.cpu_time,
        nice=m.nice,
        create_time=m.create_time,
        wall_now=wall_now,
    )


def process_info(
    pid: int,
    *,
    wid: int | None = None,
    started: float | None = None,
    sample: ProcSample | None = None,
) -> dict[str, Any] | str:
    """Circus's process `info` dict, plus `rss` and `vms` in bytes.

    The measures (cpu, mem, mem_info1/2, rss, vms, ctime) count the whole tree. `children` lists
    every descendant (not only direct children) with its own figures and its `ppid`. With a
    `sample` from StatsSampler.sample no /proc pass is made; without one, the tree is read now
    and cpu is 0.0, there being no interval to measure over.
    """
    if sample is None or pid not in sample.members:
        found = measure(pid)
        if found is None:
            return NO_SUCH_PROCESS
        if sample is not None:
            # A sample built without members still carries the CPU measured over its interval.
            found.cpu = sample.cpu
        sample = found
    wall_now = time.time()
    root = sample.members[pid]
    info = _info_of(
        pid,
        cpu=sample.cpu,
        rss=sample.rss,
        vms=sample.vms,
        cpu_time=sample.cpu_time,
        nice=root.nice,
        create_time=root.create_time,
        wall_now=wall_now,
    )
    info["mem"] = round(sample.mem, 3)
    if started is not None:
        info["age"] = wall_now - started
    info["started"] = started
    info["wid"] = wid
    children = []
    for child in sample.children:
        m = sample.members.get(child)
        if m is None:
            continue
        entry = _member_info(m, wall_now)
        entry["ppid"] = m.ppid
        children.append(entry)
    info["children"] = children
    return info


def daemon_info() -> dict[str, Any]:
    """The daemon's own info in process_info's format (`dstats`, the `circus` pseudo-watcher):
    the daemon process only, its CPU since the previous call (Circus sleeps 10 ms instead)."""
    me = own_usage()
    info = _member_info(me, time.time())
    info["started"] = me.create_time
    info["wid"] = None
    return info


def watcher_stats(agg: WatcherSample) -> dict[str, Any]:
    """The `stat.<watcher>` body."""
    return {
        "pid": agg.pids,
        "cpu": agg.cpu,
        "mem": agg.mem,
        "age": agg.age,
        "rss": agg.rss,
        "cpu_total": agg.cpu_total,
    }


def socket_stats(sock: ManagedSocket) -> dict[str, Any]:
    """The `stat.sockets.<fd>` body."""
    queue = sock.accept_queue()
    return {
        "fd": sock.fd,
        "name": sock.name,
        "address": sock.address(),
        "accept_queue": queue,
        "backlog": sock.config.backlog,
        # circus-top shows `reads` as HITS; ours is the honest figure: connections
        # waiting to be accepted right now.
        "reads": queue or 0,
        "subtopic": sock.fd,
    }


def _series(s: Series) -> dict[str, list[Any]]:
    # float32 storage: round so the JSON does not carry 12.300000190734863.
    return {
        "t": s.t,
        "cpu": [round(x, 2) for x in s.cpu],
        "mem": [round(x, 3) for x in s.mem],
        "rss": s.rss,
    }


def history_body(h: History) -> dict[str, Any]:
    """Our `history` reply: parallel lists per series; process keys are pid strings, as JSON
    would make them anyway."""
    return {
        "interval": h.interval,
        "watchers": {n: _series(s) for n, s in h.watchers.items()},
        "processes": {str(p): _series(s) for p, s in h.processes.items()},
    }
