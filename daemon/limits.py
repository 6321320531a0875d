"""Built-in resource limits of a watcher's processes, each counted over its whole process tree
(what Circus's ResourceWatcher plugin and pm2's max_memory_restart give): `max_memory`
(bytes of resident memory, at a stats tick) and `max_cpu` (percent of one core, averaged over
`limit_window` seconds). A process over a limit is replaced gracefully, with the reason
("memory 530M over max_memory 512M"), in its exit, the events and the console."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from daemon.stats import ProcSample

_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def shown_bytes(n: float) -> str:
    for unit in ("T", "G", "M", "K"):
        size = _UNITS[unit]
        if n >= size:
            value = n / size
            return (
                f"{value:.0f}{unit}" if value >= 10 or value == int(value) else f"{value:.1f}{unit}"
            )
    return f"{n:.0f}"


@dataclass(frozen=True)
class Over:
    pid: int
    cause: str  # "max_memory" | "max_cpu"
    reason: str


class LimitWatch:
    """One watcher's limits, checked at each stats tick."""

    def __init__(self) -> None:
        # pid -> (monotonic time, tree CPU seconds) of recent ticks, as far back as the window.
        self._cpu: dict[int, deque[tuple[float, float]]] = {}

    def check(
        self,
        pids: Iterable[int],
        samples: Mapping[int, ProcSample],
        max_memory: int | None,
        max_cpu: float | None,
        window: float,
        now: float | None = None,
    ) -> list[Over]:
        now = time.monotonic() if now is None else now
        found: list[Over] = []
        alive = set()
        for pid in pids:
            sample = samples.get(pid)
            if sample is None:
                continue
            alive.add(pid)
            if max_memory is not None and sample.rss > max_memory:
                found.append(
                    Over(
                        pid,
                        "max_memory",
                        f"memory {shown_bytes(sample.rss)} over max_memory "
                        f"{shown_bytes(max_memory)}",
                    )
                )
                continue
            if max_cpu is None:
                continue
            points = self._cpu.setdefault(pid, deque())
            points.append((now, sample.cpu_time))
            # Keep the newest point at least a window old: the average is over the window.
            while len(points) > 1 and now - points[1][0] >= window:
                points.popleft()
            first_t, first_cpu = points[0]
            if now - first_t < window:
                continue  # not measured over a whole window yet
            average = (sample.cpu_time - first_cpu) / (now - first_t) * 100
            if average > max_cpu:
                found.append(
                    Over(
                        pid,
                        "max_cpu",
                        f"CPU {average:.0f}% over max_cpu {max_cpu:g}% for {now - first_t:.0f} s",
                    )
                )
                del self._cpu[pid]
        for pid in list(self._cpu):
            if pid not in alive:
                del self._cpu[pid]
        return found
