"""Where a watcher hears how its processes are: readiness, probe failures, liveness given up
(the process is replaced, and its exit counts as a failure), lines for a `log` probe and
messages from the notify socket, each routed to its process's Health."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from daemon import events, probes, substitute
from daemon.health import Health, Outcome
from daemon.output import Line
from daemon.probe_spec import Probe

if TYPE_CHECKING:
    from daemon.process import Process
    from daemon.watcher import Watcher


class HealthDesk:
    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher
        self.gave_up_reason: dict[int, str] = {}
        # Processes a rolling reload is bringing up: the roll decides what happens to them.
        self.rolling: set[int] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        watcher.output.listeners.append(self.lines)

    async def check(self, probe: Probe, pid: int, wid: int) -> Outcome:
        """One http, tcp or exec attempt; an exec probe runs as the process does (its
        environment, directory, user and group)."""
        w = self.watcher
        cfg = w.config
        # Built only when used: an http or tcp probe of a thousand processes each second
        # would otherwise copy the environment a thousand times.
        needs_env = probe.kind == "exec" or "$(" in probe.target
        return await probes.check(
            probe,
            pid=pid,
            wid=wid,
            env=substitute.process_env(cfg, wid, w.socket_fds) if needs_env else {},
            cwd=substitute.working_dir(cfg, w.base_dir, wid, w.socket_fds),
            user=cfg.uid,
            group=cfg.gid,
        )

    # -- Report --------------------------------------------------------------------------

    def became_ready(self, health: Health) -> None:
        w = self.watcher
        # Without a readiness probe a process is ready as it starts: no event to say so.
        if w.config.ready is not None:
            w.emit(events.Ready(w.name, health.pid, health.wid, round(health.ready_after or 0, 3)))

    def probe_failed(self, health: Health, which: str, outcome: Outcome, failures: int) -> None:
        w = self.watcher
        w.emit(events.ProbeFailed(w.name, health.pid, health.wid, which, outcome.detail, failures))

    def gave_up(self, health: Health, reason: str, cause: str) -> None:
        w = self.watcher
        proc = w.processes.get(health.pid)
        if proc is None or not proc.alive:
            return
        w.emit(events.Unready(w.name, health.pid, health.wid, reason))
        proc.cause = cause
        if health.pid in self.rolling:
            return  # the roll stops it, and aborts
        self.replace(proc, reason, cause)

    def over_limit(self, pid: int, limit: str, reason: str) -> None:
        """A process tree over max_memory or max_cpu (daemon.limits)."""
        w = self.watcher
        proc = w.processes.get(pid)
        if proc is None or not proc.alive or proc.stopping:
            return
        w.emit(events.LimitExceeded(w.name, pid, proc.wid, limit, reason))
        proc.cause = limit
        self.replace(proc, reason, limit)

    def replace(self, proc: Process, reason: str, cause: str) -> None:
        """Stop `proc` gracefully; its exit counts as a failure with `reason`, and the restart
        policy replaces it."""
        proc.replaced_for = cause
        self.gave_up_reason[proc.pid] = reason
        task = asyncio.ensure_future(self.watcher.stop_process(proc))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- what processes say --------------------------------------------------------------

    def lines(self, lines: list[Line]) -> None:
        processes = self.watcher.processes
        for line in lines:
            proc = processes.get(line.pid)
            if proc is not None and proc.health is not None and proc.health.waits_for_lines:
                proc.health.line(line.data)

    def notified(self, pid: int, fields: dict[str, str]) -> None:
        w = self.watcher
        proc = w.processes.get(pid)
        if proc is None or proc.health is None:
            return
        before = proc.health.status
        proc.health.notified(fields)
        if proc.health.status is not None and proc.health.status != before:
            w.emit(events.StatusText(w.name, pid, proc.health.status))
