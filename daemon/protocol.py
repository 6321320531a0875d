"""Message shapes of Circus 0.19's wire protocol and our extensions.

Standard library only: the console, `ctl` and the daemon all share it.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

# errno values, as Circus numbers them (circus/commands/errors.py).
NOT_SPECIFIED = 0
INVALID_JSON = 1
UNKNOWN_COMMAND = 2
MESSAGE_ERROR = 3
OS_ERROR = 4
COMMAND_ERROR = 5
BAD_MSG_DATA_ERROR = 6

# A control frame larger than this is refused unread: nothing legitimate comes close.
MAX_FRAME_BYTES = 1024 * 1024
# Requests nest three or four levels (properties, options, env). Far deeper, the JSON parser
# still reads what the encoder then cannot write back (an `id` is echoed), at a depth that
# depends on the stack: one fixed limit instead.
MAX_DEPTH = 32

EVENT_PREFIX = "watcher."
STAT_PREFIX = "stat."
OUTPUT_PREFIX = "output."


class ProtocolError(Exception):
    """A request the daemon refuses; carries the errno Circus would use."""

    def __init__(self, reason: str, errno: int = MESSAGE_ERROR, msg_id: Any = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.errno = errno
        # The request's id when it could be read: the error reply carries it, so that a
        # client (CircusClient) matches the reply instead of waiting out its timeout.
        self.msg_id = msg_id


def new_id() -> str:
    return uuid.uuid4().hex


def make_request(command: str, cast: bool = False, **properties: Any) -> dict[str, Any]:
    msg: dict[str, Any] = {"id": new_id(), "command": command, "properties": properties}
    if cast:
        msg["msg_type"] = "cast"
    return msg


def encode(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), default=_json_default).encode()


def _json_default(value: Any) -> Any:
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def decode_request(frame: bytes) -> dict[str, Any]:
    """Parse one control frame; raise ProtocolError with Circus's errno when it is not usable."""
    if len(frame) > MAX_FRAME_BYTES:
        raise ProtocolError(f"message too large ({len(frame)} bytes)", BAD_MSG_DATA_ERROR)
    try:
        text = frame.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("message is not UTF-8", INVALID_JSON) from None
    try:
        msg = json.loads(text)
    except (ValueError, RecursionError):
        raise ProtocolError("json invalid", INVALID_JSON) from None
    if not isinstance(msg, dict):
        raise ProtocolError("message is not a JSON object", INVALID_JSON)
    if _deeper_than(msg, MAX_DEPTH):
        raise ProtocolError(f"json nested too deeply (more than {MAX_DEPTH} levels)", INVALID_JSON)
    msg_id = msg.get("id")
    command = msg.get("command")
    if not isinstance(command, str) or not command:
        raise ProtocolError("error: empty command", MESSAGE_ERROR, msg_id)
    props = msg.get("properties", {})
    if props is None:
        props = {}
    if not isinstance(props, dict):
        raise ProtocolError("properties must be an object", MESSAGE_ERROR, msg_id)
    msg["properties"] = props
    return msg


def _deeper_than(value: Any, limit: int) -> bool:
    # Iterative: a recursive walk would meet the very recursion limit this guards against.
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


def ok_reply(msg_id: Any, result: dict[str, Any] | list[Any] | None = None) -> dict[str, Any]:
    if isinstance(result, list):
        result = {"results": result}
    reply: dict[str, Any] = {"status": "ok", "time": time.time()}
    if result:
        reply.update(result)
    reply["id"] = msg_id
    return reply


def error_reply(msg_id: Any, reason: str, errno: int = NOT_SPECIFIED) -> dict[str, Any]:
    return {
        "id": msg_id,
        "status": "error",
        "reason": reason,
        "tb": None,
        "time": time.time(),
        "errno": errno,
    }


def topic_name(name: str) -> str:
    """Circus's spelling of a watcher name inside a topic."""
    return name.lower().replace(" ", "_")


def event_topic(watcher: str, event: str) -> bytes:
    return f"{EVENT_PREFIX}{topic_name(watcher)}.{event}".encode()


def stat_topic(watcher: str, pid: int | None = None) -> bytes:
    if pid is None:
        return f"{STAT_PREFIX}{watcher}".encode()
    return f"{STAT_PREFIX}{watcher}.{pid}".encode()


def output_topic(watcher: str) -> bytes:
    # Trailing dot: SUB matches by prefix, so "output.web." must not match "output.web2.".
    return f"{OUTPUT_PREFIX}{topic_name(watcher)}.".encode()


def parse_topic(topic: bytes) -> list[str]:
    return topic.decode("utf-8", "replace").split(".")
