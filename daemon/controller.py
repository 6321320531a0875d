"""The control endpoint: a ROUTER socket; every request runs as its own task, so a slow
command on one watcher never holds up a command on another.

What one client can make the daemon hold is bounded: its replies not yet read in bytes
(daemon/outbox.py), and its requests: at most MAX_ACTIVE_PER_CLIENT run at once, the next
ones wait their turn, up to MAX_WAITING_PER_CLIENT bytes of them. A client that sends 300
`tail` requests at once thus gets them worked on a few at a time, and another client's
request does not queue behind all 300."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import zmq

from daemon import commands, protocol
from daemon.admission import Gate, make_gate
from daemon.outbox import MIB, TRACK_FROM, Outbox
from daemon.wire.core import Core

log = logging.getLogger("circus-tui")

# Frames larger than this make libzmq drop the peer; below it, oversize requests get a reply.
MAX_RECEIVE_BYTES = 64 * 1024 * 1024
# No reply is larger: one bigger becomes an error reply. `tail` keeps below it by itself.
MAX_REPLY_BYTES = 32 * MIB


# Requests read in one turn of the loop before others get theirs.
REQUESTS_PER_TURN = 100
MAX_ACTIVE_PER_CLIENT = 4
MAX_WAITING_PER_CLIENT = 16 * MIB
MAX_WAITING_TOTAL = 64 * MIB


@dataclass
class _Client:
    """The requests of one client (one ROUTER identity) the daemon holds."""

    active: int = 0
    waiting: deque[tuple[list[zmq.Frame], int]] = field(default_factory=deque)
    waiting_bytes: int = 0


def _peer(frame: zmq.Frame) -> str:
    try:
        return str(frame.get("Peer-Address"))
    except zmq.ZMQError:
        return ""


class Controller:
    def __init__(self, core: Core, endpoint: str) -> None:
        self.core = core
        self.endpoint = endpoint
        self.ctx = zmq.Context()
        # A plain socket read from the loop, not zmq.asyncio's: the gate binds and unbinds
        # on it, and each of those can take the edge of its descriptor that would have told
        # an awaiting recv of a request. After any of them, and after every send, the socket
        # is read again (`_wake`).
        self.sock: zmq.Socket[Any] = self.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.MAXMSGSIZE, MAX_RECEIVE_BYTES)
        # A client that stops reading loses replies instead of stalling the daemon.
        self.sock.setsockopt(zmq.SNDHWM, 1000)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.gate: Gate | None = None
        self.outbox = Outbox()
        self._clients: dict[bytes, _Client] = {}
        self._waiting_total = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._woken = False

    def bind(self) -> None:
        self.gate = make_gate(self.sock, self.endpoint, on_change=self._wake)
        self.gate.bind()

    async def serve(self) -> None:
        loop = self._loop = asyncio.get_running_loop()
        if self.gate is not None:
            self.gate.attach(loop)
        fd = self.sock.getsockopt(zmq.FD)
        loop.add_reader(fd, self._receive)
        self._receive()
        try:
            await loop.create_future()  # until cancelled
        finally:
            with contextlib.suppress(Exception):
                loop.remove_reader(fd)

    def _wake(self) -> None:
        """Read the socket again soon: an operation on it may have taken the edge."""
        if not self._woken and self._loop is not None:
            self._woken = True
            self._loop.call_soon(self._receive)

    def _receive(self) -> None:
        self._woken = False
        for _ in range(REQUESTS_PER_TURN):
            try:
                # Frames, not bytes: they carry the peer's address, for the log.
                frames = self.sock.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            except zmq.ZMQError as exc:
                if exc.errno != zmq.ETERM:
                    log.warning("control socket: %s", exc)
                return
            self._admit(frames)
        # More may wait: read them on the next turn, after what is ready to run.
        self._wake()

    def _admit(self, frames: list[zmq.Frame]) -> None:
        identity = frames[0].bytes
        client = self._clients.setdefault(identity, _Client())
        if client.active < MAX_ACTIVE_PER_CLIENT:
            self._start(identity, client, frames)
            return
        size = sum(len(frame) for frame in frames)
        if (
            client.waiting_bytes + size > MAX_WAITING_PER_CLIENT
            or self._waiting_total + size > MAX_WAITING_TOTAL
        ):
            self.outbox.drop(
                identity,
                _peer(frames[-1]),
                "request",
                f"{len(client.waiting) + client.active} of its requests are in the daemon "
                f"already ({MAX_WAITING_PER_CLIENT // MIB} MiB of them may wait)",
            )
            return
        client.waiting.append((frames, size))
        client.waiting_bytes += size
        self._waiting_total += size

    def _start(self, identity: bytes, client: _Client, frames: list[zmq.Frame]) -> None:
        client.active += 1
        task = asyncio.ensure_future(self.handle(frames))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _t: self._finished(identity, client))

    def _finished(self, identity: bytes, client: _Client) -> None:
        client.active -= 1
        if client.waiting:
            frames, size = client.waiting.popleft()
            client.waiting_bytes -= size
            self._waiting_total -= size
            self._start(identity, client, frames)
        elif client.active == 0:
            self._clients.pop(identity, None)

    async def handle(self, received: list[zmq.Frame]) -> None:
        frames = [frame.bytes for frame in received]
        peer = _peer(received[-1])
        identity = frames[0]
        rest = frames[1:]
        # REQ clients put an empty delimiter before the body; echo it back.
        envelope = [b""] if rest and rest[0] == b"" and len(rest) > 1 else []
        body = rest[len(envelope) :]
        if len(body) != 1:
            self._send(
                identity,
                envelope,
                protocol.error_reply(
                    None,
                    f"expected one JSON frame, got {len(body)}",
                    protocol.BAD_MSG_DATA_ERROR,
                ),
                peer,
            )
            return
        msg_id: Any = None
        cast = False
        try:
            msg = protocol.decode_request(body[0])
            msg_id = msg.get("id")
            cast = msg.get("msg_type") == "cast"
            if not cast and self.outbox.full(identity):
                # Its replies would only pile up: spare the work too.
                self.outbox.drop(identity, peer, "request", self._full_text(identity))
                return
            reply = await self.dispatch(msg)
        except protocol.ProtocolError as exc:
            reply = protocol.error_reply(
                msg_id if msg_id is not None else exc.msg_id, exc.reason, exc.errno
            )
        except OSError as exc:
            reply = protocol.error_reply(msg_id, str(exc), protocol.OS_ERROR)
        except Exception as exc:
            log.error("command failed: %s", traceback.format_exc())
            reply = protocol.error_reply(msg_id, f"server error: {exc}", protocol.COMMAND_ERROR)
        if not cast:
            self._send(identity, envelope, reply, peer)

    async def dispatch(self, msg: dict[str, Any]) -> dict[str, Any]:
        result = await commands.run(self.core, msg["command"], msg["properties"])
        return protocol.ok_reply(msg.get("id"), result)

    def _full_text(self, identity: bytes) -> str:
        return (
            f"{self.outbox.queued(identity) / MIB:.1f} MiB of replies are queued for it "
            f"(the limit is {self.outbox.per_client // MIB} MiB a client)"
        )

    def _send(
        self, identity: bytes, envelope: list[bytes], reply: dict[str, Any], peer: str
    ) -> None:
        try:
            data = protocol.encode(reply)
        except (ValueError, TypeError, RecursionError) as exc:
            # Whatever went wrong, the client hears of it rather than waiting for nothing.
            log.error("reply not encoded: %s", exc)
            reason = "server error: reply not encoded"
            data = protocol.encode(protocol.error_reply(None, reason, protocol.COMMAND_ERROR))
        if len(data) > MAX_REPLY_BYTES:
            data = protocol.encode(
                protocol.error_reply(
                    reply.get("id"),
                    f"reply too large ({len(data) / MIB:.1f} MiB, the limit is "
                    f"{MAX_REPLY_BYTES // MIB} MiB): ask for less",
                    protocol.COMMAND_ERROR,
                )
            )
        why = self.outbox.refusal(identity, len(data))
        if why is not None:
            self.outbox.drop(identity, peer, f"{len(data) / MIB:.1f} MiB reply", why)
            return
        # ROUTER never blocks a send: an unroutable or full peer just loses the reply.
        with contextlib.suppress(zmq.ZMQError):
            frames = [identity, *envelope, data]
            if len(data) < TRACK_FROM:
                self.sock.send_multipart(frames, zmq.NOBLOCK)
                self.outbox.sent_small(identity)
            else:
                tracker = self.sock.send_multipart(frames, zmq.NOBLOCK, copy=False, track=True)
                self.outbox.sent(identity, tracker, len(data))
        self._wake()

    def close(self) -> None:
        for client in self._clients.values():
            client.waiting.clear()
        self._clients.clear()
        for task in self._tasks:
            task.cancel()
        if self.gate is not None:
            self.gate.close()
        self.sock.close(linger=0)
        self.ctx.term()
