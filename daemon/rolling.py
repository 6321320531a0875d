"""A rolling reload: a watcher's processes replaced so that the number ready never drops below
its target. `max_surge` replacements start, the roll waits until they are ready, then as many
old processes stop, and so on. A replacement that is never ready aborts the roll: it is
stopped, the old processes go on serving, and the caller hears why (errors.Refused)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from daemon import events
from daemon.errors import Refused

if TYPE_CHECKING:
    from daemon.process import Process
    from daemon.watcher import Watcher


async def roll(watcher: Watcher) -> None:
    """Called with the watcher's lock held."""
    old = sorted(watcher.live(), key=lambda p: p.wid)
    total = len(old)
    if total == 0:
        await watcher.fill()
        return
    surge = max(1, watcher.config.max_surge)
    replaced = 0
    watcher.roll_progress = (0, total)
    watcher.emit(events.Rolling(watcher.name, "started", 0, total))
    try:
        while old:
            batch, old = old[:surge], old[surge:]
            fresh = await _bring_up(watcher, len(batch))
            problem = fresh if isinstance(fresh, str) else None
            if isinstance(fresh, list):
                problem = await _first_problem(fresh)
                if problem is not None:
                    await _stop(watcher, fresh)
            if problem is not None:
                reason = f"rolling reload of {watcher.name} aborted: {problem}"
                watcher.emit(events.Rolling(watcher.name, "aborted", replaced, total, reason))
                raise Refused(reason)
            await _stop(watcher, [p for p in batch if p.alive and not p.stopping])
            replaced += len(batch)
            watcher.roll_progress = (replaced, total)
            watcher.emit(events.Rolling(watcher.name, "progress", replaced, total))
        watcher.emit(events.Rolling(watcher.name, "done", replaced, total))
    finally:
        watcher.roll_progress = None
        for proc in list(watcher.processes.values()):
            watcher.desk.rolling.discard(proc.pid)
    # An old process that died during the roll was not replaced (the new ones counted).
    await watcher.fill()


async def _bring_up(watcher: Watcher, count: int) -> list[Process] | str:
    """`count` new processes, or why one could not be started (those started are stopped)."""
    fresh: list[Process] = []
    for _ in range(count):
        proc = await watcher.spawn_one()
        if proc is None:
            await _stop(watcher, fresh)
            return watcher.reason or "a new process could not be started"
        watcher.desk.rolling.add(proc.pid)
        fresh.append(proc)
    return fresh


async def _first_problem(fresh: list[Process]) -> str | None:
    """Wait until every new process is ready; the first reason one never will be, or None."""
    watched = [p for p in fresh if p.health is not None]
    reasons = await asyncio.gather(*(p.health.outcome for p in watched if p.health is not None))
    for proc, reason in zip(watched, reasons, strict=True):
        if reason is not None:
            return f"new process {proc.pid}: {reason}"
    return None


async def _stop(watcher: Watcher, processes: list[Process]) -> None:
    for proc in processes:
        watcher.desk.rolling.discard(proc.pid)
    await asyncio.gather(*(watcher.stop_process(p) for p in processes))
