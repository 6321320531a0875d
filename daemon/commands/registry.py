"""The command registry: each handler registers under its Circus name with `@command`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from daemon.wire.core import Core

Handler = Callable[[Core, dict[str, Any]], Awaitable[dict[str, Any] | list[Any] | None]]
COMMANDS: dict[str, Handler] = {}


def command(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        COMMANDS[name] = fn
        return fn

    return register
