"""The console's link to a daemon: a snapshot first, then the event, stats and output streams,
and reconnection whenever the daemon goes away.

Subscriptions are made before the snapshot is taken, so nothing published in between is
lost; the store skips what the snapshot already holds by sequence number.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import zmq
import zmq.asyncio

from daemon import protocol
from daemon.client import AsyncClient, CallError, connect
from daemon.paths import UnsafeDirectoryError
from daemon.tunnel import Reach
from tui.scrollback import Backlog, Refill
from tui.store import CONNECTED, CONNECTING, DISCONNECTED, Store

log = logging.getLogger("circus-tui.console")

BURST = 0.005  # seconds of stream handling before the loop gets a turn
HEARTBEAT = 2.0  # seconds between status refreshes, which double as liveness checks
RETRY_MIN, RETRY_MAX = 0.5, 5.0


class Link:
    def __init__(
        self,
        store: Store,
        endpoint: str,
        *,
        on_change: Callable[[], None] | None = None,
        reach: Reach | None = None,
    ) -> None:
        self.store = store
        self.endpoint = endpoint
        # Through ssh: the control endpoint is a tunnel's, made (again) before each session.
        self.reach = reach
        self.on_change = on_change or (lambda: None)
        self.client: AsyncClient | None = None
        self.options: dict[str, Any] = {}
        self._ctx = zmq.asyncio.Context()
        self._refills: set[asyncio.Task[None]] = set()
        self._events: zmq.asyncio.Socket | None = None
        self._output_prefixes: set[bytes] = set()
        self._instance: object = None  # the daemon's instance id: a new one restarts sequences
        store.endpoint = endpoint
        store.on_scope_change = self._rescope

    # -- commands ---------------------------------------------------------------------

    async def call(self, command: str, **props: Any) -> dict[str, Any]:
        if self.client is None or self.store.connection != CONNECTED:
            raise CallError("not connected to the daemon")
        return await self.client.call(command, **props)

    async def refresh_watcher(self, name: str) -> None:
        """Re-read one watcher after a command changed it (Circus sends no details, and its
        target is only in `options`)."""
        try:
            reply = await self.call("status", name=name)
            self.store.apply_watcher_status(name, reply)
            if self.store.daemon_kind == "circusd":
                options = await self.call("options", name=name)
                self.store.apply_options(name, options.get("options", {}))
        except CallError:
            return
        self.on_change()

    # -- the session loop -------------------------------------------------------------

    async def run(self) -> None:
        delay = RETRY_MIN
        while True:
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            # UnsafeDirectoryError: the socket's directory became one another user controls.
            except (
                CallError,
                UnsafeDirectoryError,
                zmq.ZMQError,
                OSError,
                ValueError,
                KeyError,
            ) as exc:
                was = self.store.connection
                self.store.set_connection(DISCONNECTED, _why(exc))
                if was == CONNECTED:
                    delay = RETRY_MIN
                self.on_change()
            finally:
                self._close_client()
            await asyncio.sleep(delay)
            delay = min(RETRY_MAX, delay * 2)
            if self.store.connection != CONNECTED:
                self.store.set_connection(DISCONNECTED, f"reconnecting to {self.endpoint}")

    async def _session(self) -> None:
        if self.store.connection != DISCONNECTED:
            self.store.set_connection(CONNECTING, f"connecting to {self.endpoint}")
        control = self.endpoint
        if self.reach is not None:
            control = await asyncio.to_thread(self.reach.control)
        self.client = AsyncClient(control, timeout=3.0)
        self.options = (await self.client.call("globaloptions"))["options"]
        if self.reach is not None:
            for key in ("pubsub_endpoint", "stats_endpoint"):
                if self.options.get(key):
                    self.options[key] = await asyncio.to_thread(
                        self.reach.local_for, self.options[key]
                    )
        ours = "instance" in self.options
        if ours and self.options["instance"] != self._instance:
            if self._instance is not None:
                self.store.forget_output()
            self._instance = self.options["instance"]
        self.store.daemon_kind = "circus-tui" if ours else "circusd"
        events = self._subscribe(
            self.options.get("pubsub_endpoint"), [protocol.EVENT_PREFIX.encode()]
        )
        self._events, self._output_prefixes = events, set()
        # Output of the watcher on screen only: the daemon then encodes nothing else for us,
        # and we decode nothing else. Other watchers' output is fetched when shown.
        self._follow_output()
        stats = self._subscribe(self.options.get("stats_endpoint"), [protocol.STAT_PREFIX.encode()])
        try:
            await self._snapshot()
            self.store.set_connection(CONNECTED, "")
            self._rescope()  # the backlog of the output on screen
            self.on_change()
            tasks = [asyncio.ensure_future(self._heartbeat())]
            if events is not None:
                tasks.append(asyncio.ensure_future(self._read_events(events)))
            if stats is not None:
                tasks.append(asyncio.ensure_future(self._read_stats(stats)))
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
                for task in done:
                    task.result()
            finally:
                for task in tasks:
                    task.cancel()
        finally:
            self._events = None
            # Backlogs asked of this session's daemon are not wanted by the next one.
            for task in list(self._refills):
                task.cancel()
            for sock in (events, stats):
                if sock is not None:
                    sock.close(linger=0)

    def _subscribe(self, endpoint: str | None, prefixes: list[bytes]) -> zmq.asyncio.Socket | None:
        if not endpoint:
            return None
        sock = self._ctx.socket(zmq.SUB)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.RCVHWM, 100_000)
        for prefix in prefixes:
            sock.setsockopt(zmq.SUBSCRIBE, prefix)
        connect(sock, endpoint)
        return sock

    async def _snapshot(self) -> None:
        assert self.client is not None
        store = self.store
        store.apply_status(await self.client.call("status"))
        if store.daemon_kind == "circusd":
            # Circus reports no targets in `status`: ask each watcher's options.
            replies = await asyncio.gather(
                *(self.client.call("options", name=n) for n in list(store.watchers)),
                return_exceptions=True,
            )
            for name, reply in zip(list(store.watchers), replies, strict=True):
                if isinstance(reply, dict):
                    store.apply_options(name, reply.get("options", {}))
        stats = await self.client.call("stats")
        store.apply_stats_infos(stats.get("infos", {}))
        if store.daemon_kind == "circus-tui":
            history = await self.client.call("history")
            store.apply_history(history.get("history", {}))

    async def _heartbeat(self) -> None:
        assert self.client is not None
        while True:
            await asyncio.sleep(HEARTBEAT)
            reply = await self.client.call("status", timeout=HEARTBEAT + 1)
            self.store.apply_status(reply)
            for refill in self.store.stale_output():
                self._start_refill(refill)
            self.on_change()

    async def _messages(self, sock: zmq.asyncio.Socket) -> AsyncIterator[tuple[bytes, bytes]]:
        """Messages as they come, in bursts of at most a few milliseconds: a ready zmq
        future never yields to the loop, so a busy stream would otherwise starve the keys."""
        loop = asyncio.get_running_loop()
        while True:
            await sock.poll(flags=zmq.POLLIN)
            budget = loop.time() + BURST
            while loop.time() < budget:
                try:
                    # Done at once with NOBLOCK: awaiting it does not give up the loop.
                    frames = await sock.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                if len(frames) == 2:
                    yield frames[0], frames[1]
            await asyncio.sleep(0)

    async def _read_events(self, sock: zmq.asyncio.Socket) -> None:
        async for topic, body in self._messages(sock):
            try:
                data = json.loads(body)
            except ValueError:
                continue
            if topic.startswith(b"output."):
                refill = self.store.apply_output(data)
                if refill is not None:
                    self._start_refill(refill)
            else:
                rest = topic.decode("utf-8", "replace")[len(protocol.EVENT_PREFIX) :]
                name, _, event = rest.rpartition(".")
                self.store.apply_event(name, event, data)
                if event in ("add", "remove") and self.client is not None:
                    self.store.apply_status(await self.client.call("status"))

    def _follow_output(self) -> None:
        """Subscribe to the output on screen, and to nothing else."""
        sock, store = self._events, self.store
        if sock is None or sock.closed or not store.streams_output:
            return
        if store.log_all:
            wanted = {protocol.OUTPUT_PREFIX.encode()}
        elif store.selected is not None:
            wanted = {protocol.output_topic(store.selected)}
        else:
            wanted = set()
        for prefix in wanted - self._output_prefixes:
            sock.setsockopt(zmq.SUBSCRIBE, prefix)
        for prefix in self._output_prefixes - wanted:
            sock.setsockopt(zmq.UNSUBSCRIBE, prefix)
        self._output_prefixes = wanted

    def _rescope(self) -> None:
        """The output on screen changed: follow it, and fetch what it wrote while it was not
        on screen (all of its backlog if it was never shown)."""
        self._follow_output()
        store = self.store
        if store.connection != CONNECTED or not store.streams_output:
            return
        refill = store.refill_on_screen()
        if refill is not None:
            self._start_refill(refill)

    def _start_refill(self, refill: Refill) -> None:
        task = asyncio.ensure_future(self._refill(refill))
        self._refills.add(task)
        task.add_done_callback(self._refills.discard)

    async def _refill(self, refill: Refill) -> None:
        replies = await asyncio.gather(
            *(
                self.call("tail", name=name, since=since, count=refill.count)
                for name, since in refill.since.items()
            ),
            return_exceptions=True,
        )
        backlogs: dict[str, Backlog | None] = {}
        for name, reply in zip(refill.since, replies, strict=True):
            if isinstance(reply, asyncio.CancelledError):
                raise reply
            ok = isinstance(reply, dict) and isinstance(reply.get("lines"), list)
            backlogs[name] = (reply["lines"], int(reply.get("last_seq", 0))) if ok else None
        self.store.finish_refill(refill, backlogs)
        self.on_change()

    async def _read_stats(self, sock: zmq.asyncio.Socket) -> None:
        async for topic, body in self._messages(sock):
            parts = protocol.parse_topic(topic)
            if len(parts) < 2 or parts[1] in ("sockets", "circus"):
                continue
            # Per-process stats matter only for the watcher on screen: most of the stream
            # is skipped before it is decoded.
            if len(parts) == 3 and parts[1] != self.store.selected:
                continue
            try:
                data = json.loads(body)
            except ValueError:
                continue
            if not isinstance(data, dict):
                continue
            if len(parts) == 3 and parts[2].isdigit():
                self.store.apply_stat(parts[1], int(parts[2]), data)
            elif len(parts) == 2:
                self.store.apply_stat(parts[1], None, data)

    def _close_client(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.close()
            self.client = None

    def close(self) -> None:
        self._close_client()
        self._ctx.destroy(linger=0)


def _why(exc: BaseException) -> str:
    if isinstance(exc, CallError):
        return exc.reason
    return f"{type(exc).__name__}: {exc}"
