"""The view model's records: a watcher, its processes and its recent events, as the screens
show them (tui.store fills them; tui.cells words them)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

HISTORY_POINTS = 600  # ten minutes at one sample a second
EVENTS_KEPT = 200


@dataclass
class ProcessView:
    pid: int
    wid: int | None = None
    cpu: float = 0.0
    mem: float = 0.0
    rss: int = 0
    started: float | None = None
    state: str = "running"


@dataclass(frozen=True)
class ProbeView:
    """A probe's last result: whether it passed, what it said, when."""

    ok: bool
    detail: str
    time: float
    probe: str | None = None  # "ready" or "alive", when an event said which


@dataclass
class HealthView:
    """One process's readiness as the daemon reports it (status details, events)."""

    health: str  # starting, ready or unhealthy
    status: str | None = None  # the last STATUS= text it sent over notify
    probe: ProbeView | None = None


@dataclass(frozen=True)
class RollView:
    """A rolling reload in progress."""

    replaced: int
    total: int


@dataclass(frozen=True)
class EventView:
    time: float
    kind: str  # spawn, reap, kill, start, stop, backoff, failed, ...
    text: str


@dataclass
class WatcherView:
    name: str
    state: str = "unknown"
    running: int = 0
    target: int = 0
    cpu: float = 0.0  # whole trees, percent of one core
    mem: float = 0.0  # percent of RAM
    rss: int = 0
    restarts: int = 0
    started_at: float | None = None
    reason: str | None = None
    last_exit: str | None = None
    retry_at: float | None = None
    log_error: str | None = None  # why its output is not written to its log file now
    # The daemon's last output sequence number at the last two heartbeats (our daemon only).
    output_seq: int | None = None
    output_seq_before: int | None = None
    cpu_history: deque[float] = field(default_factory=lambda: deque(maxlen=HISTORY_POINTS))
    mem_history: deque[float] = field(default_factory=lambda: deque(maxlen=HISTORY_POINTS))
    processes: dict[int, ProcessView] = field(default_factory=dict)
    last_exit_by_wid: dict[int, str] = field(default_factory=dict)
    events: deque[EventView] = field(default_factory=lambda: deque(maxlen=EVENTS_KEPT))
    options: dict[str, Any] = field(default_factory=dict)
    # Readiness (our daemon only; None or empty from one that does not report it).
    ready: int | None = None  # processes ready now
    completed: int = 0  # processes that ended for good with a success code
    waiting_for: str | None = None  # what a `waiting` watcher waits for
    depends_on: dict[str, str] = field(default_factory=dict)  # name -> condition
    health: dict[int, HealthView] = field(default_factory=dict)  # by pid
    roll: RollView | None = None
    # Its processes' readiness is worth showing: the daemon reported a process starting or
    # unhealthy, a probe result or a STATUS= text. Once set, it stays.
    probed: bool = False
    # Why and when a process last failed its liveness probe.
    unhealthy: tuple[str, float] | None = None

    def uptime(self, now: float) -> float | None:
        """Seconds since it started, while it runs."""
        return (now - self.started_at) if self.started_at and self.running else None
