"""What the core refuses, in its own terms; the wire (daemon.commands) gives each Circus's
errno."""

from __future__ import annotations


class Refused(Exception):
    """A request the core cannot carry out; the message says why, for whoever asked."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnknownWatcher(Refused, LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"program {name} not found")
        self.name = name


class WatcherExists(Refused):
    def __init__(self, name: str) -> None:
        super().__init__(f"watcher {name} already exists")


class SystemRefused(Refused):
    """Refused because of the system (a socket that cannot be bound), not the request."""
