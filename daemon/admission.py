"""Client connections on the daemon's endpoints, bounded before libzmq accepts them.

libzmq accepts every connection it can, and an accept on an ipc endpoint that meets EMFILE
aborts the whole process (`Too many open files (src/ipc_listener.cpp:297)`). A ROUTER cannot
close one peer, and unbinding closes every connection that came through that bind. So on an
ipc endpoint the daemon owns the listening socket and hands libzmq only batches of
connections that already wait in a listening socket nobody can reach any more:

1. The *open* listening socket, ours, sits at the endpoint's path with a small backlog b.
   Connects queue in it (the kernel holds at most b + 1); libzmq does not watch it.
2. To admit them, a fresh listening socket is bound under a temporary name and renamed over
   the path (atomic: a connect finds one or the other), and the old one is given to libzmq
   (ZMQ_USE_FD). Since nothing can reach it any more, libzmq accepts at most b + 1
   connections from it, into descriptors the budget counted as free first.
3. When every connection of a batch has left, its listener is unbound (that closes nothing
   else) and its descriptor freed.

A batch is admitted only when it fits the endpoint's MAX_CONNECTIONS, the clients' share of
descriptors and the descriptors free right now (daemon/fdlimit.py). Otherwise clients wait:
b + 1 in the queue, and the kernel refuses the others (EAGAIN), whose libzmq tries again every
100 ms. The monitor's ACCEPTED and DISCONNECTED events count the connections of each batch:
they name the listener an accepted connection came through, by its temporary name.

A TCP port has no path to rename, so there libzmq listens itself: an accept that meets EMFILE
is harmless there (it is retried), and connections beyond the limit are shut down as soon as
the monitor reports them, which frees their descriptors at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import logging
import os
import select
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zmq

from daemon import fdlimit
from daemon.endpoints import EndpointError, bind, claim_ipc, ipc_path

log = logging.getLogger("circus-tui")

MAX_CONNECTIONS = 1000  # per endpoint
MAX_BACKLOG = 32
# A connect that looked the path up just before the rename can still land in the old socket,
# microseconds later; a batch is taken as drained only once this has passed.
DRAIN_GRACE = 0.1
LOG_INTERVAL = 10.0
# Not ACCEPT_FAILED: libzmq retries a TCP accept that met EMFILE at once, and reports every
# failure, by the million.
EVENTS = zmq.EVENT_ACCEPTED | zmq.EVENT_DISCONNECTED | zmq.EVENT_LISTENING
# Events handled per turn of the loop: a flood of them must not starve everything else.
EVENTS_PER_TURN = 2000

_libc = ctypes.CDLL(None, use_errno=True)


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


class Gate:
    """One endpoint's admission of client connections."""

    def __init__(
        self,
        sock: zmq.Socket[Any],
        url: str,
        budget: fdlimit.FdBudget | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.sock = sock
        self.url = url
        # Called after the gate binds or unbinds on the socket: libzmq handles the socket's
        # pending commands then, and its descriptor may not signal what arrived meanwhile.
        self.on_change = on_change
        self.budget = budget or fdlimit.budget
        self.loop: asyncio.AbstractEventLoop | None = None
        self.waiting = False  # at the limit: new clients wait
        self._logged = False
        self._logged_at = -LOG_INTERVAL
        self._monitor: zmq.Socket[Any] | None = None

    # -- what the budget asks ------------------------------------------------------------

    def connections(self) -> int:
        raise NotImplementedError

    def pending(self) -> int:
        return 0

    # -- lifecycle -------------------------------------------------------------------------

    def bind(self) -> None:
        """Bind the endpoint (before the loop runs); raises EndpointError."""
        address = f"inproc://admission-{id(self)}"
        self.sock.monitor(address, EVENTS)
        monitor = self.sock.context.socket(zmq.PAIR, socket_class=zmq.Socket)
        monitor.setsockopt(zmq.LINGER, 0)
        # No high-water mark: a lost DISCONNECTED would count a connection for ever.
        monitor.setsockopt(zmq.RCVHWM, 0)
        monitor.connect(address)
        self._monitor = monitor
        self.budget.gates.append(self)
        self.budget.listeners.append(self.poke)
        self._bind()

    def _bind(self) -> None:
        raise NotImplementedError

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        if self._monitor is not None:
            loop.add_reader(self._monitor.getsockopt(zmq.FD), self._on_monitor)
        self._on_monitor()

    def close(self) -> None:
        if self in self.budget.gates:
            self.budget.gates.remove(self)
        if self.poke in self.budget.listeners:
            self.budget.listeners.remove(self.poke)
        if self._monitor is not None:
            if self.loop is not None:
                with contextlib.suppress(Exception):
                    self.loop.remove_reader(self._monitor.getsockopt(zmq.FD))
            with contextlib.suppress(zmq.ZMQError):
                self.sock.disable_monitor()
            self._monitor.close(linger=0)
            self._monitor = None

    # -- events ----------------------------------------------------------------------------

    def _on_monitor(self) -> None:
        # The zmq descriptor signals edges: read until there is nothing left, over as many
        # turns of the loop as that takes.
        events = self._read_events(EVENTS_PER_TURN)
        if events:
            self._handle(events)
        if len(events) >= EVENTS_PER_TURN and self.loop is not None:
            self.loop.call_soon(self._on_monitor)

    def _read_events(self, limit: int) -> list[tuple[int, int, str]]:
        events: list[tuple[int, int, str]] = []
        while self._monitor is not None and len(events) < limit:
            try:
                frames = self._monitor.recv_multipart(zmq.NOBLOCK)
            except zmq.ZMQError:
                break
            # Two frames: event number (16 bits) and value (32 bits), then the endpoint.
            if len(frames) != 2 or len(frames[0]) != 6:
                continue
            event = int.from_bytes(frames[0][:2], "little")
            value = int.from_bytes(frames[0][2:], "little")
            events.append((event, value, frames[1].decode(errors="replace")))
        return events

    def _handle(self, events: list[tuple[int, int, str]]) -> None:
        raise NotImplementedError

    def poke(self) -> None:
        """Something was released: descriptors, connections. Admit if waiting."""

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def _start_waiting(self, why: str) -> None:
        if self.waiting:
            return
        self.waiting = True
        # A client can make the count cross the limit back and forth: one warning per
        # LOG_INTERVAL at most, and the all-clear only for a warning that was logged.
        now = time.monotonic()
        self._logged = now - self._logged_at >= LOG_INTERVAL
        if self._logged:
            self._logged_at = now
            log.warning(
                "%s: %d client connections, %s; new clients wait until one leaves",
                self.url,
                self.connections(),
                why,
            )

    def _stop_waiting(self) -> None:
        if self.waiting:
            self.waiting = False
            if self._logged:
                log.info(
                    "%s: taking new clients again (%d connected)", self.url, self.connections()
                )

    def _why_full(self, batch: int) -> str | None:
        if self.connections() + batch > MAX_CONNECTIONS:
            return f"the limit of {MAX_CONNECTIONS} per endpoint"
        return self.budget.no_room_for(batch)


class IpcGate(Gate):
    def __init__(
        self,
        sock: zmq.Socket[Any],
        url: str,
        budget: fdlimit.FdBudget | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(sock, url, budget, on_change)
        path = ipc_path(url)
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


class TcpGate(Gate):
    def __init__(
        self,
        sock: zmq.Socket[Any],
        url: str,
        budget: fdlimit.FdBudget | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(sock, url, budget, on_change)
        self.live: set[int] = set()
        self.port = 0
        self._listener = -1  # libzmq's listening socket, from its LISTENING event
        self._throttled = False

    def connections(self) -> int:
        return len(self.live)

    def _bind(self) -> None:
        bind(self.sock, self.url)
        last = self.sock.getsockopt_string(zmq.LAST_ENDPOINT)
        if not last.startswith("tcp://"):
            # An abstract ipc name (ipc://@…): no path to rename, no port to check a
            # connection against; counted, not bounded.
            self.port = -1
            log.warning("%s: connections to an abstract socket name are not bounded", self.url)
            return
        self.port = int(last.rpartition(":")[2])
        assert self._monitor is not None
        if self._monitor.poll(1000):
            frames = self._monitor.recv_multipart()
            if int.from_bytes(frames[0][:2], "little") == zmq.EVENT_LISTENING:
                self._listener = int.from_bytes(frames[0][2:6], "little")

    def _handle(self, events: list[tuple[int, int, str]]) -> None:
        accepted: list[int] = []
        released = False
        for event, fd, _endpoint in events:
            if event == zmq.EVENT_ACCEPTED:
                self.live.add(fd)
                accepted.append(fd)
            elif event == zmq.EVENT_DISCONNECTED:
                # A connection closed later in this same list must not be shut down below:
                # its number may already belong to someone else.
                if fd in self.live:
                    self.live.discard(fd)
                    released = True
                with contextlib.suppress(ValueError):
                    accepted.remove(fd)
        refused = False
        for fd in accepted:
            why = self._over_limit()
            if why is not None:
                self._refuse(fd, why)
                refused = True
        # Refused clients come back every 100 ms: the episode ends once the count is well
        # below the limit, not at the first connection that fits.
        if self.waiting and not refused and len(self.live) < 0.9 * self._limit():
            self._stop_waiting()
            self._throttle(False)
        if released:
            self.budget.released()

    def _limit(self) -> int:
        others = self.budget.connections() - len(self.live)
        return min(MAX_CONNECTIONS, self.budget.connection_share - others)

    def _over_limit(self) -> str | None:
        # The connection just accepted is counted already: it fits if nothing is exceeded.
        if len(self.live) > MAX_CONNECTIONS:
            return f"the limit of {MAX_CONNECTIONS} per endpoint"
        # A count up to COUNT_MAX_AGE old: listing every descriptor at each of thousands of
        # accepts a second would cost more than the connections.
        return self.budget.no_room_for(0, fresh=False)

    def _throttle(self, on: bool) -> None:
        """Refused clients reconnect every 100 ms. With a backlog of 0 the kernel queues one
        connection and drops the others' SYNs, which they retransmit after 1 s, 3 s, 7 s...:
        a flood then costs the daemon almost nothing."""
        if self._listener < 0 or on == self._throttled:
            return
        self._throttled = on
        backlog = 0 if on else int(self.sock.getsockopt(zmq.BACKLOG))
        _libc.listen(self._listener, backlog)

    def _refuse(self, fd: int, why: str) -> None:
        self._start_waiting(why)
        self._throttle(True)
        # The number comes from the monitor; refuse it only if it still is a connection to
        # this endpoint's port. libzmq then sees the end of it, closes it and reports it.
        if _local_port(fd) == self.port:
            _libc.shutdown(fd, socket.SHUT_RDWR)


def _local_port(fd: int) -> int | None:
    buf = ctypes.create_string_buffer(128)
    size = ctypes.c_uint32(len(buf))
    if _libc.getsockname(fd, buf, ctypes.byref(size)) != 0:
        return None
    family = int.from_bytes(buf.raw[:2], "little")
    if family not in (socket.AF_INET, socket.AF_INET6):
        return None
    return int.from_bytes(buf.raw[2:4], "big")


def make_gate(sock: zmq.Socket[Any], url: str, on_change: Callable[[], None] | None = None) -> Gate:
    if ipc_path(url) is not None and not url.startswith("ipc://@"):
        return IpcGate(sock, url, on_change=on_change)
    return TcpGate(sock, url, on_change=on_change)
