"""The control endpoint: a ROUTER socket; every request runs as its own task, so a slow
command on one watcher never holds up a command on another."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback
from typing import TYPE_CHECKING, Any

import zmq
import zmq.asyncio

from daemon import protocol
from daemon.commands import COMMANDS
from daemon.endpoints import bind

if TYPE_CHECKING:
    from daemon.arbiter import Arbiter

log = logging.getLogger("circus-tui")

# Frames larger than this make libzmq drop the peer; below it, oversize requests get a reply.
MAX_RECEIVE_BYTES = 64 * 1024 * 1024


class Controller:
    def __init__(self, arbiter: Arbiter, endpoint: str) -> None:
        self.arbiter = arbiter
        self.endpoint = endpoint
        self.ctx = zmq.asyncio.Context()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.MAXMSGSIZE, MAX_RECEIVE_BYTES)
        # A client that stops reading loses replies instead of stalling the daemon.
        self.sock.setsockopt(zmq.SNDHWM, 1000)
        self._tasks: set[asyncio.Task[Any]] = set()

    def bind(self) -> None:
        bind(self.sock, self.endpoint)

    async def serve(self) -> None:
        while True:
            try:
                frames = await self.sock.recv_multipart()
            except zmq.ZMQError as exc:
                if exc.errno == zmq.ETERM:
                    return
                log.warning("control socket: %s", exc)
                continue
            task = asyncio.ensure_future(self.handle(frames))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def handle(self, frames: list[bytes]) -> None:
        identity = frames[0]
        rest = frames[1:]
        # REQ clients put an empty delimiter before the body; echo it back.
        envelope = [b""] if rest and rest[0] == b"" and len(rest) > 1 else []
        body = rest[len(envelope) :]
        if len(body) != 1:
            await self._send(
                identity,
                envelope,
                protocol.error_reply(
                    None,
                    f"expected one JSON frame, got {len(body)}",
                    protocol.BAD_MSG_DATA_ERROR,
                ),
            )
            return
        msg_id: Any = None
        cast = False
        try:
            msg = protocol.decode_request(body[0])
            msg_id = msg.get("id")
            cast = msg.get("msg_type") == "cast"
            reply = await self.dispatch(msg)
        except protocol.ProtocolError as exc:
            reply = protocol.error_reply(msg_id, exc.reason, exc.errno)
        except OSError as exc:
            reply = protocol.error_reply(msg_id, str(exc), protocol.OS_ERROR)
        except Exception as exc:
            log.error("command failed: %s", traceback.format_exc())
            reply = protocol.error_reply(msg_id, f"server error: {exc}", protocol.COMMAND_ERROR)
        if not cast:
            await self._send(identity, envelope, reply)

    async def dispatch(self, msg: dict[str, Any]) -> dict[str, Any]:
        name = msg["command"].lower()
        handler = COMMANDS.get(name)
        if handler is None:
            raise protocol.ProtocolError(
                f'unknown command: "{msg["command"]}"', protocol.UNKNOWN_COMMAND
            )
        result = await handler(self.arbiter, msg["properties"])
        return protocol.ok_reply(msg.get("id"), result)

    async def _send(self, identity: bytes, envelope: list[bytes], reply: dict[str, Any]) -> None:
        try:
            body = protocol.encode(reply)
        except (ValueError, TypeError, RecursionError) as exc:
            # Whatever went wrong, the client hears of it rather than waiting for nothing.
            log.error("reply not encoded: %s", exc)
            reason = "server error: reply not encoded"
            body = protocol.encode(protocol.error_reply(None, reason, protocol.COMMAND_ERROR))
        # ROUTER never blocks a send: an unroutable or full peer just loses the reply.
        with contextlib.suppress(zmq.ZMQError):
            await self.sock.send_multipart([identity, *envelope, body])

    def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        self.sock.close(linger=0)
        self.ctx.term()
