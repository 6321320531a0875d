"""The daemon's core in the test's own event loop: a real arbiter and real processes, with a
recording Outlet instead of the ZeroMQ server, so tests of the core read its typed events."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TypeVar

from daemon import events
from daemon.arbiter import Arbiter
from daemon.config import load_config
from daemon.outlet import NullOutlet
from tests.support.configs import write_config
from tests.support.waiting import eventually

E = TypeVar("E", bound=events.Event)


class Recorder(NullOutlet):
    def __init__(self) -> None:
        self.events: list[events.Event] = []

    def event(self, event: events.Event) -> None:
        self.events.append(event)

    def of(self, kind: type[E], watcher: str | None = None) -> list[E]:
        return [
            e
            for e in self.events
            if isinstance(e, kind) and (watcher is None or e.watcher == watcher)
        ]


@contextlib.asynccontextmanager
async def running_core(
    directory: Path, body: str, circus_extra: str = ""
) -> AsyncIterator[tuple[Arbiter, Recorder]]:
    """An arbiter of the configuration `body` (and `circus_extra` in its [circus] table),
    started; quit (every process stopped) after."""
    path, _ = write_config(directory, body, circus_extra)
    arbiter = Arbiter(load_config(path))
    recorder = Recorder()
    arbiter.outlet = recorder
    arbiter.prepare()
    run = asyncio.ensure_future(arbiter.run())
    try:
        await eventually(lambda: len(arbiter.watchers) == len(arbiter.config.watchers))
        yield arbiter, recorder
    finally:
        arbiter.request_quit()
        await run
