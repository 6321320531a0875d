"""What the core tells the world, and when it lets the world in: the arbiter calls an Outlet
(the ZeroMQ server, daemon.server) and never knows how events, stats and output travel. The
NullOutlet lets the core run with no wire at all (tests of the core)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from daemon.events import Event
from daemon.output import Line
from daemon.stats import Tick

OutputListener = Callable[[list[Line]], None]


class Outlet(Protocol):
    def bind(self) -> None:
        """Take the endpoints; called while the daemon prepares, before any program starts."""

    async def serve(self) -> None:
        """Answer clients until cancelled."""

    def quiet(self) -> None:
        """The daemon is shutting down: stop listening to subscribers."""

    def event(self, event: Event) -> None: ...

    def output_listener(self, watcher: str) -> OutputListener | None: ...

    def tick(self, tick: Tick) -> None:
        """A stats tick was sampled."""

    def close(self) -> None: ...


class NullOutlet:
    def bind(self) -> None:
        pass

    async def serve(self) -> None:
        pass

    def quiet(self) -> None:
        pass

    def event(self, event: Event) -> None:
        pass

    def output_listener(self, watcher: str) -> OutputListener | None:
        return None

    def tick(self, tick: Tick) -> None:
        pass

    def close(self) -> None:
        pass
