"""What happened to a watcher, as the core says it: one frozen dataclass per kind of event.
The core hands these to its Outlet; how an event is named and shaped on a wire (Circus's
topics and bodies) is daemon.wire.events' business, not the core's."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Event:
    watcher: str


@dataclass(frozen=True, slots=True)
class Added(Event):
    """A watcher was added (from the file, or by `add`)."""


@dataclass(frozen=True, slots=True)
class Removed(Event):
    """A watcher was removed."""


@dataclass(frozen=True, slots=True)
class Started(Event):
    """A watcher is starting its processes."""


@dataclass(frozen=True, slots=True)
class Stopped(Event):
    """A watcher's processes were all stopped."""


@dataclass(frozen=True, slots=True)
class Updated(Event):
    """A watcher's configuration changed while it ran (`set`, a reload)."""


@dataclass(frozen=True, slots=True)
class Reloaded(Event):
    """A watcher's processes were replaced (`reload`)."""


@dataclass(frozen=True, slots=True)
class Spawned(Event):
    pid: int
    wid: int


@dataclass(frozen=True, slots=True)
class Stopping(Event):
    """The daemon is stopping one process (it sent the stop signal)."""

    pid: int


@dataclass(frozen=True, slots=True)
class Reaped(Event):
    pid: int
    wid: int
    exit_code: int | None
    reason: str
    # Why it ended: "exit" or "signal" by itself, "stopped" by the daemon, or replaced by the
    # daemon because it was not ready in time ("start_timeout") or stopped being alive
    # ("unready").
    cause: str = "exit"


@dataclass(frozen=True, slots=True)
class Ready(Event):
    """A process's readiness probe passed, `after` seconds from its spawn."""

    pid: int
    wid: int
    after: float


@dataclass(frozen=True, slots=True)
class Unready(Event):
    """The daemon gave up on a process (never ready, or no longer alive) and replaces it."""

    pid: int
    wid: int
    reason: str


@dataclass(frozen=True, slots=True)
class ProbeFailed(Event):
    pid: int
    wid: int
    probe: str  # "ready" | "alive"
    detail: str
    failures: int  # in a row


@dataclass(frozen=True, slots=True)
class Waiting(Event):
    """The watcher waits for its dependencies; `reason` says for what."""

    reason: str


@dataclass(frozen=True, slots=True)
class Rolling(Event):
    """A rolling reload's progress: "started", "progress", "done" or "aborted"."""

    phase: str
    replaced: int
    total: int
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class LimitExceeded(Event):
    """A process tree went over max_memory or max_cpu (`limit`), and is replaced."""

    pid: int
    wid: int
    limit: str
    reason: str


@dataclass(frozen=True, slots=True)
class HookSucceeded(Event):
    """A hook (daemon.hooks) ran and answered, yes or no."""

    name: str


@dataclass(frozen=True, slots=True)
class HookFailed(Event):
    """A hook raised, exited with a failure, timed out or could not be run."""

    name: str
    error: str


@dataclass(frozen=True, slots=True)
class StatusText(Event):
    """A process said STATUS=… on the notify socket."""

    pid: int
    status: str


@dataclass(frozen=True, slots=True)
class BackingOff(Event):
    """The next start waits `delay` seconds, after an exit or a refused spawn."""

    delay: float
    retry_at: float
    failures: int
    reason: str
    exit_code: int | None


@dataclass(frozen=True, slots=True)
class Failed(Event):
    """The watcher gave up (too many quick deaths, a program that cannot start)."""

    reason: str
    last_exit: str | None


@dataclass(frozen=True, slots=True)
class Completed(Event):
    """Every process ended for good with a success code (restart = on-failure or never)."""


@dataclass(frozen=True, slots=True)
class LogError(Event):
    """A watcher's log file stopped being written (a full disk, say)."""

    path: str
    lost: int
    reason: str


@dataclass(frozen=True, slots=True)
class LogResumed(Event):
    path: str
    lost: int


@dataclass(slots=True)
class ReloadChanges:
    """What a reload of the file did, by kind; `ignored` says what only a restart applies,
    `failed` which changed watchers could not roll to their new configuration (and why)."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
