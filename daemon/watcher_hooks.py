"""Where a watcher's life calls its hooks (daemon.hooks): around a start and a stop, around
each spawn, signal and reap, and on `stats` with `extended`. A part of the Watcher, in its own
module.

A spawn with a `before_spawn` or `after_spawn` hook is asynchronous: its worker number is
held (`_pending`) while the hook runs, so that nothing spawns a second process for the same
place meanwhile. A `before_spawn` that says no counts as a quick death for the restart
policy; an `after_spawn` that says no stops the new process, which then counts as a failure.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from daemon import substitute
from daemon.hook_spec import Hooks
from daemon.hooks import ArbiterView, HookRunner, WatcherView, unimportable
from daemon.options import WatcherConfig
from daemon.trusted import distrust

if TYPE_CHECKING:
    from daemon.backoff import RestartPolicy
    from daemon.process import ExitStatus, Process

log = logging.getLogger("circus-tui")
_DISTRUSTED: set[str] = set()  # said once each

ArbiterViews = Callable[[], ArbiterView]


class Hooked:
    # The Watcher's, used here.
    name: str
    config: WatcherConfig
    state: str
    reason: str | None
    base_dir: Path | None
    socket_fds: dict[str, int]
    processes: dict[int, Process]
    policy: RestartPolicy
    emit: Any
    _retry: asyncio.TimerHandle | None
    _tasks: set[asyncio.Task[Any]]
    _reaping: set[asyncio.Task[Any]]

    def pids(self) -> list[int]: ...

    def _park(self, reason: str) -> None: ...

    def _retry_later(
        self, delay: float, failures: int, reason: str, exit_code: int | None
    ) -> None: ...

    def _setup_hooks(self, arbiter_view: ArbiterViews | None) -> None:
        self._arbiter_view = arbiter_view
        # What hooks set in watcher.env, for the processes started after.
        self.hook_env: dict[str, str] = {}
        self._pending: set[int] = set()  # wids held by a spawn whose hooks run
        self.hook_runner = HookRunner(
            self.name,
            self.emit,
            hooks=lambda: self.config.hooks,
            view=self._hook_views,
            command_env=self._hook_command_env,
            search=self._hook_search,
            env_changed=self.hook_env.update,
        )

    # -- what a hook sees ---------------------------------------------------------------

    def spawn_config(self) -> WatcherConfig:
        """The configuration a process starts with: with what hooks set in its env."""
        if not self.hook_env:
            return self.config
        return dataclasses.replace(self.config, env={**self.config.env, **self.hook_env})

    def hook_view(self) -> WatcherView:
        cfg = self.spawn_config()
        return WatcherView(
            name=self.name,
            numprocesses=cfg.numprocesses,
            pids=self.pids(),
            env=dict(cfg.env),
            state=self.state,
            cmd=cfg.cmd,
            args=list(cfg.args),
            working_dir=cfg.working_dir,
        )

    def _hook_views(self) -> tuple[WatcherView, ArbiterView]:
        me = self.hook_view()
        if self._arbiter_view is None:
            return me, ArbiterView("", "", None, [me])
        arbiter = self._arbiter_view()
        # The watcher a hook is given is the one in the arbiter's list.
        arbiter.watchers = [me if w.name == me.name else w for w in arbiter.watchers]
        return me, arbiter

    def _hook_command_env(self) -> tuple[dict[str, str], str | None, Any, Any]:
        cfg = self.spawn_config()
        env = substitute.process_env(cfg, 1, self.socket_fds)
        del env["CIRCUS_TUI_WID"]
        cwd = substitute.working_dir(cfg, self.base_dir, 1, self.socket_fds)
        if cwd is None and self.base_dir is not None:
            cwd = str(self.base_dir)
        return env, cwd, cfg.uid, cfg.gid

    def _hook_search(self) -> list[str]:
        """Where a hook's module is looked for besides the daemon's own path: the
        configuration file's directory and the watcher's PYTHONPATH, as circusd adds it."""
        found = [str(self.base_dir)] if self.base_dir is not None else []
        python_path = self.spawn_config().env.get("PYTHONPATH", "")
        found.extend(p for p in python_path.split(os.pathsep) if p)
        # The daemon imports from these: never from where another user could put a module.
        trusted = []
        for directory in found:
            if not os.path.isdir(directory):
                continue
            why = distrust(Path(directory))
            if why is None:
                trusted.append(directory)
            elif directory not in _DISTRUSTED:
                _DISTRUSTED.add(directory)
                log.warning("%s: hooks are not imported from %s: %s", self.name, directory, why)
        return trusted

    async def hooks_problem(self, hooks: Hooks | None) -> str | None:
        """Why `hooks` cannot be used (a callable that cannot be imported), or None: `set`
        refuses them with it, as circusd does."""
        if hooks is None:
            return None
        return await unimportable(hooks, self._hook_search())

    # -- spawns -------------------------------------------------------------------------

    @property
    def hooks_around_spawn(self) -> bool:
        return self.hook_runner.has("before_spawn") or self.hook_runner.has("after_spawn")

    async def _spawn_hooked(self, wid: int) -> Process | None:
        """One spawn for the place `wid`, between its hooks; None when it did not happen."""
        self._pending.add(wid)
        try:
            if not await self.hook_runner.run("before_spawn"):
                self._spawn_refused("the before_spawn hook said no")
                return None
            if self.state not in ("active", "starting"):
                return None
            proc = self._launch_one(wid)
        finally:
            self._pending.discard(wid)
        if proc is None:
            return None
        if not await self.hook_runner.run("after_spawn", pid=proc.pid):
            if proc.alive:
                proc.replaced_for = "after_spawn"
                self.desk.gave_up_reason[proc.pid] = "the after_spawn hook said no"
                await self.stop_process(proc)
            return None
        return proc

    def _spawn_refused(self, reason: str) -> None:
        """A spawn that did not happen counts as a quick death."""
        decision = self.policy.after_exit(self.config.restart_policy, False, 0.0)
        if decision.failed:
            self._park(f"{decision.failures - 1} quick restarts in a row; last: {reason}")
        elif self._retry is None:
            self.reason = f"backing off: {reason}"
            self._retry_later(max(decision.delay, 0.1), decision.failures, reason, None)

    # -- signals --------------------------------------------------------------------------

    async def _stop_between_signal_hooks(self, proc: Process, signum: int, timeout: float) -> None:
        """A before_signal hook that says no keeps the signal from being sent (as in
        circusd; the SIGKILL at the end of the grace is sent whatever it says)."""
        loop = asyncio.get_running_loop()
        # The reap hooks of this process wait for after_signal, as circusd calls them in
        # that order.
        proc.signal_hooks = done = loop.create_future()
        try:
            send = await self.hook_runner.run("before_signal", pid=proc.pid, signum=signum)
            whole = self.config.stop_children
            stopping = asyncio.ensure_future(proc.stop(signum, timeout, send, whole))
            await asyncio.sleep(0)  # the signal goes out before the hook hears of it
            if send:
                await self.hook_runner.run("after_signal", pid=proc.pid, signum=signum)
        finally:
            done.set_result(None)
        await stopping

    # -- reaps and stats ----------------------------------------------------------------

    def _reap_hooks(self, proc: Process, status: ExitStatus) -> None:
        if not (self.hook_runner.has("before_reap") or self.hook_runner.has("after_reap")):
            return

        async def both() -> None:
            if proc.signal_hooks is not None:
                await proc.signal_hooks
            # The process is gone already: Circus's before_reap came before its waitpid.
            now = time.time()
            await self.hook_runner.run("before_reap", process_pid=proc.pid, time=now)
            await self.hook_runner.run(
                "after_reap",
                process_pid=proc.pid,
                time=now,
                exit_code=status.circus_code,
                process_status=None,
            )

        task = asyncio.ensure_future(both())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._reaping.add(task)
        task.add_done_callback(self._reaping.discard)

    async def reap_hooks_done(self) -> None:
        """After the reap hooks of the processes that exited so far: a stop's after_stop
        comes after its processes' after_reap, as in circusd."""
        if self._reaping:
            await asyncio.gather(*list(self._reaping), return_exceptions=True)

    async def extended_stats(self, pid: int, stats: dict[str, Any]) -> None:
        """Circus's extended_stats hook, which adds to a process's `stats` in place."""
        await self.hook_runner.run("extended_stats", pid=pid, stats=stats)

    # The Watcher's.
    desk: Any

    def _launch_one(self, wid: int) -> Process | None: ...

    async def stop_process(self, proc: Process) -> None: ...
