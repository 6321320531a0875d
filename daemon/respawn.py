"""What follows a process's exit: replaced at once, after a backoff delay, or never (a
one-shot, a success under on-failure); and when the watcher gives up (`failed`) or is done
(`completed`). A part of the Watcher, in its own module."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from daemon import events
from daemon.backoff import RestartPolicy
from daemon.options import WatcherConfig
from daemon.states import ACTIVE, COMPLETED, FAILED, STARTING

if TYPE_CHECKING:
    from daemon.health_desk import HealthDesk
    from daemon.process import ExitStatus, Process

log = logging.getLogger("circus-tui")


class Respawning:
    # The Watcher's, used here.
    name: str
    config: WatcherConfig
    state: str
    policy: RestartPolicy
    desk: HealthDesk
    processes: dict[int, Process]
    restarts: int
    last_exit: str | None
    reason: str | None
    retry_at: float | None
    completed: int
    emit: Any
    _retry: asyncio.TimerHandle | None
    _shortages: int
    _done: dict[int, bool]

    def _spawn(self) -> Process | bool | None: ...

    def _missing(self) -> int: ...

    def _after_exit(self, proc: Process, status: ExitStatus) -> None:
        expired = proc.expired
        if proc.stopping and not expired and proc.replaced_for is None:
            return
        if proc.pid in self.desk.rolling:
            return  # a replacement a rolling reload brings up: the roll handles its end
        if self.state not in (ACTIVE, STARTING):
            return
        if expired:
            self._spawn()
            return
        self.last_exit = f"{status.describe()} after {proc.uptime:.1f} s"
        cfg = self.config
        success = status.code is not None and status.code in cfg.success_exit_codes
        if proc.replaced_for is not None:
            # Replaced for its health: a failure whatever its exit said.
            self.last_exit = f"{self.desk.gave_up_reason.pop(proc.pid, proc.replaced_for)}"
            success = False
        decision = self.policy.after_exit(cfg.restart_policy, success, proc.uptime)
        if decision.done:
            self._done[proc.wid] = success
            self._maybe_finished()
            return
        if decision.failed:
            self._park(f"{decision.failures - 1} quick restarts in a row; last {self.last_exit}")
            return
        self.restarts += 1
        if decision.delay <= 0:
            if self._missing() > 0:
                self._spawn()
            return
        if self._retry is None:
            self.reason = f"backing off after {self.last_exit}"
            self._retry_later(decision.delay, decision.failures, self.last_exit, status.circus_code)

    def _short_of_resources(self, exc: OSError) -> None:
        """A spawn the system refused for want of resources: try again after the backoff
        delay, however often it happens; the watcher is never parked for it."""
        self._shortages += 1
        if self._retry is not None:
            return
        delay = self.policy.shortage_delay(self._shortages)
        self.reason = f"cannot start a process: {exc.strerror}"
        log.warning(
            "%s: cannot start a process: %s; retrying in %.1f s", self.name, exc.strerror, delay
        )
        self._retry_later(delay, self.policy.failures, self.reason, None)

    def _retry_later(self, delay: float, failures: int, reason: str, exit_code: int | None) -> None:
        self.retry_at = time.time() + delay
        self._retry = asyncio.get_running_loop().call_later(delay, self._retry_now)
        self.emit(events.BackingOff(self.name, delay, self.retry_at, failures, reason, exit_code))

    def _retry_now(self) -> None:
        self._retry = None
        self.retry_at = None
        self.reason = None
        if self.state not in (ACTIVE, STARTING):
            return
        while self._missing() > 0 and self.state in (ACTIVE, STARTING):
            if self._spawn() is None:
                break

    def _maybe_finished(self) -> None:
        """Every place is empty for good: completed if all succeeded, failed otherwise."""
        if self.processes or self._missing() > 0:
            return
        failed = len(self._done) - self.completed
        if failed == len(self._done) == 1:
            self._park(self.last_exit or "did not succeed")
        elif failed:
            self._park(
                f"{failed} of {len(self._done)} processes did not succeed; last {self.last_exit}"
            )
        else:
            self.state = COMPLETED
            self.emit(events.Completed(self.name))

    def _park(self, reason: str) -> None:
        self._cancel_retry()
        self.state = FAILED
        self.reason = reason
        self.emit(events.Failed(self.name, reason, self.last_exit))

    def _cancel_retry(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
            # "backing off" is no longer what it does.
            self.reason = None
        self.retry_at = None
