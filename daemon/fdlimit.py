"""File descriptors: how many the daemon may open, and how they are shared between client
connections and programs.

systemd starts a service with a soft limit of 1024 open files and a far higher hard one (the
low soft limit protects old programs that use select()); a daemon that needs more raises its
own soft limit, which is what `raise_soft_limit` does at start.

Running out is not only an error here: libzmq aborts the whole process when an accept on an
ipc endpoint meets EMFILE, so client connections are only ever admitted into room known to be
free (daemon/admission/), and a spawn never takes the descriptors promised to connections
being admitted. The split, for a limit L:

- a reserve of L/16 (at least 16) for the daemon's own work: log files, /proc reads, the pipes
  of a spawn in progress;
- client connections, on all endpoints together, at most half of what is left;
- programs the rest, always leaving room for `CLIENT_FLOOR` connections, so that an operator
  can still connect and scale down a watcher that used up every descriptor.
"""

from __future__ import annotations

import asyncio
import errno
import os
import resource
import time
from collections.abc import Callable
from typing import Protocol

# Descriptors a spawn holds while it runs: two pipes, the exec error pipe, /dev/null, pidfd.
SPAWN_FDS = 8
# What a running process keeps: its pidfd and the read ends of its two pipes.
PROCESS_FDS = 3
CLIENT_FLOOR = 32
# Counting the descriptors costs a directory listing (about 1 ms per 1,000 open): a count
# this recent, plus what spawns have opened since, is good enough between admissions.
COUNT_MAX_AGE = 0.1


def raise_soft_limit() -> tuple[int, int]:
    """Raise the soft RLIMIT_NOFILE to the hard one; return (before, after)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard
    if hard == resource.RLIM_INFINITY:
        # The kernel refuses an infinite limit on open files; nr_open is its own ceiling.
        try:
            with open("/proc/sys/fs/nr_open") as fh:
                target = int(fh.read())
        except (OSError, ValueError):
            target = 1 << 20
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (OSError, ValueError):
            return soft, soft
        return soft, target
    return soft, soft


def open_count() -> int:
    # The listing itself holds one descriptor while it runs.
    return len(os.listdir("/proc/self/fd")) - 1


class Gate(Protocol):
    """An endpoint's admission of connections, as the budget sees it."""

    def connections(self) -> int:
        """Connections held, plus those being admitted."""
        ...

    def pending(self) -> int:
        """Connections admitted that libzmq has not accepted yet: each will take a
        descriptor soon, and must find one free."""
        ...


class FdBudget:
    def __init__(self, limit: int | None = None) -> None:
        self.gates: list[Gate] = []
        # Called soon after descriptors or connections were released: a gate waiting for
        # room looks again.
        self.listeners: list[Callable[[], None]] = []
        self._notify_pending = False
        self._count = 0
        self._counted_at = -1.0
        self.configure(limit)

    def configure(self, limit: int | None = None) -> None:
        """Adopt `limit`, or the current soft limit."""
        if limit is None:
            limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
            if limit == resource.RLIM_INFINITY:
                limit = 1 << 20
        self.limit = limit
        self.reserve = max(16, limit // 16)
        self.connection_share = max(1, (limit - self.reserve) // 2)
        self.client_floor = min(CLIENT_FLOOR, self.connection_share)

    def in_use(self, fresh: bool = False) -> int:
        now = time.monotonic()
        if fresh or now - self._counted_at > COUNT_MAX_AGE:
            try:
                self._count = open_count()
            except OSError:
                # Listing needs a descriptor too: none left is the answer.
                self._count = self.limit
            self._counted_at = now
        return self._count

    def opened(self, count: int) -> None:
        """Note descriptors opened since the last count."""
        self._count += count

    def released(self) -> None:
        if self._notify_pending or not self.listeners:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._notify_pending = True
        loop.call_soon(self._notify)

    def _notify(self) -> None:
        self._notify_pending = False
        for listener in list(self.listeners):
            listener()

    def connections(self) -> int:
        return sum(gate.connections() for gate in self.gates)

    def pending(self) -> int:
        return sum(gate.pending() for gate in self.gates)

    def no_room_for(self, batch: int, fresh: bool = True) -> str | None:
        """Why `batch` more connections do not fit, in the clients' share or in the
        descriptors free right now (counted afresh: libzmq must never meet EMFILE); None
        when they fit."""
        if self.connections() + batch > self.connection_share:
            return (
                f"clients on all endpoints hold {self.connections()}, and their share of the "
                f"{self.limit} open files is {self.connection_share}"
            )
        if self.in_use(fresh) + self.pending() + batch > self.limit - self.reserve:
            return f"no file descriptor to spare (limit {self.limit})"
        return None

    def check_spawn(self) -> None:
        """Raise EMFILE, as the system would, when a spawn would take descriptors that
        connections being admitted or the clients' floor need."""
        pending = self.pending()
        floor = max(0, self.client_floor - self.connections())
        used = self.in_use(fresh=pending > 0)
        if used + pending + floor + SPAWN_FDS > self.limit - self.reserve:
            raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))


# One per daemon process, like the table of descriptors it describes.
budget = FdBudget()
