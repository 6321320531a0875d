"""One process's health: `starting` until its readiness probe passes, then `ready`, and
`unhealthy` once its liveness probe failed too often in a row; `stopping` once it said
STOPPING=1 (it no longer counts as ready, and is probed no more). Probes run as tasks of the event
loop, each bounded by its timeout; what they find is reported to the watcher, which replaces a
process that never became ready or stopped being alive."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from daemon.probe_spec import Probe
from daemon.probes import LogMatch

STARTING, READY, UNHEALTHY, STOPPING = "starting", "ready", "unhealthy", "stopping"


class Outcome(Protocol):
    """One probe attempt's result (daemon.probes.ProbeResult)."""

    @property
    def ok(self) -> bool: ...

    @property
    def detail(self) -> str: ...

    @property
    def at(self) -> float: ...


# (probe, pid, wid) -> one attempt, bounded by the probe's timeout.
Checker = Callable[[Probe, int, int], Awaitable[Outcome]]


class Report(Protocol):
    """What the watcher hears of its processes' health."""

    def became_ready(self, health: Health) -> None: ...

    def probe_failed(self, health: Health, which: str, outcome: Outcome, failures: int) -> None: ...

    def gave_up(self, health: Health, reason: str, cause: str) -> None:
        """Not ready within start_timeout (`cause` "start_timeout"), or no longer alive
        ("unready"): the process is to be replaced."""


class Health:
    def __init__(self, pid: int, wid: int, report: Report) -> None:
        self.pid = pid
        self.wid = wid
        self.report = report
        self.state = STARTING
        self.started = time.monotonic()
        self.ready_after: float | None = None  # seconds from spawn to ready
        self.last_probe: Outcome | None = None
        self.status: str | None = None  # the last STATUS= the process sent
        self.stopping = False  # STOPPING=1
        # None once ready; the reason when it never will be (given up, or exited first).
        self.outcome: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._signalled = asyncio.Event()  # a log line matched, or READY=1
        self._pattern: LogMatch | None = None
        self._watchdog_at = time.monotonic()
        self._task: asyncio.Task[None] | None = None

    @property
    def waits_for_lines(self) -> bool:
        return self._pattern is not None and self.state == STARTING

    def start(self, ready: Probe | None, alive: Probe | None, check: Checker) -> None:
        if ready is None and alive is None:
            self._mark_ready()
            return
        if ready is not None and ready.kind == "log":
            self._pattern = LogMatch(ready.target)
        self._task = asyncio.ensure_future(self._run(ready, alive, check))

    def ended(self, reason: str) -> None:
        """The process exited: probing ends, and a wait for its readiness learns why."""
        if self._task is not None:
            self._task.cancel()
        if not self.outcome.done():
            self.outcome.set_result(reason)

    # -- what the process says --------------------------------------------------------

    def line(self, data: bytes) -> None:
        if self._pattern is not None and self._pattern.matches(data):
            self._pattern = None
            self._signalled.set()

    def notified(self, fields: dict[str, str]) -> None:
        if fields.get("READY") == "1":
            self._signalled.set()
        if "STATUS" in fields:
            self.status = fields["STATUS"]
        if fields.get("WATCHDOG") == "1":
            self._watchdog_at = time.monotonic()
        if fields.get("STOPPING") == "1" and not self.stopping:
            # On its way out by its own decision: what ends it now is its exit, which the
            # restart policy answers, not a probe that fails while it shuts down.
            self.stopping = True
            self.state = STOPPING
            if self._task is not None:
                self._task.cancel()
            if not self.outcome.done():
                self.outcome.set_result("it said STOPPING=1")

    # -- probing -------------------------------------------------------------------------

    async def _run(self, ready: Probe | None, alive: Probe | None, check: Checker) -> None:
        if ready is not None and not await self._until_ready(ready, check):
            reason = f"not ready within {ready.start_timeout:g} s"
            if self.last_probe is not None and not self.last_probe.ok:
                reason += f" (last probe: {self.last_probe.detail})"
            self._give_up(reason, "start_timeout")
            return
        self._mark_ready()
        if alive is not None:
            reason = await (
                self._watchdog(alive) if alive.kind == "watchdog" else self._alive(alive, check)
            )
            self.state = UNHEALTHY
            self._give_up(reason, "unready")

    async def _until_ready(self, probe: Probe, check: Checker) -> bool:
        deadline = self.started + probe.start_timeout
        if probe.kind in ("log", "notify"):
            try:
                await asyncio.wait_for(self._signalled.wait(), deadline - time.monotonic())
            except TimeoutError:
                return False
            return True
        while True:
            self.last_probe = await check(probe, self.pid, self.wid)
            if self.last_probe.ok:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            await asyncio.sleep(min(probe.interval, left))

    async def _alive(self, probe: Probe, check: Checker) -> str:
        failures = 0
        while True:
            await asyncio.sleep(probe.interval)
            self.last_probe = outcome = await check(probe, self.pid, self.wid)
            if outcome.ok:
                failures = 0
                continue
            failures += 1
            self.report.probe_failed(self, "alive", outcome, failures)
            if failures >= probe.failures:
                return f"liveness probe failed {failures} times in a row: {outcome.detail}"

    async def _watchdog(self, probe: Probe) -> str:
        self._watchdog_at = time.monotonic()
        while True:
            silent = time.monotonic() - self._watchdog_at
            if silent >= probe.watchdog:
                return f"no WATCHDOG=1 for {probe.watchdog:g} s"
            await asyncio.sleep(probe.watchdog - silent)

    def _mark_ready(self) -> None:
        self.state = READY
        self.ready_after = time.monotonic() - self.started
        if not self.outcome.done():
            self.outcome.set_result(None)
        self.report.became_ready(self)

    def _give_up(self, reason: str, cause: str) -> None:
        if not self.outcome.done():
            self.outcome.set_result(reason)
        self.report.gave_up(self, reason, cause)
