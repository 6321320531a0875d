"""One endpoint's admission of clients: what every gate does, whatever its transport."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import time
from collections.abc import Callable
from typing import Any

import zmq

from daemon import fdlimit

log = logging.getLogger("circus-tui")

MAX_CONNECTIONS = 1000  # per endpoint
MAX_BACKLOG = 32
LOG_INTERVAL = 10.0
# Not ACCEPT_FAILED: libzmq retries a TCP accept that met EMFILE at once, and reports every
# failure, by the million.
EVENTS = zmq.EVENT_ACCEPTED | zmq.EVENT_DISCONNECTED | zmq.EVENT_LISTENING
# Events handled per turn of the loop: a flood of them must not starve everything else.
EVENTS_PER_TURN = 2000

libc = ctypes.CDLL(None, use_errno=True)


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
        self.setup()

    def setup(self) -> None:
        """What a kind of gate holds besides: called once, at the end of __init__."""

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
