"""Finding every process that belongs to a supervised program, including grandchildren that
left its process group (setsid) or its ancestry (double fork).

Each spawned process carries an environment marker that its descendants inherit, so a
grandchild that escaped both the group and the ancestry is still recognised as ours.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass

MARKER = "CIRCUS_TUI_ID"


@dataclass(frozen=True)
class ProcEntry:
    pid: int
    ppid: int
    pgid: int
    state: str


def read_stat(pid: int) -> ProcEntry | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    # comm may hold spaces and parentheses: the fields start after the last ')'.
    rest = data[data.rfind(b")") + 2 :].split()
    try:
        return ProcEntry(pid, int(rest[1]), int(rest[2]), rest[0].decode())
    except (IndexError, ValueError):
        return None


_cache: tuple[float, dict[int, ProcEntry]] | None = None


def scan(max_age: float = 0.0) -> dict[int, ProcEntry]:
    """One pass over /proc; a pass younger than `max_age` seconds is reused, so stopping a
    thousand processes at once costs a few passes, not a thousand."""
    global _cache
    now = time.monotonic()
    if max_age > 0 and _cache is not None and now - _cache[0] <= max_age:
        return _cache[1]
    table = _scan()
    _cache = (now, table)
    return table


def _scan() -> dict[int, ProcEntry]:
    table: dict[int, ProcEntry] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return table
    for name in names:
        if name.isdigit():
            entry = read_stat(int(name))
            if entry is not None:
                table[entry.pid] = entry
    return table


def has_marker(pid: int, prefix: bytes) -> bool:
    """True when the environment of `pid` has MARKER=<value starting with prefix>."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            env = fh.read()
    except OSError:
        return False
    needle = MARKER.encode() + b"=" + prefix
    return env.startswith(needle) or (b"\0" + needle) in env


def descendants(roots: Iterable[int], table: dict[int, ProcEntry]) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in table.values():
        children.setdefault(entry.ppid, []).append(entry.pid)
    found: set[int] = set()
    stack = list(roots)
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


# Pids of the programs this process supervises (the roots), kept by daemon.process: they
# are our children, but not orphans, and must not be searched for markers.
supervised: set[int] = set()


def program_tree(
    root: int, marker: str, table: dict[int, ProcEntry] | None = None, max_age: float = 0.0
) -> set[int]:
    """Every live process of one spawned program: its group, its descendants, and orphans
    (adopted by init or by us as subreaper) that carry its marker."""
    table = scan(max_age) if table is None else table
    members = {root} if root in table else set()
    members |= {e.pid for e in table.values() if e.pgid == root}
    members |= _marked_orphans(marker.encode() + b"\0", table, members)
    members |= descendants(members, table)
    return {p for p in members if table[p].state != "Z"}


def _marked_orphans(prefix: bytes, table: dict[int, ProcEntry], known: set[int]) -> set[int]:
    # Only orphans need the environment check; reading every environ would cost far more.
    me = os.getpid()
    return {
        entry.pid
        for entry in table.values()
        if entry.ppid in (1, me)
        and entry.pid not in known
        and entry.pid not in supervised
        and has_marker(entry.pid, prefix)
    }


def leftovers(prefix: str, roots: Iterable[int] = (), max_age: float = 0.0) -> set[int]:
    """What programs whose marker starts with `prefix` left running after they exited: the
    orphans among them (adopted by us as subreaper, or by init) and their descendants. Our
    supervised processes themselves are not included. `roots`: exited processes whose
    children a reused scan (`max_age`), made before they exited, still shows as theirs."""
    table = scan(max_age)
    found = _marked_orphans(prefix.encode(), table, set())
    found |= descendants([*found, *roots], table)
    return {p for p in found if table[p].state != "Z"}


def marked(prefix: str, table: dict[int, ProcEntry] | None = None) -> set[int]:
    """Every live process whose marker starts with `prefix` (all programs of one daemon)."""
    table = scan() if table is None else table
    raw = prefix.encode()
    me = os.getpid()
    return {
        e.pid for e in table.values() if e.pid != me and e.state != "Z" and has_marker(e.pid, raw)
    }


def signal_all(pids: Iterable[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def kill_tree(root: int, marker: str, max_age: float = 0.0) -> set[int]:
    pids = program_tree(root, marker, max_age=max_age)
    signal_group(root, signal.SIGKILL)
    signal_all(pids, signal.SIGKILL)
    return pids
