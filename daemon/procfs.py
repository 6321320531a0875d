"""The process table: every process on the machine at one instant, read in one pass over /proc
(psutil where there is no Linux /proc), and who descends from whom.

The stats sampler reads a fresh table each tick (`read_table`), and the tick's users share it
through the sample. Stops share passes among themselves (`scan`): a watcher stopping a thousand
processes reuses a pass younger than the `max_age` it asks for instead of making a thousand.
A pass made by a stop is no older than the stops that reuse it, so staleness only adds
candidates there, each checked again (`running`) before it counts. A tick's pass is not offered
to stops: it may predate the stop, and whatever was spawned or forked since would escape it.
"""

from __future__ import annotations

import os
import pwd
import shlex
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from typing import NamedTuple

import psutil

LINUX = sys.platform.startswith("linux") and os.path.exists("/proc/self/stat")
_CLK_TCK = os.sysconf("SC_CLK_TCK") if LINUX else 100
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if LINUX else 4096

# User names and command names are read once per process, then again after this many seconds
# (setproctitle renames gunicorn workers shortly after they start).
_IDENTITY_TTL = 30.0
_MAX_IDENTITIES = 8192


def _boot_time() -> float:
    # /proc/stat's btime is whole seconds; CLOCK_BOOTTIME gives create times to the tick.
    if LINUX:
        try:
            return time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)
        except (AttributeError, OSError):
            pass
    return psutil.boot_time()


BOOT_TIME = _boot_time()
_total_memory: int | None = None


def total_memory() -> int:
    global _total_memory
    if _total_memory is None:
        _total_memory = psutil.virtual_memory().total
    return _total_memory


class ProcEntry(NamedTuple):
    """One process as read from the OS at one instant (no rates)."""

    pid: int
    ppid: int
    create_time: float  # wall seconds; with pid, identifies the process across pid reuse
    cpu_time: float  # user + system seconds
    rss: int
    vms: int
    nice: int
    pgid: int = 0
    zombie: bool = False


Table = dict[int, ProcEntry]


def _parse_stat(pid: int, data: bytes) -> ProcEntry | None:
    # comm may hold spaces and parentheses; the numeric fields follow the last ')'.
    # From there, index 0 is field 3 (state) of proc(5).
    f = data[data.rfind(b")") + 2 :].split(None, 22)
    try:
        return ProcEntry(
            pid,
            int(f[1]),
            BOOT_TIME + int(f[19]) / _CLK_TCK,
            (int(f[11]) + int(f[12])) / _CLK_TCK,
            int(f[21]) * _PAGE_SIZE,
            int(f[20]),
            int(f[16]),
            int(f[2]),
            f[0] == b"Z",
        )
    except (IndexError, ValueError):
        return None


def _read_stat(pid: int) -> bytes | None:
    # os.open/os.read: a buffered file object per process costs more than the read itself.
    try:
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY)
    except OSError:
        return None
    try:
        return os.read(fd, 4096)
    except OSError:
        return None
    finally:
        os.close(fd)


def read_table_proc() -> Table:
    """Every process on the machine, from /proc/PID/stat, in one pass."""
    out: Table = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return out
    for name in names:
        if not name.isdigit():
            continue
        pid = int(name)
        data = _read_stat(pid)
        if data is None:
            continue
        entry = _parse_stat(pid, data)
        if entry is not None:
            out[pid] = entry
    return out


def _pgid(pid: int) -> int:
    try:
        return os.getpgid(pid)
    except OSError:
        return 0


def read_table_psutil() -> Table:
    """The same pass through psutil, for systems without a Linux /proc."""
    out: Table = {}
    attrs = ["ppid", "create_time", "cpu_times", "memory_info", "nice", "status"]
    for proc in psutil.process_iter(attrs):
        i = proc.info
        if i.get("create_time") is None:
            continue
        times, mem = i.get("cpu_times"), i.get("memory_info")
        out[proc.pid] = ProcEntry(
            proc.pid,
            i.get("ppid") or 0,
            i["create_time"],
            (times.user + times.system) if times else 0.0,
            mem.rss if mem else 0,
            mem.vms if mem else 0,
            i.get("nice") or 0,
            _pgid(proc.pid),
            i.get("status") == psutil.STATUS_ZOMBIE,
        )
    return out


read_table = read_table_proc if LINUX else read_table_psutil

_cache: tuple[float, Table] | None = None
_kids: tuple[Table, dict[int, list[int]]] | None = None


def scan(max_age: float = 0.0) -> Table:
    """The process table for stops; a pass another stop made less than `max_age` seconds ago
    is reused, so stopping a thousand processes at once costs a few passes, not a thousand."""
    global _cache
    now = time.monotonic()
    cached = _cache
    if max_age > 0 and cached is not None and now - cached[0] <= max_age:
        return cached[1]
    table = read_table()
    _cache = (now, table)
    return table


def read(pid: int) -> ProcEntry | None:
    """One process now, read the same way as `scan` (same create_time origin)."""
    if LINUX:
        data = _read_stat(pid)
        return None if data is None else _parse_stat(pid, data)
    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            times, mem = proc.cpu_times(), proc.memory_info()
            return ProcEntry(
                pid,
                proc.ppid(),
                proc.create_time(),
                times.user + times.system,
                mem.rss,
                mem.vms,
                proc.nice(),
                _pgid(pid),
                proc.status() == psutil.STATUS_ZOMBIE,
            )
    except psutil.Error:
        return None


def running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    entry = read(pid)
    return entry is not None and not entry.zombie


def children(table: Table) -> dict[int, list[int]]:
    """ppid -> its children's pids. Built once per table for the latest one asked about, so
    the users of one pass share it."""
    global _kids
    kept = _kids
    if kept is not None and kept[0] is table:
        return kept[1]
    kids: dict[int, list[int]] = {}
    for p in table.values():
        if p.ppid in kids:
            kids[p.ppid].append(p.pid)
        else:
            kids[p.ppid] = [p.pid]
    _kids = (table, kids)
    return kids


def descendants(
    roots: Iterable[int],
    table: Table | None = None,
    stop: set[int] | frozenset[int] = frozenset(),
) -> list[int]:
    """Every descendant of `roots` in `table` (a fresh scan if None), each once, a root under
    another root too; a pid in `stop` is passed over with its subtree (the sampler's other
    supervised processes: their own rows)."""
    kids = children(scan() if table is None else table)
    out: list[int] = []
    todo: list[int] = []
    for root in roots:
        more = kids.get(root)
        if more:
            todo.extend(more)
    if not todo:  # most supervised processes have no children
        return out
    seen: set[int] = set()
    while todo:
        pid = todo.pop()
        if pid in stop or pid in seen:
            continue
        seen.add(pid)
        out.append(pid)
        more = kids.get(pid)
        if more:
            todo.extend(more)
    return out


def direct_children(pid: int, table: Table | None = None) -> list[int]:
    return list(children(scan() if table is None else table).get(pid, ()))


def own_children() -> set[int]:
    """This process's direct children, from the kernel's own list where it keeps one; that
    costs one read instead of a pass over /proc."""
    try:
        with open(f"/proc/self/task/{threading.get_native_id()}/children") as fh:
            return {int(p) for p in fh.read().split()}
    except OSError:
        return set(direct_children(os.getpid()))


def environ(pid: int) -> bytes | None:
    """The raw environment a process started with (NUL-separated), None if unreadable."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            return fh.read()
    except OSError:
        return None


# -- who runs a process, and what it is called ---------------------------------------------

_identities: OrderedDict[tuple[int, float], tuple[str, str, float]] = OrderedDict()


def _username(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _command_name(argv: list[str]) -> str:
    # Circus: basename of the first shell word of argv[0] (setproctitle puts spaces there).
    if not argv or not argv[0]:
        return "N/A"
    try:
        words = shlex.split(argv[0])
    except ValueError:
        words = argv[0].split()
    return os.path.basename(words[0]) if words else "N/A"


def _read_identity(pid: int) -> tuple[str, str]:
    if LINUX:
        with open(f"/proc/{pid}/status", "rb") as fh:
            status = fh.read()
        start = status.index(b"\nUid:") + 5
        uid = int(status[start:].split(None, 1)[0])
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            raw = fh.read()
        argv = [a.decode("utf-8", "replace") for a in raw.split(b"\0")]
        return _username(uid), _command_name(argv)
    proc = psutil.Process(pid)
    return proc.username(), _command_name(proc.cmdline())


def identity(pid: int, create_time: float) -> tuple[str, str] | None:
    """(user name, command name) of a process, or None when it is gone and was never read.
    Cached per process (pid and create time) for a while."""
    key = (pid, create_time)
    now = time.monotonic()
    hit = _identities.get(key)
    if hit is not None and now - hit[2] < _IDENTITY_TTL:
        _identities.move_to_end(key)
        return hit[0], hit[1]
    try:
        user, cmd = _read_identity(pid)
    except (OSError, ValueError, psutil.Error):
        if hit is None:
            return None
        user, cmd = hit[0], hit[1]
    _identities[key] = (user, cmd, now)
    _identities.move_to_end(key)
    while len(_identities) > _MAX_IDENTITIES:
        _identities.popitem(last=False)
    return user, cmd
