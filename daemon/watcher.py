"""A watcher: one named group of N processes of the same program, kept at its target count
under the restart policy. Commands on one watcher are serialised by its own lock; different
watchers never wait for each other."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from daemon import checks, events, rolling, tree
from daemon.backoff import RestartPolicy
from daemon.dependencies import Blocker
from daemon.health import READY, Health
from daemon.health_desk import HealthDesk
from daemon.launch import launch
from daemon.limits import LimitWatch
from daemon.options import WatcherConfig
from daemon.output import OutputLog
from daemon.process import SCAN_REUSE, Process, end_processes
from daemon.respawn import Respawning
from daemon.states import ACTIVE, COMPLETED, FAILED, STARTING, STOPPED, STOPPING, WAITING
from daemon.watcher_hooks import ArbiterViews, Hooked

log = logging.getLogger("circus-tui")

__all__ = [
    "ACTIVE",
    "COMPLETED",
    "FAILED",
    "STARTING",
    "STOPPED",
    "STOPPING",
    "WAITING",
    "Watcher",
]

Emit = Callable[[events.Event], None]

# The system is short of something (descriptors, memory, processes): a later spawn can work.
SHORTAGE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.EAGAIN, errno.ENOMEM})


class Watcher(Respawning, Hooked):
    def __init__(
        self,
        config: WatcherConfig,
        *,
        instance: str,
        emit: Emit,
        output: OutputLog,
        base_dir: Path | None = None,
        socket_fds: dict[str, int] | None = None,
        configure_output: Callable[[Watcher], None] | None = None,
        rng: Callable[[], float] = random.random,
        notify_socket: str | None = None,
        waits_for: Callable[[Watcher], Blocker | None] | None = None,
        arbiter_view: ArbiterViews | None = None,
    ) -> None:
        self.config = config
        self.notify_socket = notify_socket
        # What this watcher still waits for before it may start (depends_on), or None.
        self.waits_for = waits_for or (lambda _w: None)
        self.waiting_on: tuple[str, str] | None = None
        self.roll_progress: tuple[int, int] | None = None  # (replaced, total) while rolling
        self.name = config.name
        self.instance = instance
        self.emit = emit
        self.output = output
        self.desk = HealthDesk(self)
        self.base_dir = base_dir
        self.socket_fds = socket_fds if socket_fds is not None else {}
        self._configure_output = configure_output
        self.state = STOPPED
        self.processes: dict[int, Process] = {}
        self.lock = asyncio.Lock()
        self.policy = RestartPolicy(
            config.backoff_min, config.backoff_max, config.stable_after, config.max_retry, rng
        )
        self.rng = rng
        self.restarts = 0
        self.last_exit: str | None = None
        self.reason: str | None = None  # why it is failed or waiting
        self.retry_at: float | None = None  # wall time of the next attempt while backing off
        self.started_at: float | None = None
        self._retry: asyncio.TimerHandle | None = None
        self._spawn_seq = 0
        self._shortages = 0  # spawns refused in a row for want of resources
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reaping: set[asyncio.Task[Any]] = set()
        self._exit_tasks: dict[Process, asyncio.Task[None]] = {}
        self._leftover_tasks: set[asyncio.Task[None]] = set()
        # wid -> success, for processes whose place stays empty (one-shots, on-failure).
        self._done: dict[int, bool] = {}
        self._setup_hooks(arbiter_view)
        self.limit_watch = LimitWatch()

    # -- queries ------------------------------------------------------------------------

    @property
    def numprocesses(self) -> int:
        return self.config.numprocesses

    def live(self) -> list[Process]:
        """Processes that count towards the target: not being stopped, and not yet handled
        by the exit watcher. One that already exited still counts until its exit has gone
        through the restart policy; counting it out earlier would spawn a second one
        beside the policy's replacement."""
        return [p for p in self.processes.values() if not p.stopping]

    @property
    def completed(self) -> int:
        """Processes that ended for good with a success code."""
        return sum(self._done.values())

    @property
    def waiting_for(self) -> str | None:
        """What a waiting watcher waits for, worded now ("migrate: running 3 s")."""
        if self.state != WAITING:
            return None
        blocker = self.waits_for(self)
        return blocker.text if blocker is not None else None

    def ready(self) -> int:
        """Processes ready now (without a readiness probe: every live one)."""
        return sum(
            1 for p in self.live() if p.alive and p.health is not None and p.health.state == READY
        )

    def _missing(self) -> int:
        return self.numprocesses - len(self.live()) - len(self._done) - len(self._pending)

    def running(self) -> int:
        return sum(1 for p in self.processes.values() if p.alive)

    def pids(self) -> list[int]:
        return sorted(self.processes)

    # -- commands (callers hold no lock; each takes this watcher's own) -----------------

    async def start(self) -> bool:
        async with self.lock:
            if self.state == ACTIVE:
                return False
            blocker = self.waits_for(self)
            if blocker is not None:
                # An event when what it waits for changes, not as the seconds go by.
                changed = self.state != WAITING or self.waiting_on != blocker[:2]
                self.state, self.waiting_on = WAITING, blocker[:2]
                if changed:
                    self.emit(events.Waiting(self.name, f"waiting for {blocker.text}"))
                return False
            self.waiting_on = None
            if not await self.hook_runner.run("before_start"):
                # As circusd: the start is abandoned, and the watcher stays as it was.
                self.reason = "start abandoned: the before_start hook said no"
                return False
            self._cancel_retry()
            self.policy.reset()
            self._done.clear()
            self._shortages = 0
            self.reason = None
            self.state = STARTING
            self.started_at = time.time()
            self.emit(events.Started(self.name))
            await self._fill(warm=True)
            if not await self.hook_runner.run("after_start"):
                await self._stop_all()
                self.reason = "stopped: the after_start hook said no"
                self.emit(events.Stopped(self.name))
                return False
            if self.state == STARTING:
                self.state = ACTIVE
            return True

    async def stop(self) -> bool:
        async with self.lock:
            if self.state == STOPPED and not self.processes:
                return False
            await self._stop_between_hooks()
            self.emit(events.Stopped(self.name))
            return True

    async def restart(self) -> None:
        async with self.lock:
            await self._stop_between_hooks()
            self.emit(events.Stopped(self.name))
        await self.start()

    async def _stop_between_hooks(self) -> None:
        # Their answers do not matter (as in circusd): the stop happens.
        await self.hook_runner.run("before_stop")
        await self._stop_all()
        await self.reap_hooks_done()
        await self.hook_runner.run("after_stop")

    async def scale(self, target: int | None = None, delta: int = 0) -> int:
        """Set the target, or move it by `delta` under the lock so that concurrent
        increments all count."""
        async with self.lock:
            if target is None:
                target = self.config.numprocesses + delta
            target = checks.bounded_target(target, self.config.singleton)
            self.config = self.config.with_options({"numprocesses": target})
            if self.state in (ACTIVE, STARTING):
                await self._reconcile()
            return target

    def detach(self) -> None:
        """Stop supervising without stopping anything (`rm --nostop`): the processes run
        on, and nothing is respawned."""
        self._cancel_retry()
        self.state = STOPPED
        for proc in self.processes.values():
            proc.stopping = True

    async def reconfigure(self, config: WatcherConfig, graceful: bool = True) -> None:
        """Apply a changed configuration; restart processes only if it needs it."""
        async with self.lock:
            old = self.config
            self.config = config
            if self._configure_output is not None:
                self._configure_output(self)
            self.policy.configure(
                config.backoff_min, config.backoff_max, config.stable_after, config.max_retry
            )
            if self.state not in (ACTIVE, STARTING):
                return
            if old.differs_for_processes(config):
                await self._replace_all(graceful)
            else:
                await self._reconcile()
            self.emit(events.Updated(self.name))

    async def reload(self, graceful: bool = True) -> None:
        async with self.lock:
            if self.state in (ACTIVE, STARTING):
                if graceful and self.config.send_hup:
                    # Circus's send_hup: the programs reload themselves, and stay.
                    for proc in self.live():
                        with contextlib.suppress(ProcessLookupError):
                            proc.send_signal(signal.SIGHUP)
                else:
                    await self._replace_all(graceful)
            self.emit(events.Reloaded(self.name))

    async def kill_process(
        self, pid: int, sig: int | None = None, graceful_timeout: float | None = None
    ) -> None:
        proc = self.processes.get(pid)
        if proc is None:
            raise ProcessLookupError(pid)
        await self._stop_process(proc, sig, graceful_timeout)
        # `kill` ends one process, not the watcher's wish for N of them: replace it.
        async with self.lock:
            if self.state == ACTIVE:
                await self._fill(warm=False)

    # -- internals ----------------------------------------------------------------------

    async def _fill(self, warm: bool) -> None:
        """Spawn until the target is met, `warmup_delay` apart when starting."""
        first = True
        while self._missing() > 0 and self.state in (ACTIVE, STARTING):
            if warm and not first and self.config.warmup_delay > 0:
                await asyncio.sleep(self.config.warmup_delay)
                if self._missing() <= 0:
                    break
            first = False
            if self.hooks_around_spawn:
                if await self._spawn_hooked(self._next_wid()) is None:
                    return
            elif self._spawn() is None:
                return

    async def _reconcile(self) -> None:
        live = self.live()
        extra = len(live) - self.numprocesses
        if extra > 0:
            # The newest go first, so wids stay packed from 1.
            victims = sorted(live, key=lambda p: (p.wid, p.started_mono))[-extra:]
            await asyncio.gather(*(self._stop_process(p) for p in victims))
        elif extra < 0 and self._retry is None:
            await self._fill(warm=False)

    async def _replace_all(self, graceful: bool) -> None:
        if graceful:
            await rolling.roll(self)
        else:
            await asyncio.gather(*(self._stop_process(p) for p in list(self.processes.values())))
            await self._fill(warm=True)

    # For daemon.rolling, which runs under this watcher's lock.
    async def fill(self) -> None:
        await self._fill(warm=False)

    async def spawn_one(self) -> Process | None:
        if self.hooks_around_spawn:
            return await self._spawn_hooked(self._next_wid())
        return self._launch_one(self._next_wid())

    async def stop_process(self, proc: Process) -> None:
        await self._stop_process(proc)

    async def _stop_all(self) -> None:
        self.state = STOPPING
        self._cancel_retry()
        await asyncio.gather(*(self._stop_process(p) for p in list(self.processes.values())))
        # Whatever exited processes left behind (a daemonising program's grandchildren, late
        # forks) goes with the watcher too.
        for task in list(self._leftover_tasks):
            task.cancel()
        await self._end_leftovers(f"{self.instance}/{self.name}/")
        self.state = STOPPED
        self.retry_at = None

    async def _end_leftovers(self, prefix: str, root: int | None = None) -> None:
        # Scans are shared by exits close together (a thousand processes killed at once).
        roots = () if root is None else (root,)
        ended = await end_processes(
            lambda: tree.leftovers(prefix, roots, max_age=SCAN_REUSE),
            self.config.stop_signal,
            self.config.graceful_timeout,
        )
        if ended:
            log.info("watcher %s: ended %d processes left by exited ones", self.name, len(ended))

    async def _stop_process(
        self, proc: Process, sig: int | None = None, graceful_timeout: float | None = None
    ) -> None:
        proc.stopping = True
        self.emit(events.Stopping(self.name, proc.pid))
        timeout = self.config.graceful_timeout if graceful_timeout is None else graceful_timeout
        signum = sig or self.config.stop_signal
        if self.hook_runner.has("before_signal") or self.hook_runner.has("after_signal"):
            await self._stop_between_signal_hooks(proc, signum, timeout)
        else:
            await proc.stop(signum, timeout, whole_tree=self.config.stop_children)
        # The exit watcher removes it and reports the reap; wait for that so callers see a
        # settled state.
        task = self._exit_tasks.get(proc)
        if task is not None:
            await asyncio.shield(task)

    def _next_wid(self) -> int:
        used = {p.wid for p in self.live()} | set(self._done) | self._pending
        return next(i for i in range(1, len(used) + 2) if i not in used)

    def _spawn(self) -> Process | bool | None:
        """A process for the lowest free place; True when hooks run around the spawn (it
        happens in a task of its own); None when it could not start."""
        if not self.hooks_around_spawn:
            return self._launch_one(self._next_wid())
        wid = self._next_wid()
        self._pending.add(wid)  # held from now, before the task runs
        task = asyncio.ensure_future(self._spawn_hooked(wid))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    def _launch_one(self, wid: int) -> Process | None:
        self._spawn_seq += 1
        marker = f"{self.instance}/{self.name}/{wid}/{self._spawn_seq}"
        cfg = self.spawn_config()
        try:
            proc = launch(
                cfg,
                wid=wid,
                marker=marker,
                socket_fds=self.socket_fds,
                base_dir=self.base_dir,
                output=self.output,
                notify_socket=self.notify_socket,
            )
        except OSError as exc:
            if exc.errno in SHORTAGE_ERRNOS:
                self._short_of_resources(exc)
            else:
                # A program that cannot start at all will not start on a retry either.
                self._park(f"cannot start: {exc}")
            return None
        except (ValueError, KeyError) as exc:
            self._park(f"cannot start: {exc}")
            return None
        if self._shortages:
            log.info(
                "%s: processes start again after %d refused spawns", self.name, self._shortages
            )
            self._shortages = 0
        self.processes[proc.pid] = proc
        self.emit(events.Spawned(self.name, proc.pid, wid))
        self._watch(proc)
        proc.health = Health(proc.pid, wid, self.desk)
        proc.health.start(cfg.ready, cfg.alive, self.desk.check)
        if cfg.max_age > 0:
            lifetime = cfg.max_age + self.rng() * cfg.max_age_variance
            handle = asyncio.get_running_loop().call_later(lifetime, self._expire, proc)
            proc.exited.add_done_callback(lambda _f: handle.cancel())
        return proc

    def _watch(self, proc: Process) -> None:
        task = asyncio.ensure_future(self._await_exit(proc))
        self._exit_tasks[proc] = task
        task.add_done_callback(lambda _t: self._exit_tasks.pop(proc, None))

    async def _await_exit(self, proc: Process) -> None:
        status = await proc.exited
        self.processes.pop(proc.pid, None)
        if proc.health is not None:
            proc.health.ended(status.describe())
        self._reap_hooks(proc, status)
        cause = proc.cause or (
            "stopped" if proc.stopping else "signal" if status.signal is not None else "exit"
        )
        self.emit(
            events.Reaped(
                self.name,
                pid=proc.pid,
                wid=proc.wid,
                exit_code=status.circus_code,
                reason=status.describe(),
                cause=cause,
            )
        )
        if not proc.stopping:
            # It exited by itself: what it left running goes with it, as it would have with
            # a stop (its marker ends in "\0" in the environment: this process's alone).
            task = asyncio.ensure_future(self._end_leftovers(f"{proc.marker}\0", proc.pid))
            self._leftover_tasks.add(task)
            task.add_done_callback(self._leftover_tasks.discard)
        self._after_exit(proc, status)

    def _expire(self, proc: Process) -> None:
        if not proc.alive or proc.stopping or self.state != ACTIVE:
            return
        proc.expired = True
        task = asyncio.ensure_future(self._stop_process(proc))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Stop everything and release resources (daemon shutdown)."""
        with contextlib.suppress(Exception):
            await self.stop()
        for task in list(self._tasks):
            task.cancel()
