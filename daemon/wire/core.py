"""What the wire needs of the core, and nothing more: the command handlers, the status bodies
and the server reach the arbiter, its watchers and their processes through these Protocols,
so the handlers are tested against a small fake core (tests/daemon/test_handlers.py)."""

from __future__ import annotations

from collections.abc import Coroutine, Mapping
from pathlib import Path
from typing import Any, Protocol

from daemon.config import DaemonSettings
from daemon.events import ReloadChanges
from daemon.options import WatcherConfig
from daemon.output import Line
from daemon.sockets import ManagedSocket
from daemon.stats import History, ProcSample


class HealthView(Protocol):
    state: str
    status: str | None

    @property
    def last_probe(self) -> Any: ...


class ProcessView(Protocol):
    pid: int
    wid: int
    started: float
    health: HealthView | None

    @property
    def alive(self) -> bool: ...

    def send_signal(self, sig: int, children: bool = False, recursive: bool = False) -> None: ...


class OutputView(Protocol):
    seq: int

    def tail(
        self, count: int | None = None, since: int | None = None, pid: int | None = None
    ) -> list[Line]: ...

    def log_problem(self) -> str | None: ...

    def lost(self) -> int: ...

    def log_paths(self) -> dict[str, Path]: ...


class PolicyView(Protocol):
    failures: int


class WatcherView(Protocol):
    name: str
    config: WatcherConfig
    base_dir: Path | None
    state: str
    output: OutputView
    policy: PolicyView
    restarts: int
    last_exit: str | None
    reason: str | None
    retry_at: float | None
    started_at: float | None
    roll_progress: tuple[int, int] | None

    @property
    def processes(self) -> Mapping[int, ProcessView]: ...

    @property
    def waiting_for(self) -> str | None: ...

    @property
    def completed(self) -> int: ...

    def ready(self) -> int: ...

    @property
    def numprocesses(self) -> int: ...

    def live(self) -> list[Any]: ...

    def running(self) -> int: ...

    def pids(self) -> list[int]: ...

    async def start(self) -> bool: ...

    async def stop(self) -> bool: ...

    async def restart(self) -> None: ...

    async def reload(self, graceful: bool = True) -> None: ...

    async def extended_stats(self, pid: int, stats: dict[str, Any]) -> None: ...

    async def hooks_problem(self, hooks: Any) -> str | None: ...

    async def scale(self, target: int | None = None, delta: int = 0) -> int: ...

    async def reconfigure(self, config: WatcherConfig, graceful: bool = True) -> None: ...

    async def kill_process(
        self, pid: int, sig: int | None = None, graceful_timeout: float | None = None
    ) -> None: ...


class Core(Protocol):
    """The arbiter as the command handlers see it."""

    endpoint: str
    pubsub_endpoint: str
    stats_endpoint: str
    state_dir: Path
    settings: DaemonSettings
    instance: str

    @property
    def config_path(self) -> Path | None: ...

    def find(self, name: str) -> WatcherView | None: ...

    def get(self, name: str) -> WatcherView:
        """Raises daemon.errors.UnknownWatcher."""

    def all_watchers(self) -> list[WatcherView]:
        """In the order they were added."""

    def sorted_watchers(self) -> list[WatcherView]: ...

    def check_log_files(self, cfg: WatcherConfig) -> None: ...

    async def add_watcher(self, cfg: WatcherConfig, start: bool) -> Any: ...

    async def remove_watcher(self, name: str, nostop: bool = False) -> None: ...

    async def reload_config(self) -> ReloadChanges: ...

    async def reload_unattended(self) -> None: ...

    def request_quit(self) -> None: ...

    def spawn_task(self, coro: Coroutine[Any, Any, Any]) -> Any: ...

    def listening(self) -> list[ManagedSocket]: ...

    def last_sample(self, pid: int) -> ProcSample | None: ...

    def history(
        self, name: str | None = None, pid: int | None = None, since: float | None = None
    ) -> History: ...

    async def save_config(self) -> Path: ...
