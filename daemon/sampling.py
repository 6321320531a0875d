"""The arbiter's stats: a tick sampled every `stats_interval` (and handed to the Outlet),
the `circus` pseudo-watcher (the daemon and its guardian), the last sample of a process and the
history. A part of the Arbiter, in its own module."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING

from daemon.stats import History, ProcSample, StatsSampler, Tick

if TYPE_CHECKING:
    from daemon.config import DaemonSettings
    from daemon.notify import Notifier
    from daemon.outlet import Outlet
    from daemon.reaper import Reaper
    from daemon.watcher import Watcher

log = logging.getLogger("circus-tui")


class Sampling:
    # The Arbiter's, used here.
    settings: DaemonSettings
    outlet: Outlet
    watchers: dict[str, Watcher]
    notifier: Notifier
    reaper: Reaper
    sampler: StatsSampler
    last_tick: Tick | None

    def status_line(self) -> str: ...

    async def _stats_loop(self) -> None:
        interval = self.settings.stats_interval
        loop = asyncio.get_running_loop()
        next_tick = loop.time()
        while True:
            try:
                tick = self.sample_stats()
                self.outlet.tick(tick)
                self._check_limits(tick)
            except Exception:
                log.exception("stats sampling failed")
            # Once a tick is often enough to follow a logrotate that moved a file away:
            # lines written meanwhile land in the moved file, none is lost.
            for watcher in self.watchers.values():
                watcher.output.reopen_if_moved()
            self.notifier.status(self.status_line())
            next_tick += interval
            # Never pile ticks up after a stall: skip to the next future slot.
            now = loop.time()
            if next_tick < now:
                next_tick = now + interval
            await asyncio.sleep(next_tick - now)

    def _check_limits(self, tick: Tick) -> None:
        """max_memory and max_cpu, on the figures this tick measured."""
        for watcher in self.watchers.values():
            cfg = watcher.config
            if cfg.max_memory is None and cfg.max_cpu is None:
                continue
            overs = watcher.limit_watch.check(
                tick.groups.get(watcher.name, ()),
                tick.procs,
                cfg.max_memory,
                cfg.max_cpu,
                cfg.limit_window,
            )
            for over in overs:
                log.warning("watcher %s: pid %d replaced: %s", watcher.name, over.pid, over.reason)
                watcher.desk.over_limit(over.pid, over.cause, over.reason)

    def circus_pids(self) -> list[int]:
        """The `circus` pseudo-watcher: the daemon and its guardian, as Circus lists circusd
        and circusd-stats."""
        pids = [os.getpid()]
        guardian = self.reaper.guardian
        if guardian is not None and guardian.poll() is None:
            pids.append(guardian.pid)
        return pids

    def circus_names(self) -> dict[int, str]:
        names = {os.getpid(): "circusd"}
        if self.reaper.guardian is not None:
            names[self.reaper.guardian.pid] = "circus-tui-guardian"
        return names

    def sample_stats(self) -> Tick:
        groups = {w.name: w.pids() for w in self.watchers.values()}
        groups["circus"] = self.circus_pids()
        watchers, procs = self.sampler.sample(groups)
        self.last_tick = Tick(groups, watchers, procs)
        return self.last_tick

    def last_sample(self, pid: int) -> ProcSample | None:
        """The process's tree as the last tick measured it, if it did."""
        return self.last_tick.procs.get(pid) if self.last_tick is not None else None

    def history(
        self, name: str | None = None, pid: int | None = None, since: float | None = None
    ) -> History:
        return self.sampler.history(name, pid, since)
