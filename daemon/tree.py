"""Finding every process that belongs to a supervised program, including grandchildren that
left its process group (setsid) or its ancestry (double fork).

Each spawned process carries an environment marker that its descendants inherit, so a
grandchild that escaped both the group and the ancestry is still recognised as ours.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterable

from daemon import procfs
from daemon.procfs import Table

MARKER = "CIRCUS_TUI_ID"


def has_marker(pid: int, prefix: bytes) -> bool:
    """True when the environment of `pid` has MARKER=<value starting with prefix>."""
    env = procfs.environ(pid)
    if env is None:
        return False
    needle = MARKER.encode() + b"=" + prefix
    return env.startswith(needle) or (b"\0" + needle) in env


# Pids of the programs this process supervises (the roots), kept by daemon.process: they
# are our children, but not orphans, and must not be searched for markers.
supervised: set[int] = set()

# Children another part of the daemon waits for itself (exec probes, daemon.probe_exec): the
# orphan reaper (daemon.reaper) leaves them alone, or their exit status would be lost.
awaited: set[int] = set()


def program_tree(
    root: int, marker: str, table: Table | None = None, max_age: float = 0.0
) -> set[int]:
    """Every live process of one spawned program: its group, its descendants, and orphans
    (adopted by init or by us as subreaper) that carry its marker."""
    table = procfs.scan(max_age) if table is None else table
    members = {root} if root in table else set()
    members |= {e.pid for e in table.values() if e.pgid == root}
    members |= _marked_orphans(marker.encode() + b"\0", table, members)
    members |= set(procfs.descendants(members, table))
    return {p for p in members if not table[p].zombie}


def _marked_orphans(prefix: bytes, table: Table, known: set[int]) -> set[int]:
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
    table = procfs.scan(max_age)
    found = _marked_orphans(prefix.encode(), table, set())
    found |= set(procfs.descendants([*found, *roots], table))
    return {p for p in found if not table[p].zombie}


def marked(prefix: str, table: Table | None = None) -> set[int]:
    """Every live process whose marker starts with `prefix` (all programs of one daemon)."""
    table = procfs.scan() if table is None else table
    raw = prefix.encode()
    me = os.getpid()
    return {
        e.pid for e in table.values() if e.pid != me and not e.zombie and has_marker(e.pid, raw)
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
