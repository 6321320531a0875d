"""The arbiter: owns the watchers, the endpoints and the state directory; runs the main loop,
the stats ticker and the daemon's own signal handling."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
import uuid
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from daemon import events, fdlimit, procfs
from daemon.config import Config, ConfigError, save_config
from daemon.dependencies import Blocker, dependency_order, unmet
from daemon.endpoints import check_endpoint
from daemon.errors import Refused, SystemRefused, UnknownWatcher, WatcherExists
from daemon.hooks import ArbiterView
from daemon.logfile import LogFile
from daemon.logfiles import LogPlaces
from daemon.notify import Notifier
from daemon.notify_socket import NotifySocket
from daemon.on_demand import Activation
from daemon.options import WatcherConfig
from daemon.outlet import NullOutlet, Outlet
from daemon.output import OutputLog
from daemon.paths import default_endpoints, default_state_dir
from daemon.plugins import plugin_watchers
from daemon.reaper import Reaper
from daemon.reload import reread_config
from daemon.sampling import Sampling
from daemon.sockets import ManagedSocket, bind_all
from daemon.statedir import StateDir
from daemon.stats import StatsSampler, Tick
from daemon.watcher import ACTIVE, WAITING, Watcher

log = logging.getLogger("circus-tui")

QUIT_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)


class Arbiter(Sampling):
    def __init__(
        self, config: Config, *, subreaper: bool = False, notifier: Notifier | None = None
    ) -> None:
        self.config = config
        self.notifier = notifier or Notifier({})
        self.settings = config.settings
        self.instance = uuid.uuid4().hex[:12]
        self.subreaper = subreaper
        defaults = default_endpoints()
        self.endpoint = self.settings.endpoint or defaults["endpoint"]
        self.pubsub_endpoint = self.settings.pubsub_endpoint or defaults["pubsub_endpoint"]
        self.stats_endpoint = self.settings.stats_endpoint or defaults["stats_endpoint"]
        for key in ("endpoint", "pubsub_endpoint", "stats_endpoint"):
            check_endpoint(key, getattr(self, key))
        self.base_dir = config.path.parent.resolve() if config.path else Path.cwd()
        # A relative state_dir is relative to the file, like every other path in it.
        self.state_dir = self.base_dir / Path(self.settings.state_dir or default_state_dir())
        self.watchers: dict[str, Watcher] = {}  # keyed by lower-cased name
        self.started = time.time()
        self.sampler = StatsSampler(
            interval=self.settings.stats_interval, history_seconds=self.settings.history_seconds
        )
        self.last_tick: Tick | None = None
        self._quit = asyncio.Event()
        self._release_soon: asyncio.Handle | None = None
        # Where processes that speak systemd's notify protocol send to, once it is open.
        self.notify = NotifySocket(self.state_dir / "notify.sock", self._notified)
        self.notify_path: str | None = None
        # How events, output and stats leave, and how commands come in (daemon.server).
        self.outlet: Outlet = NullOutlet()
        self.statedir = StateDir(self.state_dir)
        self.log_places = LogPlaces(self.base_dir, self.state_dir)
        self.reaper = Reaper(
            lambda: [p for w in self.watchers.values() for p in w.processes.values()]
        )
        self._tasks: set[asyncio.Task[Any]] = set()
        self.sockets: dict[str, ManagedSocket] = {}
        # name -> fd, shared with every watcher so that sockets bound by a reload reach them.
        self.socket_fds: dict[str, int] = {}
        self.activation = Activation(self.socket_fds, self.find, self._start_on_demand)

    # -- lifecycle ----------------------------------------------------------------------

    def prepare(self) -> None:
        """Everything that can fail before any program starts: state dir, lock, sockets,
        endpoints. On failure nothing is left behind."""
        try:
            self._prepare()
        except BaseException:
            self._release()
            raise

    def _prepare(self) -> None:
        self._raise_fd_limit()
        self.statedir.take()
        self._check_log_paths()
        self.statedir.end_leftovers()
        # Every socket is bound before any program starts, so a program never races its port.
        self.sockets = bind_all(self.config.sockets, self.base_dir)
        self.socket_fds.update({name: s.fd for name, s in self.sockets.items()})
        self.statedir.record(self.instance, self.started)
        self.outlet.bind()
        if self.subreaper:
            self.reaper.become_subreaper()
            self.reaper.start_guardian(self.instance)

    def _raise_fd_limit(self) -> None:
        before, after = fdlimit.raise_soft_limit()
        budget = fdlimit.budget
        budget.configure()
        if after > before:
            log.info(
                "raised the soft limit on open files from %d to %d (the hard limit)", before, after
            )
        # Low enough to matter (a hard limit of 1024, say): say what it allows.
        level = logging.WARNING if after < 4096 else logging.DEBUG
        log.log(
            level,
            "open files limited to %d: at most %d client connections, and about %d processes",
            after,
            budget.connection_share,
            max(0, (after - budget.reserve - budget.client_floor) // fdlimit.PROCESS_FDS),
        )

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        # SIGQUIT as circusd takes it: a graceful quit, not a core dump that leaves sockets.
        for sig in QUIT_SIGNALS:
            loop.add_signal_handler(sig, self.request_quit)
        loop.add_signal_handler(signal.SIGHUP, lambda: self.spawn_task(self.reload_unattended()))
        loop.add_signal_handler(signal.SIGUSR1, self.reopen_logs)
        if self.subreaper:
            loop.add_signal_handler(signal.SIGCHLD, self.reaper.schedule_orphan_scan)
        # A thousand children exiting together overflow asyncio's wakeup pipe; one pending
        # byte already wakes the loop, so the overflow is harmless and must not spam the log.
        wakeup = signal.set_wakeup_fd(-1)
        if wakeup != -1:
            signal.set_wakeup_fd(wakeup, warn_on_full_buffer=False)
        self._open_notify()
        serve = asyncio.ensure_future(self.outlet.serve())
        stats = asyncio.ensure_future(self._stats_loop())
        watchdog = asyncio.ensure_future(self._watchdog_loop())
        # Starting runs beside the quit wait: a SIGTERM during a long warmup still quits now.
        starting = self.spawn_task(self._start_all())
        try:
            await self._quit.wait()
        finally:
            starting.cancel()
            self.outlet.quiet()
            await self.shutdown()
            serve.cancel()
            stats.cancel()
            watchdog.cancel()
            self.notifier.close()
            self.notify.close()
            for sig in (*QUIT_SIGNALS, signal.SIGHUP, signal.SIGUSR1):
                loop.remove_signal_handler(sig)
            if self.subreaper:
                loop.remove_signal_handler(signal.SIGCHLD)

    async def _start_all(self) -> None:
        # Dependencies first (priority breaks ties); one whose conditions do not hold yet
        # waits, and is started when they do (_release_waiting).
        levels = dependency_order(self.wanted_watchers(self.config).values())
        watchers = [self._make_watcher(cfg) for level in levels for cfg in level]
        started = 0
        for watcher in watchers:
            if watcher.config.autostart:
                if started and self.settings.warmup_delay:
                    # Circus's [circus] warmup_delay, between watchers; commands are answered
                    # meanwhile.
                    await asyncio.sleep(self.settings.warmup_delay)
                await self._start_or_arm(watcher)
                started += 1
        # Sockets were bound before any program started; now every program has been too.
        self.notifier.ready(self.status_line())

    def _open_notify(self) -> None:
        try:
            self.notify.open()
        except OSError as exc:
            # Only watchers with notify readiness need it; they are told why they never are.
            log.error("cannot open the notify socket: %s", exc.strerror or exc)
            return
        self.notify_path = str(self.notify.path)

    def _notified(self, pid: int, fields: dict[str, str]) -> None:
        """A message counts for the supervised process that sent it, or that the sender
        descends from (gunicorn's master speaks for the process the daemon started)."""
        for _ in range(64):
            for watcher in self.watchers.values():
                if pid in watcher.processes:
                    watcher.desk.notified(pid, fields)
                    return
            entry = procfs.read(pid)
            if entry is None or entry.ppid <= 1:
                return
            pid = entry.ppid

    def request_quit(self) -> None:
        if not self._quit.is_set():
            self.notifier.stopping()
        self._quit.set()

    def status_line(self) -> str:
        """What `systemctl status` shows: "3 watchers: 2 active, 1 failed; 7 processes"."""
        states: dict[str, int] = {}
        for watcher in self.sorted_watchers():
            states[watcher.state] = states.get(watcher.state, 0) + 1
        count = len(self.watchers)
        processes = sum(len(w.processes) for w in self.watchers.values())
        by_state = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
        return (
            f"{count} watcher{'s' if count != 1 else ''}{': ' if by_state else ''}{by_state}; "
            f"{processes} process{'es' if processes != 1 else ''}"
        )

    async def _watchdog_loop(self) -> None:
        """WATCHDOG=1 from the event loop itself: if the loop is stuck, systemd hears nothing
        and restarts the service (`WatchdogSec=`)."""
        interval = self.notifier.watchdog_interval
        if interval is None:
            return
        while True:
            self.notifier.watchdog()
            await asyncio.sleep(interval)

    async def shutdown(self) -> None:
        self.activation.close()
        # What depends on others stops first; within a level of the dependency order the
        # lowest priority stops first, and equal priorities stop together.
        for level in reversed(dependency_order(w.config for w in self.watchers.values())):
            by_priority: dict[int, list[Watcher]] = {}
            for cfg in level:
                by_priority.setdefault(cfg.priority, []).append(self.get(cfg.name))
            for prio in sorted(by_priority):
                await asyncio.gather(*(w.close() for w in by_priority[prio]))
        for w in self.watchers.values():
            w.output.close()
        self._release()

    def _release(self) -> None:
        for sock in self.sockets.values():
            sock.close()
        self.outlet.close()
        self.reaper.stop_guardian()
        self.statedir.release()

    @property
    def state_fd(self) -> int:
        """The state directory, held: files in it are opened relative to it."""
        return self.statedir.fd

    def spawn_task(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        if isinstance(exc, Refused):
            log.error("%s", exc.reason)  # a refusal nobody waited for: one line, no traceback
        else:
            log.error("background command failed", exc_info=exc)

    # -- watchers -----------------------------------------------------------------------

    def wanted_watchers(self, config: Config) -> dict[str, WatcherConfig]:
        """What a configuration runs: its watchers, then a watcher for each of its plugins,
        on this daemon's endpoints as resolved (the private defaults included)."""
        plugins = plugin_watchers(
            config.plugins.values(),
            endpoint=self.endpoint,
            pubsub_endpoint=self.pubsub_endpoint,
            base_dir=self.base_dir,
        )
        return {**config.watchers, **plugins}

    def is_plugin(self, name: str) -> bool:
        return name.lower() in {p.watcher_name.lower() for p in self.config.plugins.values()}

    def _make_watcher(self, cfg: WatcherConfig) -> Watcher:
        # Every watcher has its output log, even one that captures nothing yet: `set` may
        # switch it to pipes at any time.
        output = OutputLog(cfg.name, None)
        listener = self.outlet.output_listener(cfg.name)
        if listener is not None:
            output.listeners.append(listener)
        output.on_problem = lambda logfile: self._log_problem(cfg.name, logfile)
        watcher = Watcher(
            cfg,
            instance=self.instance,
            emit=self.emit,
            output=output,
            base_dir=self.base_dir,
            socket_fds=self.socket_fds,
            configure_output=self._configure_output,
            notify_socket=self.notify_path,
            waits_for=self.waits_for,
            arbiter_view=self.hook_view,
        )
        self._configure_output(watcher)
        self.watchers[cfg.name.lower()] = watcher
        self.emit(events.Added(cfg.name))
        return watcher

    def _log_problem(self, name: str, logfile: LogFile) -> None:
        """A log file stopped being written (a full disk), or was written again: an event,
        which the console shows with the output (the daemon's log has said it already)."""
        path = str(logfile.path)
        if logfile.problem is not None:
            self.emit(events.LogError(name, path, logfile.lost, logfile.problem))
        else:
            self.emit(events.LogResumed(name, path, logfile.lost))

    def _check_log_paths(self) -> None:
        """Before anything starts: a log file that cannot be opened, or that another user could
        redirect, is refused now, not found out while the program runs."""
        for cfg in self.wanted_watchers(self.config).values():
            self.check_log_files(cfg)

    def check_log_files(self, cfg: WatcherConfig) -> None:
        self.log_places.check(cfg)

    def _configure_output(self, watcher: Watcher) -> None:
        self.log_places.configure(watcher.output, watcher.config)

    def reopen_logs(self) -> None:
        for watcher in self.watchers.values():
            watcher.output.reopen()

    def find(self, name: str) -> Watcher | None:
        return self.watchers.get(str(name).lower())

    def get(self, name: str) -> Watcher:
        watcher = self.find(name)
        if watcher is None:
            raise UnknownWatcher(name)
        return watcher

    def hook_view(self) -> ArbiterView:
        """What a Python hook sees as `arbiter` (daemon.hooks)."""
        return ArbiterView(
            self.endpoint,
            self.pubsub_endpoint,
            self.stats_endpoint,
            [w.hook_view() for w in self.watchers.values()],
        )

    def all_watchers(self) -> list[Watcher]:
        """In the order they were added."""
        return list(self.watchers.values())

    def sorted_watchers(self) -> list[Watcher]:
        return sorted(self.watchers.values(), key=lambda w: w.name.lower())

    async def add_watcher(self, cfg: WatcherConfig, start: bool) -> Watcher:
        if cfg.name.lower() in self.watchers or cfg.name.lower() == "circus":
            raise WatcherExists(cfg.name)
        watcher = self._make_watcher(cfg)
        if start:
            await self._start_or_arm(watcher)
        return watcher

    async def _start_or_arm(self, watcher: Watcher) -> None:
        if watcher.config.on_demand:
            self.activation.arm(watcher)
        else:
            await watcher.start()

    def _start_on_demand(self, name: str) -> None:
        watcher = self.find(name)
        if watcher is not None:
            self.spawn_task(watcher.start())

    async def remove_watcher(self, name: str, nostop: bool = False) -> None:
        watcher = self.get(name)
        del self.watchers[watcher.name.lower()]
        self.activation.disarm(watcher.name)
        if nostop:
            watcher.detach()
        else:
            await watcher.stop()
        watcher.output.close()
        self.emit(events.Removed(watcher.name))

    async def reload_config(self) -> events.ReloadChanges:
        """Re-read the file; restart only watchers whose configuration changed."""
        self.notifier.reloading()
        try:
            return await reread_config(self)
        except Refused as exc:
            log.error("%s", exc.reason)
            raise
        finally:
            self.notifier.ready(self.status_line())

    async def reload_unattended(self) -> None:
        """A reload nobody waits for (SIGHUP, `reloadconfig` without `waiting`): a refusal is
        the one line `reload_config` logs, not a traceback of a failed background task."""
        with contextlib.suppress(Refused):
            await self.reload_config()

    # -- events and stats ---------------------------------------------------------------

    def emit(self, event: events.Event) -> None:
        self.outlet.event(event)
        self.activation.seen(event)
        if self._release_soon is None and any(w.state == WAITING for w in self.watchers.values()):
            # Once per burst of events: a thousand spawns look at the waiting ones once.
            self._release_soon = asyncio.get_running_loop().call_soon(self._release_waiting)

    def waits_for(self, watcher: Watcher) -> Blocker | None:
        return unmet(watcher.config.depends_on, self.find, time.time())

    def _release_waiting(self) -> None:
        self._release_soon = None
        for watcher in list(self.watchers.values()):
            if watcher.state == WAITING and not watcher.lock.locked():
                blocker = self.waits_for(watcher)
                if blocker is None or blocker[:2] != watcher.waiting_on:
                    # start() waits again, saying for what, if a condition still fails.
                    self.spawn_task(watcher.start())

    # -- queries for commands -----------------------------------------------------------

    @property
    def config_path(self) -> Path | None:
        return self.config.path

    def listening(self) -> list[ManagedSocket]:
        return list(self.sockets.values())

    async def save_config(self) -> Path:
        """Write the running watchers' settings back to the file the daemon started from."""
        path = self.config.path
        if path is None:
            raise Refused("the daemon was not started from a file")
        # A plugin's watcher is its [plugins.NAME] table's, which the file keeps as written.
        running = {w.name: w.config for w in self.watchers.values() if not self.is_plugin(w.name)}
        try:
            await asyncio.to_thread(save_config, path, running)
        except ConfigError as exc:
            raise Refused(f"not saved: {exc}") from None
        except OSError as exc:
            raise SystemRefused(f"not saved: {exc}") from None
        return path

    def active(self) -> list[Watcher]:
        return [w for w in self.watchers.values() if w.state == ACTIVE]
