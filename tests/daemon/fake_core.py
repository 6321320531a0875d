"""A small fake core for the command handlers: daemon.wire.core.Core's members, recording
what the handlers ask of it, with watchers and processes that never run anything."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from daemon.config import DaemonSettings
from daemon.errors import UnknownWatcher, WatcherExists
from daemon.events import ReloadChanges
from daemon.options import WatcherConfig, make_watcher_config
from daemon.output import OutputLog
from daemon.stats import History, ProcSample, Series


class FakeHealth:
    def __init__(self) -> None:
        self.state = "ready"
        self.status: str | None = None
        self.last_probe: Any = None


class FakeProcess:
    def __init__(self, pid: int, wid: int) -> None:
        self.pid = pid
        self.wid = wid
        self.started = 1000.0 + wid
        self.signals: list[tuple[int, bool, bool]] = []
        self.health: FakeHealth | None = FakeHealth()

    @property
    def alive(self) -> bool:
        return True

    def send_signal(self, sig: int, children: bool = False, recursive: bool = False) -> None:
        self.signals.append((sig, children, recursive))


class FakePolicy:
    failures = 0


class FakeWatcher:
    def __init__(self, name: str, pids: list[int] | None = None, **options: Any) -> None:
        self.config: WatcherConfig = make_watcher_config(name, {"cmd": "prog", **options})
        self.name = name
        self.base_dir = None
        self.state = "active"
        self.output = OutputLog(name, None)
        self.policy = FakePolicy()
        self.restarts = 0
        self.last_exit: str | None = None
        self.reason: str | None = None
        self.retry_at: float | None = None
        self.started_at: float | None = 1234.0
        self.processes: dict[int, FakeProcess] = {
            pid: FakeProcess(pid, wid) for wid, pid in enumerate(pids or [], 1)
        }
        self.calls: list[tuple[Any, ...]] = []
        self.roll_progress: tuple[int, int] | None = None
        self.waiting_for: str | None = None
        self.completed = 0

    @property
    def numprocesses(self) -> int:
        return self.config.numprocesses

    def ready(self) -> int:
        return sum(1 for p in self.processes.values() if p.health and p.health.state == "ready")

    def live(self) -> list[FakeProcess]:
        return list(self.processes.values())

    def running(self) -> int:
        return len(self.processes)

    def pids(self) -> list[int]:
        return sorted(self.processes)

    async def start(self) -> bool:
        self.calls.append(("start",))
        return True

    async def stop(self) -> bool:
        self.calls.append(("stop",))
        self.processes.clear()
        return True

    async def restart(self) -> None:
        self.calls.append(("restart",))
        self.processes = {
            pid + 100: FakeProcess(pid + 100, p.wid) for pid, p in self.processes.items()
        }

    async def reload(self, graceful: bool = True) -> None:
        self.calls.append(("reload", graceful))

    async def hooks_problem(self, hooks: Any) -> str | None:
        for name, hook in (hooks.hooks if hooks is not None else {}).items():
            if hook.target == "missing.hook":
                return f"hooks.{name}: cannot import missing"
        return None

    async def extended_stats(self, pid: int, stats: dict[str, Any]) -> None:
        self.calls.append(("extended_stats", pid))
        stats["extended"] = True

    async def scale(self, target: int | None = None, delta: int = 0) -> int:
        self.calls.append(("scale", target, delta))
        n = self.numprocesses + delta if target is None else target
        self.config = self.config.with_options({"numprocesses": n})
        return n

    async def reconfigure(self, config: WatcherConfig, graceful: bool = True) -> None:
        self.calls.append(("reconfigure", config))
        self.config = config

    async def kill_process(
        self, pid: int, sig: int | None = None, graceful_timeout: float | None = None
    ) -> None:
        self.calls.append(("kill", pid, sig, graceful_timeout))


class FakeSocket:
    """Enough of daemon.sockets.ManagedSocket for `listsockets`."""

    def __init__(self, name: str, fd: int, path: Path | None = None) -> None:
        self.name = name
        self.fd = fd
        self.path = path
        self.config = type("Cfg", (), {"backlog": 128})()

    def bound(self) -> tuple[str, int]:
        return "127.0.0.1", 8080


class FakeCore:
    endpoint = "ipc:///tmp/x/control"
    pubsub_endpoint = "ipc:///tmp/x/pubsub"
    stats_endpoint = "ipc:///tmp/x/stats"
    state_dir = Path("/tmp/x")
    instance = "abc123"

    def __init__(self, *watchers: FakeWatcher) -> None:
        self.settings = DaemonSettings()
        self.watchers = {w.name.lower(): w for w in watchers}
        self.sockets: list[Any] = []
        self.samples: dict[int, ProcSample] = {}
        self.path: Path | None = Path("/etc/circus.toml")
        self.calls: list[tuple[Any, ...]] = []
        self.tasks: list[asyncio.Task[Any]] = []
        self.log_error: Exception | None = None
        self.refusal: Exception | None = None

    @property
    def config_path(self) -> Path | None:
        return self.path

    def find(self, name: str) -> FakeWatcher | None:
        return self.watchers.get(name.lower())

    def get(self, name: str) -> FakeWatcher:
        found = self.find(name)
        if found is None:
            raise UnknownWatcher(name)
        return found

    def all_watchers(self) -> list[FakeWatcher]:
        return list(self.watchers.values())

    def sorted_watchers(self) -> list[FakeWatcher]:
        return sorted(self.watchers.values(), key=lambda w: w.name.lower())

    def check_log_files(self, cfg: WatcherConfig) -> None:
        self.calls.append(("check_log_files", cfg.name))
        if self.log_error is not None:
            raise self.log_error

    async def add_watcher(self, cfg: WatcherConfig, start: bool) -> FakeWatcher:
        if cfg.name.lower() in self.watchers:
            raise WatcherExists(cfg.name)
        watcher = FakeWatcher(cfg.name)
        watcher.config = cfg
        self.watchers[cfg.name.lower()] = watcher
        self.calls.append(("add", cfg.name, start))
        return watcher

    async def remove_watcher(self, name: str, nostop: bool = False) -> None:
        del self.watchers[name.lower()]
        self.calls.append(("rm", name, nostop))

    async def reload_config(self) -> ReloadChanges:
        if self.refusal is not None:
            raise self.refusal
        return ReloadChanges(added=["new"])

    async def reload_unattended(self) -> None:
        self.calls.append(("reload_unattended",))

    def request_quit(self) -> None:
        self.calls.append(("quit",))

    def spawn_task(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self.tasks.append(task)
        return task

    def listening(self) -> list[Any]:
        return self.sockets

    def last_sample(self, pid: int) -> ProcSample | None:
        return self.samples.get(pid)

    def history(
        self, name: str | None = None, pid: int | None = None, since: float | None = None
    ) -> History:
        self.calls.append(("history", name, pid, since))
        series = Series([1.5], [2.25], [0.5], [4096])
        return History(1.0, {name or "all": series}, {pid: series} if pid else {})

    async def save_config(self) -> Path:
        if self.refusal is not None:
            raise self.refusal
        assert self.path is not None
        return self.path
