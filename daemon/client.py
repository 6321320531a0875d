"""Clients of the control endpoint: a blocking one for `ctl` and scripts, an asyncio one for
the console. Both speak exactly what circusctl speaks."""

from __future__ import annotations

import json
from typing import Any

import zmq
import zmq.asyncio

from daemon import protocol
from daemon.endpoints import EndpointError, allow_ipv6, check_client_endpoint


class CallError(Exception):
    """The daemon answered with an error, or did not answer in time."""

    def __init__(self, reason: str, errno: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.errno = errno


def _check(reply: Any) -> dict[str, Any]:
    if not isinstance(reply, dict):
        raise CallError("malformed reply from the daemon")
    if reply.get("status") == "error":
        raise CallError(str(reply.get("reason", "unknown error")), reply.get("errno"))
    return reply


def connect(sock: zmq.Socket[Any], endpoint: str) -> None:
    """Connect a client's socket (control, or a subscriber). Raises EndpointError, with the
    endpoint named, for one no client can reach, and UnsafeDirectoryError for an ipc socket
    another user could have placed."""
    check_client_endpoint(endpoint)
    allow_ipv6(sock, endpoint)
    try:
        sock.connect(endpoint)
    except zmq.ZMQError as exc:
        sock.close(linger=0)
        raise EndpointError(f"{endpoint}: {exc}") from None


class Client:
    """One DEALER; each call waits for the reply with its own id."""

    def __init__(self, endpoint: str, timeout: float = 5.0) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self._ctx = zmq.Context()
        self._sock = self._ctx.socket(zmq.DEALER)
        self._sock.setsockopt(zmq.LINGER, 0)
        connect(self._sock, endpoint)

    def call(self, command: str, timeout: float | None = None, **props: Any) -> dict[str, Any]:
        msg = protocol.make_request(command, **props)
        self._sock.send(protocol.encode(msg))
        wait_ms = int((self.timeout if timeout is None else timeout) * 1000)
        while True:
            if not self._sock.poll(wait_ms):
                raise CallError(f"timed out waiting for the daemon at {self.endpoint}")
            try:
                reply = json.loads(self._sock.recv())
            except ValueError:
                raise CallError("malformed reply from the daemon") from None
            # A late reply to an earlier, timed-out call: skip it.
            if isinstance(reply, dict) and reply.get("id") == msg["id"]:
                return _check(reply)

    def close(self) -> None:
        self._sock.close(linger=0)
        self._ctx.term()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient:
    """Several calls may be in flight at once; replies are matched by id."""

    def __init__(self, endpoint: str, timeout: float = 5.0) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self._ctx = zmq.asyncio.Context()
        self._sock = self._ctx.socket(zmq.DEALER)
        self._sock.setsockopt(zmq.LINGER, 0)
        connect(self._sock, endpoint)
        self._pending: dict[str, Any] = {}
        self._reader: Any = None

    async def call(
        self, command: str, timeout: float | None = None, **props: Any
    ) -> dict[str, Any]:
        import asyncio

        if self._reader is None or self._reader.done():
            self._reader = asyncio.ensure_future(self._read())
        msg = protocol.make_request(command, **props)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[msg["id"]] = future
        try:
            await self._sock.send(protocol.encode(msg))
            reply = await asyncio.wait_for(future, self.timeout if timeout is None else timeout)
        except TimeoutError:
            raise CallError(f"timed out waiting for the daemon at {self.endpoint}") from None
        finally:
            self._pending.pop(msg["id"], None)
        return _check(reply)

    async def _read(self) -> None:
        while True:
            frame = await self._sock.recv()
            try:
                reply = json.loads(frame)
            except ValueError:
                continue
            future = self._pending.get(reply.get("id")) if isinstance(reply, dict) else None
            if future is not None and not future.done():
                future.set_result(reply)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        self._sock.close(linger=0)
        self._ctx.term()
