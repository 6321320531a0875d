"""The daemon as its programs' subreaper: orphans they leave are adopted by it and reaped,
and a guardian process (daemon.guardian) ends the programs if the daemon itself dies hard."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import subprocess
import sys
from collections.abc import Callable, Iterable

from daemon import procfs, tree
from daemon.process import Process

PR_SET_CHILD_SUBREAPER = 36


class Reaper:
    def __init__(self, processes: Callable[[], Iterable[Process]]) -> None:
        self._processes = processes  # every supervised process, now
        self.guardian: subprocess.Popen[bytes] | None = None
        self._guardian_pipe = -1
        self._orphan_scan: asyncio.TimerHandle | None = None

    def become_subreaper(self) -> None:
        with contextlib.suppress(Exception):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)

    def start_guardian(self, instance: str) -> None:
        read_end, write_end = os.pipe()
        self.guardian = subprocess.Popen(
            [sys.executable, "-m", "daemon.guardian", instance],
            stdin=read_end,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
        os.close(read_end)
        self._guardian_pipe = write_end

    def stop_guardian(self) -> None:
        if self.guardian is None:
            return
        with contextlib.suppress(OSError):
            os.write(self._guardian_pipe, b"bye")
            os.close(self._guardian_pipe)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.guardian.wait(2)
        self.guardian = None

    def schedule_orphan_scan(self) -> None:
        # Coalesce bursts of SIGCHLD: one scan reaps every adopted orphan that exited.
        if self._orphan_scan is None:
            loop = asyncio.get_running_loop()
            self._orphan_scan = loop.call_later(0.05, self._reap_orphans)

    def _reap_orphans(self) -> None:
        self._orphan_scan = None
        # Each exit is noticed through its pidfd; SIGCHLD checks them all once more, so no
        # exit can go unnoticed even if a wakeup were ever lost (a waitpid each: cheap).
        processes = list(self._processes())
        for proc in processes:
            proc.check_exit()
        managed = {proc.pid for proc in processes}
        if self.guardian is not None:
            managed.add(self.guardian.pid)
        for pid in procfs.own_children() - managed - tree.awaited:
            # Adopted orphans (we are their subreaper) and anything else not ours to track.
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
