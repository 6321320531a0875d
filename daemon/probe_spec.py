"""What a watcher's `[ready]` and `[alive]` tables say, checked: which probe, against what,
and how often. The probes themselves run in daemon.probes; the health of each process is
daemon.health's."""

from __future__ import annotations

from dataclasses import dataclass

READY_KINDS = ("http", "tcp", "exec", "log", "notify")
ALIVE_KINDS = ("http", "tcp", "exec", "watchdog")


@dataclass(frozen=True)
class Probe:
    kind: str  # one of READY_KINDS or ALIVE_KINDS
    # The URL, "host:port", the command line, the regex; "" for notify and watchdog.
    target: str
    interval: float
    timeout: float
    start_timeout: float = 60.0  # [ready]: not ready by then, the process is replaced
    failures: int = 3  # [alive]: this many failures in a row replace the process
    watchdog: float = 0.0  # [alive] watchdog: seconds without WATCHDOG=1 before replacing

    def as_table(self, alive: bool) -> dict[str, object]:
        """As the file writes it (`get`, `options`, a saved configuration)."""
        table: dict[str, object] = {}
        if self.kind == "notify":
            table["notify"] = True
        elif self.kind == "watchdog":
            table["watchdog"] = self.watchdog
        else:
            table[self.kind] = self.target
        if self.kind != "watchdog":
            table["interval"] = self.interval
            table["timeout"] = self.timeout
        if alive:
            if self.kind != "watchdog":
                table["failures"] = self.failures
        else:
            table["start_timeout"] = self.start_timeout
        return table
