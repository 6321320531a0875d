"""A TCP endpoint's gate: libzmq listens, and connections beyond the limit are shut at once."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import socket

import zmq

from daemon.admission.gate import MAX_CONNECTIONS, Gate, libc
from daemon.endpoints import bind

log = logging.getLogger("circus-tui")


class TcpGate(Gate):
    def setup(self) -> None:
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
        libc.listen(self._listener, backlog)

    def _refuse(self, fd: int, why: str) -> None:
        self._start_waiting(why)
        self._throttle(True)
        # The number comes from the monitor; refuse it only if it still is a connection to
        # this endpoint's port. libzmq then sees the end of it, closes it and reports it.
        if _local_port(fd) == self.port:
            libc.shutdown(fd, socket.SHUT_RDWR)


def _local_port(fd: int) -> int | None:
    buf = ctypes.create_string_buffer(128)
    size = ctypes.c_uint32(len(buf))
    if libc.getsockname(fd, buf, ctypes.byref(size)) != 0:
        return None
    family = int.from_bytes(buf.raw[:2], "little")
    if family not in (socket.AF_INET, socket.AF_INET6):
        return None
    return int.from_bytes(buf.raw[2:4], "big")
