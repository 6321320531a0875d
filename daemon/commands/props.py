"""Reading a request's properties: the checks of each value, and which watchers a request
names."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from typing import Any

from daemon import checks
from daemon.matching import PatternError, glob_matcher, regex_matcher
from daemon.protocol import BAD_MSG_DATA_ERROR, MESSAGE_ERROR, ProtocolError
from daemon.wire.core import Core, WatcherView

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


def _checked(props: dict[str, Any], key: str, rule: checks.Rule, default: Any = None) -> Any:
    """A property through the value rule that the same value meets in the file and in `set`."""
    value = props.get(key)
    if value is None:
        return default
    try:
        return rule(value)
    except ValueError as exc:
        raise ProtocolError(f"property {key!r}: {exc}", BAD_MSG_DATA_ERROR) from None


def _bool(props: dict[str, Any], key: str, default: bool = False) -> bool:
    return bool(_checked(props, key, checks.boolean, default))


def _int(
    props: dict[str, Any], key: str, default: int | None = None, low: int | None = None
) -> int | None:
    low = -MAX_INTEGER if low is None else low
    return _checked(props, key, checks.integer(low, MAX_INTEGER), default)


def _seconds(props: dict[str, Any], key: str, high: float) -> float | None:
    return _checked(props, key, checks.seconds(0, high))


def _watcher(core: Core, props: dict[str, Any]) -> WatcherView:
    return core.get(_str(props, "name", required=True) or "")


def _signal(value: Any) -> int:
    try:
        return checks.signal_number(value)
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
