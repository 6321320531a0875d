"""The restart policy: when to replace a process that exited, and when to give up.

Pure logic over an injected clock and random source so tests can walk it deterministically.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

# Floors whatever the configuration says. With `stable_after = 0` every death counted as the
# end of a healthy run, and with `backoff_min = 0` every delay was 0: either way a program that
# dies at once was respawned thousands of times a second.
MIN_STABLE_AFTER = 1.0
MIN_DELAY = 0.1


@dataclass(frozen=True)
class Decision:
    """What to do after an exit: respawn after `delay` seconds, give up (`failed`), or leave
    the process's place empty for good (`done`: a one-shot, or a success under on-failure)."""

    delay: float
    failed: bool
    failures: int
    done: bool = False


class RestartPolicy:
    def __init__(
        self,
        backoff_min: float,
        backoff_max: float,
        stable_after: float,
        max_retry: int,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.backoff_min = backoff_min
        self.backoff_max = backoff_max
        self.stable_after = stable_after
        self.max_retry = max_retry
        self._rng = rng
        self.failures = 0

    def configure(
        self, backoff_min: float, backoff_max: float, stable_after: float, max_retry: int
    ) -> None:
        self.backoff_min = backoff_min
        self.backoff_max = backoff_max
        self.stable_after = stable_after
        self.max_retry = max_retry

    def reset(self) -> None:
        self.failures = 0

    def after_exit(self, restart: str, success: bool, uptime: float) -> Decision:
        """An unplanned exit under the watcher's `restart` ("always", "on-failure", "never"):
        a success never counts toward `max_retry`, but a quick one still waits `backoff_min`
        so that a program that exits 0 at once is not respawned in a tight loop."""
        if restart == "never" or (restart == "on-failure" and success):
            return Decision(0.0, False, self.failures, done=True)
        if success:
            quick = uptime < max(self.stable_after, MIN_STABLE_AFTER)
            delay = max(self.backoff_min, MIN_DELAY) if quick else 0.0
            return Decision(delay, False, self.failures)
        return self.on_exit(uptime)

    def on_exit(self, uptime: float) -> Decision:
        """Record one unplanned exit after `uptime` seconds and decide what follows."""
        if uptime >= max(self.stable_after, MIN_STABLE_AFTER):
            # It had been healthy: this is a fresh incident, replace it at once.
            self.failures = 0
            return Decision(0.0, False, 0)
        self.failures += 1
        if self.max_retry >= 0 and self.failures > self.max_retry:
            return Decision(0.0, True, self.failures)
        if self.failures == 1:
            return Decision(0.0, False, 1)
        base = min(self.backoff_max, self.backoff_min * (2 ** (self.failures - 2)))
        # Jitter in [base/2, base]: spreads restarts of many watchers that died together
        # without ever exceeding the cap.
        delay = max(MIN_DELAY, base * (0.5 + 0.5 * self._rng()))
        return Decision(delay, False, self.failures)

    def shortage_delay(self, attempt: int) -> float:
        """The delay before retry `attempt` (1, 2, ...) of a spawn the system refused for
        want of resources (descriptors, memory, processes). That is not the program's fault:
        it follows the backoff series but never counts towards `max_retry`."""
        base = max(self.backoff_min, MIN_DELAY) * (2 ** min(attempt - 1, 32))
        base = min(self.backoff_max, base)
        return max(MIN_DELAY, base * (0.5 + 0.5 * self._rng()))
