"""Output on the wire: lines are gathered per watcher and published in batches on
`output.<watcher>.` topics, with first and last sequence numbers so a subscriber that missed
a batch (the PUB socket drops at its high-water mark) knows to refill with `tail`.

The event socket is an XPUB, so the daemon knows which topics anyone subscribes to: with
no console following a watcher's output, its lines are never encoded for the wire."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import zmq

from daemon import protocol
from daemon.output import Line
from daemon.wire.output import batch_body

FLUSH_DELAY = 0.05
MAX_BATCH = 500
MAX_BATCH_BYTES = 64 * 1024


class Subscriptions:
    """The topic prefixes subscribed on an XPUB socket (by at least one subscriber)."""

    def __init__(self, sock: zmq.Socket[Any]) -> None:
        self.sock = sock
        self.prefixes: set[bytes] = set()
        self._wanted: dict[bytes, bool] = {}

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.add_reader(self.sock.getsockopt(zmq.FD), self.drain)

    def detach(self, loop: asyncio.AbstractEventLoop) -> None:
        with contextlib.suppress(Exception):
            loop.remove_reader(self.sock.getsockopt(zmq.FD))

    def drain(self) -> None:
        """Read pending (un)subscriptions. The zmq FD signals edges only, and sends can
        consume an edge, so this also runs after every publish."""
        try:
            while self.sock.getsockopt(zmq.EVENTS) & zmq.POLLIN:
                msg = self.sock.recv(zmq.NOBLOCK)
                if msg[:1] == b"\x01":
                    self.prefixes.add(msg[1:])
                elif msg[:1] == b"\x00":
                    self.prefixes.discard(msg[1:])
                self._wanted.clear()
        except zmq.ZMQError:
            pass

    def wanted(self, topic: bytes) -> bool:
        found = self._wanted.get(topic)
        if found is None:
            found = any(topic.startswith(p) for p in self.prefixes)
            self._wanted[topic] = found
        return found


class OutputPublisher:
    def __init__(self, sock: zmq.Socket[Any], subscriptions: Subscriptions | None = None) -> None:
        self.sock = sock
        self.subscriptions = subscriptions
        self._pending: dict[str, list[Line]] = {}
        self._bytes: dict[str, int] = {}
        self._timer: asyncio.TimerHandle | None = None

    def listener(self, watcher: str) -> Any:
        topic = protocol.output_topic(watcher)
        subs = self.subscriptions

        def on_lines(lines: list[Line]) -> None:
            if subs is not None and not subs.wanted(topic):
                return
            # One pipe read can hold thousands of short lines: cut it at the batch limits.
            for line in lines:
                batch = self._pending.setdefault(watcher, [])
                batch.append(line)
                size = self._bytes.get(watcher, 0) + len(line.data) + 64
                self._bytes[watcher] = size
                # Bounded batches keep what a stalled subscriber can hold at the high-water
                # mark small: SNDHWM counts messages, not bytes.
                if len(batch) >= MAX_BATCH or size >= MAX_BATCH_BYTES:
                    self.flush_watcher(watcher)
            if self._pending.get(watcher) and self._timer is None:
                self._timer = asyncio.get_running_loop().call_later(FLUSH_DELAY, self.flush)

        return on_lines

    def flush(self) -> None:
        self._timer = None
        pending, self._pending = self._pending, {}
        self._bytes.clear()
        for watcher, lines in pending.items():
            self._publish(watcher, lines)

    def flush_watcher(self, watcher: str) -> None:
        """Publish what is pending for one watcher now, e.g. before its `reap` event, so a
        subscriber sees a program's last words before it hears that it exited."""
        lines = self._pending.pop(watcher, None)
        self._bytes.pop(watcher, None)
        if lines:
            self._publish(watcher, lines)

    def _publish(self, watcher: str, lines: list[Line]) -> None:
        body = batch_body(watcher, lines)
        # A full queue (a slow or stopped subscriber) drops the batch; the daemon goes on.
        with contextlib.suppress(zmq.ZMQError):
            self.sock.send_multipart(
                [protocol.output_topic(watcher), protocol.encode(body)], zmq.NOBLOCK
            )
        if self.subscriptions is not None:
            self.subscriptions.drain()
