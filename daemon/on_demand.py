"""Watchers started by their first connection (Circus's `on_demand`): while such a watcher is
stopped (or completed, or failed), the daemon watches its listening sockets, and the first
connection (or datagram) starts it. The connection waits in the socket's backlog until a
process accepts it, so none is lost; after each stop the watcher waits for the next one.

A watcher's sockets are those its command names (`$(circus.sockets.NAME)`), or every socket
when it names none (use_sockets passes them all)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from typing import Protocol

from daemon import events
from daemon.options import WatcherConfig
from daemon.substitute import variables


class Armed(Protocol):
    name: str
    config: WatcherConfig
    reason: str | None


def socket_names(cfg: WatcherConfig, sockets: Mapping[str, int]) -> list[str]:
    """The sockets whose first connection starts `cfg`'s watcher."""
    named = {v.socket.lower() for text in (cfg.cmd, *cfg.args) for v in variables(text) if v.socket}
    chosen = [n for n in sockets if n.lower() in named]
    return chosen or list(sockets)


class Activation:
    def __init__(
        self,
        sockets: Mapping[str, int],
        find: Callable[[str], Armed | None],
        start: Callable[[str], None],
    ) -> None:
        self.sockets = sockets
        self.find = find
        self.start = start
        self.closed = False
        self._by_fd: dict[int, set[str]] = {}
        self._armed: dict[str, tuple[Armed, list[int]]] = {}

    def seen(self, event: events.Event) -> None:
        """Follows the watchers' events: a start ends the wait, a stop begins the next."""
        if isinstance(event, events.Started):
            self.disarm(event.watcher)
        elif (
            isinstance(event, events.Stopped | events.Completed | events.Failed) and not self.closed
        ):
            watcher = self.find(event.watcher)
            if watcher is not None and watcher.config.on_demand:
                self.arm(watcher)

    def close(self) -> None:
        """The daemon is quitting: no stop arms a watcher any more."""
        self.closed = True
        for name in list(self._armed):
            self.disarm(name)

    def is_armed(self, name: str) -> bool:
        return name.lower() in self._armed

    def arm(self, watcher: Armed) -> None:
        key = watcher.name.lower()
        if key in self._armed:
            return
        names = socket_names(watcher.config, self.sockets)
        fds = [self.sockets[n] for n in names]
        if not fds:
            watcher.reason = "on demand, but there is no socket to wait on"
            return
        loop = asyncio.get_running_loop()
        for fd in fds:
            waiting = self._by_fd.setdefault(fd, set())
            if not waiting:
                loop.add_reader(fd, self._fired, fd)
            waiting.add(key)
        self._armed[key] = (watcher, fds)
        waits = "on demand: starts at the first connection on " + ", ".join(names)
        # A failure stays in view: the next connection tries again, as under circusd.
        watcher.reason = f"{watcher.reason}; {waits}" if watcher.reason else waits

    def disarm(self, name: str) -> None:
        entry = self._armed.pop(name.lower(), None)
        if entry is None:
            return
        watcher, fds = entry
        if watcher.reason is not None and "on demand: " in watcher.reason:
            watcher.reason = None
        for fd in fds:
            waiting = self._by_fd.get(fd)
            if waiting is None:
                continue
            waiting.discard(name.lower())
            if not waiting:
                del self._by_fd[fd]
                with contextlib.suppress(Exception):
                    asyncio.get_running_loop().remove_reader(fd)

    def _fired(self, fd: int) -> None:
        # Once per stop: the connection stays pending until a process accepts it, so the
        # reader would fire on every turn of the loop meanwhile.
        for key in list(self._by_fd.get(fd, ())):
            watcher, _fds = self._armed[key]
            self.disarm(key)
            self.start(watcher.name)
