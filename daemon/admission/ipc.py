"""An ipc endpoint's gate: our own listening socket, handed to libzmq a batch at a time."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import select
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import zmq

from daemon.admission.gate import (
    EVENTS_PER_TURN,
    MAX_BACKLOG,
    MAX_CONNECTIONS,
    Gate,
)
from daemon.endpoints import EndpointError, claim_ipc, ipc_path

log = logging.getLogger("circus-tui")


# A connect that looked the path up just before the rename can still land in the old socket,
# microseconds later; a batch is taken as drained only once this has passed.
DRAIN_GRACE = 0.1


@dataclass
class Batch:
    """A listening socket handed to libzmq, and the connections that came through it."""

    key: str  # the endpoint libzmq knows it by: ipc:// and its temporary name
    fd: int
    size: int  # the most connections it can yield: backlog + 1
    frozen_at: float
    accepted: int = 0
    live: int = 0
    drained: bool = False

    def pending(self, now: float) -> int:
        if self.drained:
            return 0
        if self.accepted >= self.size:
            self.drained = True
            return 0
        if now - self.frozen_at >= DRAIN_GRACE and not _readable(self.fd):
            self.drained = True
            return 0
        return self.size - self.accepted


def _exists(name: str, directory: int) -> bool:
    try:
        os.stat(name, dir_fd=directory, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def _readable(fd: int) -> bool:
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


class IpcGate(Gate):
    def setup(self) -> None:
        path = ipc_path(self.url)
        assert path is not None
        self.path = path
        self.batches: dict[str, Batch] = {}
        self._open: tuple[int, str, int] | None = None  # fd, temporary path, backlog + 1
        self._armed = False
        self._dir = -1

    def connections(self) -> int:
        now = time.monotonic()
        return sum(b.live + b.pending(now) for b in self.batches.values())

    def pending(self) -> int:
        now = time.monotonic()
        return sum(b.pending(now) for b in self.batches.values())

    def _bind(self) -> None:
        # Kept for the daemon's life: every batch binds and renames in this directory.
        self._dir = claim_ipc(self.url)
        try:
            self._open = self._listen(MAX_BACKLOG)
        except OSError as exc:
            raise EndpointError(f"cannot bind {self.url}: {exc.strerror or exc}") from None

    def _listen(self, backlog: int) -> tuple[int, str, int]:
        """A listening socket bound under a fresh temporary name, then renamed to the path."""
        taken = {Path(key.removeprefix("ipc://")).name for key in self.batches}
        if self._open is not None:
            taken.add(Path(self._open[1]).name)
        for n in range(len(taken) + 64):
            name = f"{self.path.name}.{n}"
            if name in taken or _exists(name, self._dir):
                continue
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            old = os.umask(0o177)
            try:
                # The directory only we or root can change, so this path is the one checked.
                sock.bind(str(self.path.parent / name))
            except OSError as exc:
                sock.close()
                if exc.errno == errno.EADDRINUSE:
                    continue
                raise
            finally:
                os.umask(old)
            try:
                os.chmod(name, 0o600, dir_fd=self._dir)
                sock.listen(backlog)
                # libzmq accepts only when told the socket is readable; never block it.
                sock.setblocking(False)
                os.rename(name, self.path.name, src_dir_fd=self._dir, dst_dir_fd=self._dir)
            except OSError:
                sock.close()
                with contextlib.suppress(OSError):
                    os.unlink(name, dir_fd=self._dir)
                raise
            return sock.detach(), str(self.path.parent / name), backlog + 1
        raise OSError(errno.EADDRINUSE, f"no free temporary name beside {self.path}")

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        super().attach(loop)
        self._arm()

    def _arm(self) -> None:
        if self.loop is not None and self._open is not None and not self._armed:
            self.loop.add_reader(self._open[0], self._admit)
            self._armed = True

    def _disarm(self) -> None:
        if self.loop is not None and self._open is not None and self._armed:
            self.loop.remove_reader(self._open[0])
        self._armed = False

    def _admit(self) -> None:
        """Clients wait in the open socket: hand them to libzmq if they fit."""
        if self._open is None:
            return
        fd, name, size = self._open
        if not _readable(fd):
            # Nobody waits any more: the end of an episode at the limit.
            self._stop_waiting()
            self._arm()
            return
        why = self._why_full(size)
        if why is not None:
            # Level-triggered: left armed, a full queue would wake the loop without end.
            self._disarm()
            self._start_waiting(why)
            return
        try:
            fresh = self._listen(self._next_backlog(size))
        except OSError as exc:
            self._disarm()
            self._start_waiting(f"cannot open a listening socket ({exc})")
            return
        self._disarm()
        self._open = fresh
        self.sock.setsockopt(zmq.USE_FD, fd)
        try:
            self.sock.bind(f"ipc://{name}")
        except zmq.ZMQError as exc:
            # The clients queued in it are dropped; they connect again.
            log.warning("%s: cannot hand connections to ZeroMQ: %s", self.url, exc)
            os.close(fd)
            self._arm()
            return
        finally:
            self.sock.setsockopt(zmq.USE_FD, -1)
            self._changed()
        key = self.sock.getsockopt_string(zmq.LAST_ENDPOINT)
        self.batches[key] = Batch(key, fd, size, time.monotonic())
        if self.loop is not None:
            # The batch's reservation ends when it is drained: look again by then.
            self.loop.call_later(DRAIN_GRACE, self.budget.released)
        self._arm()

    def _next_backlog(self, batch: int) -> int:
        """As many as could be admitted next, up to MAX_BACKLOG: a queue never holds more
        connections than the next admission can take."""
        budget = self.budget
        room = min(
            MAX_CONNECTIONS - self.connections() - batch,
            budget.connection_share - budget.connections() - batch,
            budget.limit - budget.reserve - budget.in_use() - budget.pending() - batch,
        )
        return max(0, min(MAX_BACKLOG, room - 1))

    def _handle(self, events: list[tuple[int, int, str]]) -> None:
        self._count(events)
        self._collect()
        # Accepts end reservations, disconnects free descriptors: any waiting gate may fit.
        self.budget.released()

    def _count(self, events: list[tuple[int, int, str]]) -> None:
        for event, _value, endpoint in events:
            batch = self.batches.get(endpoint)
            if event == zmq.EVENT_ACCEPTED and batch is not None:
                batch.accepted += 1
                batch.live += 1
            elif event == zmq.EVENT_DISCONNECTED and batch is not None:
                batch.live = max(0, batch.live - 1)

    def _collect(self) -> None:
        """Unbind batches that are done: drained, and every connection gone."""
        # Unbinding closes the connections of a batch: its count must be exact, so every
        # event already reported is counted first, even if the loop has not read it yet (a
        # batch is drained DRAIN_GRACE after it was handed over, long after libzmq has
        # reported its accepts).
        while events := self._read_events(EVENTS_PER_TURN):
            self._count(events)
        now = time.monotonic()
        for key, batch in list(self.batches.items()):
            if batch.live == 0 and batch.pending(now) == 0:
                del self.batches[key]
                with contextlib.suppress(zmq.ZMQError):
                    self.sock.unbind(key)
                self._changed()

    def poke(self) -> None:
        self._collect()
        if self.waiting or not self._armed:
            self._admit()

    def close(self) -> None:
        self._disarm()
        if self._open is not None:
            with contextlib.suppress(OSError):
                os.close(self._open[0])
            self._open = None
        if self._dir >= 0:
            os.close(self._dir)
            self._dir = -1
        super().close()
