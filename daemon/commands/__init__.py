"""One handler per control command, with Circus 0.19's property names, reply keys and errno
values. A handler checks the properties (props.py), calls the core (daemon.wire.core.Core) and
shapes the reply: it returns the reply's extra keys, or raises ProtocolError. `run` dispatches,
and gives the core's refusals (daemon.errors) Circus's errno.

watchers.py: the commands that change watchers and processes; queries.py: those that only
read; extensions.py: ours, which Circus's tools never send."""

from __future__ import annotations

from typing import Any

from daemon.commands import extensions, queries, watchers
from daemon.commands.registry import COMMANDS, Handler, command
from daemon.errors import Refused, SystemRefused, UnknownWatcher
from daemon.protocol import COMMAND_ERROR, MESSAGE_ERROR, OS_ERROR, UNKNOWN_COMMAND, ProtocolError
from daemon.wire.core import Core

__all__ = ["COMMANDS", "Handler", "command", "extensions", "queries", "run", "watchers"]


async def run(core: Core, name: str, props: dict[str, Any]) -> dict[str, Any] | list[Any] | None:
    """The reply's extra keys for command `name`, or ProtocolError with Circus's errno."""
    handler = COMMANDS.get(name.lower())
    if handler is None:
        raise ProtocolError(f'unknown command: "{name}"', UNKNOWN_COMMAND)
    try:
        return await handler(core, props)
    except UnknownWatcher as exc:
        raise ProtocolError(exc.reason, MESSAGE_ERROR) from None
    except SystemRefused as exc:
        raise ProtocolError(exc.reason, OS_ERROR) from None
    except Refused as exc:
        raise ProtocolError(exc.reason, COMMAND_ERROR) from None
