"""Whether a process still runs, as the operating system sees it.

A zombie is not alive: it has exited and waits only for its parent to reap it (a daemon that
is slow to reap has still stopped the process).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

import psutil


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def gone(pid: int) -> bool:
    return not alive(pid)


def all_gone(pids: Iterable[int]) -> bool:
    return all(gone(pid) for pid in pids)


def kill_all(procs: Iterable[psutil.Process]) -> None:
    """SIGKILL whatever of `procs` still runs (cleanup, not a check). psutil checks each one's
    start time first, so a pid reused since is never hit."""
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                proc.kill()
