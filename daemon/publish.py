"""Output on the wire: lines are gathered per watcher and published in batches on
`output.<watcher>.` topics, with first and last sequence numbers so a subscriber that missed
a batch (the PUB socket drops at its high-water mark) knows to refill with `tail`."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import zmq

from daemon import protocol
from daemon.output import Line

FLUSH_DELAY = 0.05
MAX_BATCH = 500


class OutputPublisher:
    def __init__(self, sock: zmq.Socket[Any]) -> None:
        self.sock = sock
        self._pending: dict[str, list[Line]] = {}
        self._timer: asyncio.TimerHandle | None = None

    def listener(self, watcher: str) -> Any:
        def on_lines(lines: list[Line]) -> None:
            batch = self._pending.setdefault(watcher, [])
            batch.extend(lines)
            if len(batch) >= MAX_BATCH:
                self._publish(watcher, self._pending.pop(watcher))
            elif self._timer is None:
                self._timer = asyncio.get_running_loop().call_later(FLUSH_DELAY, self.flush)

        return on_lines

    def flush(self) -> None:
        self._timer = None
        pending, self._pending = self._pending, {}
        for watcher, lines in pending.items():
            self._publish(watcher, lines)

    def _publish(self, watcher: str, lines: list[Line]) -> None:
        body = {
            "watcher": watcher,
            "first": lines[0].seq,
            "last": lines[-1].seq,
            "lines": [ln.as_json() for ln in lines],
        }
        # A full queue (a slow or stopped subscriber) drops the batch; the daemon goes on.
        with contextlib.suppress(zmq.ZMQError):
            self.sock.send_multipart(
                [protocol.output_topic(watcher), protocol.encode(body)], zmq.NOBLOCK
            )
