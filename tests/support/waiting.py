"""Waiting on a condition with a deadline, never a fixed sleep."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any


def _poll_once(predicate: Callable[[], Any], deadline: float, failure: str) -> Any:
    """The predicate's value if it is truthy, None if not yet; fail past the deadline."""
    value = predicate()
    if value:
        return value
    if time.monotonic() > deadline:
        raise AssertionError(failure)
    return None


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll `predicate` until it returns something truthy; fail the test at the deadline."""
    deadline = time.monotonic() + timeout
    failure = f"condition not met within {timeout} s: {predicate}"
    while not (value := _poll_once(predicate, deadline, failure)):
        time.sleep(interval)
    return value


async def until(pilot: Any, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    """`wait_for` inside a Textual pilot test: the app runs while `predicate` is polled."""
    deadline = time.monotonic() + timeout
    failure = f"not true within {timeout} s: {predicate}"
    while not (value := _poll_once(predicate, deadline, failure)):
        await pilot.pause(0.05)
    return value


async def eventually(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    """`wait_for` inside an asyncio test of the core: the event loop runs while `predicate`
    is polled."""
    deadline = time.monotonic() + timeout
    failure = f"not true within {timeout} s: {predicate}"
    while not (value := _poll_once(predicate, deadline, failure)):
        await asyncio.sleep(0.02)
    return value
