"""What a cell shows: sizes, durations, percentages, trends and state wording, as text.

Pure functions of the view model's values and the time; no Textual. Text from the daemon
(reasons, probe details, a child's STATUS= text) goes through `shown`: made safe, one line,
cut to the room of a cell.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len, set_cell_size

from tui import readiness
from tui.sanitize import plain_text

if TYPE_CHECKING:
    from tui.views import HealthView, RollView, WatcherView

SPARK = "▁▂▃▄▅▆▇█"
REASON_CELLS = 24  # of a reason in the State column
STATUS_CELLS = 24  # of a STATUS= text in the Health column


def number(value: Any) -> float:
    """A number from the wire, or 0.0 for anything else (a bool is not a number here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return float(value)


def fmt_bytes(n: float) -> str:
    for unit in ("B", "K", "M", "G", "T"):
        if abs(n) < 1024 or unit == "T":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024
    return f"{n:.1f}T"


def fmt_percent(value: float) -> str:
    return f"{value:.1f}"


def fmt_memory(rss: int, mem: float) -> str:
    """Bytes when the daemon counts them; Circus sends only a percentage of RAM."""
    return fmt_bytes(rss) if rss else f"{mem:.1f}%"


def fmt_duration(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "-"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def fmt_age(started: float | None, now: float) -> str:
    """How long ago something started; "-" when it is not known."""
    return fmt_duration(now - started) if started else "-"


def sparkline(values: Iterable[float], width: int, top: float | None = None) -> str:
    points = list(values)[-width:]
    if not points:
        return ""
    high = top if top is not None else max(max(points), 1e-9)
    scale = len(SPARK) - 1
    return "".join(SPARK[min(scale, max(0, round(v / high * scale)))] for v in points)


def short_exit(text: str | None) -> str:
    """ "exited with code 3 after 1.2 s" -> "code 3"; "killed by SIGKILL ..." -> "SIGKILL"."""
    if not text:
        return ""
    words = text.split()
    if "code" in words and words.index("code") + 1 < len(words):
        return f"code {words[words.index('code') + 1]}"
    if "by" in words and words.index("by") + 1 < len(words):
        return words[words.index("by") + 1]
    return words[0]


def shown(text: str, cells: int) -> str:
    """Text from the daemon as a cell shows it: sanitised (no control reaches the terminal,
    a line break is a visible symbol), cut to `cells` with a `…`."""
    safe = plain_text(text[: cells * 4 + 64])
    if cell_len(safe) <= cells:
        return safe
    return set_cell_size(safe, cells - 1) + "…"


def state_text(w: WatcherView, now: float) -> str:
    """The state, with the countdown and the last exit when the policy is at work, what a
    waiting watcher waits for, and readiness while it is not whole (see docs/console.md)."""
    if w.retry_at and w.state == "active":
        last = short_exit(w.last_exit)
        return f"backoff {max(0, w.retry_at - now):.0f}s" + (f" ({last})" if last else "")
    if w.state == "failed":
        last = short_exit(w.last_exit)
        return "failed" + (f" ({last})" if last else "")
    if w.state == "waiting":
        # "migrate: running 3 s": the name here, the whole of it on the details screen.
        on = (w.waiting_for or "").partition(":")[0].strip()
        return f"waiting for {shown(on, REASON_CELLS)}" if on else "waiting"
    if w.state == "active":
        why = readiness.unhealthy_reason(w, now)
        if why is not None:
            return f"unhealthy ({shown(why, REASON_CELLS)})"
        if w.probed and w.ready is not None and w.ready < w.target:
            return f"ready {w.ready}/{w.target}" if w.ready else "starting"
    return w.state


def health_text(h: HealthView | None) -> str:
    """A process's Health cell: its readiness, and the STATUS= text it sent, if any."""
    if h is None:
        return ""
    state = shown(h.health, 12)
    return f"{state}: {shown(h.status, STATUS_CELLS)}" if h.status else state


def roll_text(name: str, roll: RollView) -> str:
    return f"reloading {shown(name, 64)}: {roll.replaced}/{roll.total} replaced"


def watcher_cells(w: WatcherView, now: float, spark_width: int = 12) -> tuple[str, ...]:
    """A row of the watchers table."""
    return (
        w.name,
        state_text(w, now),
        f"{w.running}/{w.target}",
        fmt_percent(w.cpu),
        fmt_memory(w.rss, w.mem),
        str(w.restarts),
        fmt_duration(w.uptime(now)),
        sparkline(w.cpu_history, spark_width, top=max(100.0, max(w.cpu_history, default=0))),
    )


def process_rows(
    w: WatcherView, now: float, health: bool = False
) -> list[tuple[str, tuple[str, ...]]]:
    """The rows of the processes table, by worker id; with a Health cell after the state
    when `health` (the table then has that column)."""
    rows = []
    for p in sorted(w.processes.values(), key=lambda p: (p.wid or 0, p.pid)):
        cells = (
            str(p.pid),
            str(p.wid or "-"),
            fmt_percent(p.cpu),
            fmt_memory(p.rss, p.mem),
            fmt_age(p.started, now),
            p.state,
            *((health_text(w.health.get(p.pid)),) if health else ()),
            shown(w.last_exit_by_wid.get(p.wid or -1, ""), 64),
        )
        # Keyed by position, not pid: switching watchers then rewrites cells in place
        # instead of removing and adding rows, which would lay the screen out again.
        rows.append((str(len(rows)), cells))
    return rows
