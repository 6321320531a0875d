"""Reading a request's properties: the checks of each value, and which watchers a request
names."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Coroutine
from typing import Any

from daemon.matching import PatternError, glob_matcher, regex_matcher
from daemon.options import parse_signal
from daemon.protocol import BAD_MSG_DATA_ERROR, MESSAGE_ERROR, ProtocolError
from daemon.wire.core import Core, WatcherView

_INTEGER = re.compile(r"-?0*([0-9]+)", re.ASCII)
MAX_INTEGER = 1_000_000_000

# Seconds of name matching after which other commands get their turn.
MATCH_SLICE = 0.01


def _require(props: dict[str, Any], key: str) -> Any:
    if key not in props or props[key] is None:
        raise ProtocolError(f"message invalid: missing property {key!r}", MESSAGE_ERROR)
    return props[key]


def _str(props: dict[str, Any], key: str, required: bool = False) -> str | None:
    value = _require(props, key) if required else props.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ProtocolError(f"property {key!r} must be a string", BAD_MSG_DATA_ERROR)
    return value


def _bool(props: dict[str, Any], key: str, default: bool = False) -> bool:
    value = props.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ProtocolError(f"property {key!r} must be true or false", BAD_MSG_DATA_ERROR)


def _int(
    props: dict[str, Any], key: str, default: int | None = None, low: int | None = None
) -> int | None:
    value = props.get(key, default)
    if value is None:
        return default
    if isinstance(value, str):
        # ASCII digits only: int() also takes "٣" and "1_0", and raises on "²" (a digit to
        # str.isdigit) or past 4300 digits.
        text = _INTEGER.fullmatch(value.strip())
        if text is None:
            raise ProtocolError(f"property {key!r} must be an integer", BAD_MSG_DATA_ERROR)
        sign = -1 if text[0][0] == "-" else 1
        value = sign * int(text[1]) if len(text[1]) <= 10 else sign * (MAX_INTEGER + 1)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError(f"property {key!r} must be an integer", BAD_MSG_DATA_ERROR)
    if low is not None and value < low:
        raise ProtocolError(f"property {key!r} must be at least {low}", BAD_MSG_DATA_ERROR)
    if abs(value) > MAX_INTEGER:
        raise ProtocolError(f"property {key!r} is too large", BAD_MSG_DATA_ERROR)
    return value


def _seconds(props: dict[str, Any], key: str, high: float) -> float | None:
    """A number of seconds from 0 to `high`; NaN, infinities and strings are bad data."""
    value = props.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= high:
        raise ProtocolError(
            f"property {key!r} must be a number from 0 to {high:g}", BAD_MSG_DATA_ERROR
        )
    return float(value)


def _watcher(core: Core, props: dict[str, Any]) -> WatcherView:
    return core.get(_str(props, "name", required=True) or "")


def _signal(value: Any) -> int:
    try:
        return parse_signal(value)
    except ValueError:
        raise ProtocolError("signal invalid", MESSAGE_ERROR) from None


async def _maybe_wait(core: Core, props: dict[str, Any], work: Coroutine[Any, Any, Any]) -> Any:
    """`waiting`: false replies at once and lets the work carry on."""
    if _bool(props, "waiting"):
        return await work
    core.spawn_task(work)
    return None


async def _matching(core: Core, props: dict[str, Any]) -> list[WatcherView]:
    name = _str(props, "name")
    if name is None:
        return core.all_watchers()
    match = _str(props, "match") or "glob"
    if match == "simple":
        return [core.get(name)]
    if match not in ("glob", "regex"):
        raise ProtocolError(f"unknown match method {match}", MESSAGE_ERROR)
    try:
        matches = glob_matcher(name) if match == "glob" else regex_matcher(name)
    except PatternError as exc:
        raise ProtocolError(f"bad {match}: {exc}", MESSAGE_ERROR) from None
    found = []
    slice_started = time.monotonic()
    for watcher in core.all_watchers():
        if matches(watcher.name):
            found.append(watcher)
        if time.monotonic() - slice_started > MATCH_SLICE:
            # A regex costs up to some milliseconds per name: a long list of watchers must not
            # hold up every other command meanwhile.
            await asyncio.sleep(0)
            slice_started = time.monotonic()
    found = [w for w in found if core.find(w.name) is w]
    if not found:
        raise ProtocolError(f"program {name} not found", MESSAGE_ERROR)
    return found
