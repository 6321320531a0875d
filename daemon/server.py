"""The daemon's ZeroMQ side: the control endpoint (daemon.controller), the event socket (an
XPUB: events and program output) and the stats socket (PUB), each behind its admission gate.
It is the arbiter's Outlet: the core hands it events, output and stats ticks as values, and
the Circus bodies and topics are made here."""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any

import zmq

from daemon import protocol
from daemon.admission import Gate, make_gate
from daemon.controller import Controller
from daemon.endpoints import unlink
from daemon.events import Event
from daemon.outlet import OutputListener
from daemon.publish import OutputPublisher, Subscriptions
from daemon.stats import Tick
from daemon.wire.events import event_body
from daemon.wire.stats import process_info, socket_stats, watcher_stats

if TYPE_CHECKING:
    from daemon.arbiter import Arbiter


class Server:
    def __init__(self, arbiter: Arbiter) -> None:
        self.arbiter = arbiter
        self._ctx: zmq.Context[Any] | None = None  # made in bind(): after any fork
        self._events: zmq.Socket[Any] | None = None
        self._stats: zmq.Socket[Any] | None = None
        self.controller: Controller | None = None
        self.output_publisher: OutputPublisher | None = None
        self.subscriptions: Subscriptions | None = None
        self._bound: list[str] = []  # ipc endpoints this daemon bound, to unlink on exit
        self._gates: list[Gate] = []
        self._loop: Any = None

    def bind(self) -> None:
        arbiter = self.arbiter
        self._ctx = zmq.Context()
        self._events = self._ctx.socket(zmq.XPUB)
        self._stats = self._ctx.socket(zmq.PUB)
        for sock in (self._events, self._stats):
            sock.setsockopt(zmq.LINGER, 0)
            # Per subscriber; output batches are at most 64 KiB, so a stalled subscriber
            # holds at most ~16 MiB here before publishes to it are dropped.
            sock.setsockopt(zmq.SNDHWM, 256)
        # Subscribers are clients too: their connections are bounded like the control's.
        self._gates = [
            make_gate(self._events, arbiter.pubsub_endpoint, on_change=self._drain_subscriptions)
        ]
        self._gates[0].bind()
        self._bound.append(arbiter.pubsub_endpoint)
        self.subscriptions = Subscriptions(self._events)
        self.output_publisher = OutputPublisher(self._events, self.subscriptions)
        self._gates.append(make_gate(self._stats, arbiter.stats_endpoint))
        self._gates[1].bind()
        self._bound.append(arbiter.stats_endpoint)
        self.controller = Controller(arbiter, arbiter.endpoint)
        self.controller.bind()
        self._bound.append(arbiter.endpoint)

    def _drain_subscriptions(self) -> None:
        if self.subscriptions is not None:
            self.subscriptions.drain()

    async def serve(self) -> None:
        import asyncio

        loop = self._loop = asyncio.get_running_loop()
        if self.subscriptions is not None:
            self.subscriptions.attach(loop)
        for gate in self._gates:
            gate.attach(loop)
        if self.controller is not None:
            await self.controller.serve()

    def quiet(self) -> None:
        if self.subscriptions is not None and self._loop is not None:
            self.subscriptions.detach(self._loop)

    def close(self) -> None:
        if self.controller is not None:
            self.controller.close()
            self.controller = None
        for gate in self._gates:
            gate.close()
        self._gates = []
        if self._ctx is not None:
            self._ctx.destroy(linger=0)
            self._ctx = None
        for url in self._bound:
            unlink(url)
        self._bound = []

    # -- what the core tells ------------------------------------------------------------

    def output_listener(self, watcher: str) -> OutputListener | None:
        if self.output_publisher is None:
            return None
        return self.output_publisher.listener(watcher)

    def event(self, event: Event) -> None:
        if self._events is None:
            return
        if self.output_publisher is not None:
            self.output_publisher.flush_watcher(event.watcher)
        topic, body = event_body(event)
        body["time"] = time.time()
        with contextlib.suppress(zmq.ZMQError):
            self._events.send_multipart(
                [protocol.event_topic(event.watcher, topic), protocol.encode(body)], zmq.NOBLOCK
            )
        self._drain_subscriptions()

    def tick(self, tick: Tick) -> None:
        try:
            self._publish_stats(tick)
        finally:
            self._drain_subscriptions()  # in case a zmq edge was missed

    def _publish_stats(self, tick: Tick) -> None:
        if self._stats is None:
            return
        send = self._stats.send_multipart
        arbiter = self.arbiter
        circus_names = arbiter.circus_names()
        try:
            for name, pids in tick.groups.items():
                watcher = arbiter.find(name) if name != "circus" else None
                for pid in pids:
                    proc = watcher.processes.get(pid) if watcher is not None else None
                    info = process_info(
                        pid,
                        wid=proc.wid if proc else None,
                        started=proc.started if proc else None,
                        sample=tick.procs.get(pid),
                    )
                    if not isinstance(info, dict):
                        continue
                    info["subtopic"] = pid
                    # As Circus names circusd and circusd-stats in its pseudo-watcher.
                    info["name"] = circus_names.get(pid) if watcher is None else None
                    send([protocol.stat_topic(name, pid), protocol.encode(info)], zmq.NOBLOCK)
                agg = tick.watchers.get(name)
                if agg is not None:
                    body = watcher_stats(agg)
                    send([protocol.stat_topic(name), protocol.encode(body)], zmq.NOBLOCK)
            sockets = arbiter.listening()
            if sockets:
                total: dict[str, Any] = {"addresses": [], "reads": 0}
                for sock in sockets:
                    info = socket_stats(sock)
                    total["addresses"].append(info["address"])
                    total["reads"] += info["reads"]
                    send(
                        [protocol.stat_topic("sockets", info["fd"]), protocol.encode(info)],
                        zmq.NOBLOCK,
                    )
                send([protocol.stat_topic("sockets"), protocol.encode(total)], zmq.NOBLOCK)
        except zmq.ZMQError:
            pass  # a full queue drops stats; they are replaced next tick anyway
