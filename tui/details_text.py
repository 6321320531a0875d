"""What the details screen says of a watcher's readiness: its dependency chain with each
condition and whether it holds, and each process's health with its last probe result.

Plain text, made safe (`tui.cells.shown`): probe details carry a child's output and STATUS=
texts are a child's words.
"""

from __future__ import annotations

from collections.abc import Mapping

from tui import readiness
from tui.cells import fmt_duration, shown, state_text
from tui.views import HealthView, ProbeView, WatcherView

DETAIL_CELLS = 120  # of a probe's detail or a STATUS= text on one line


def dependency_lines(watchers: Mapping[str, WatcherView], name: str, now: float) -> list[str]:
    """What the watcher waits for (the daemon's word), then its chain: `✓` where the
    condition holds as the console sees it, `✗` where it does not yet."""
    w = watchers.get(name)
    if w is None:
        return []
    lines = [f"waiting for {shown(w.waiting_for, DETAIL_CELLS)}"] if w.waiting_for else []
    for link in readiness.chain(watchers, name):
        indent = "    " * link.depth
        dep = shown(link.name, 64)
        condition = shown(link.condition, 16)
        if link.watcher is None:
            lines.append(f"{indent}✗ {dep} {condition} (no such watcher)")
            continue
        mark = "✓" if link.holds else "✗"
        lines.append(f"{indent}{mark} {dep} {condition} (now {state_text(link.watcher, now)})")
    return lines


def health_lines(w: WatcherView, now: float) -> list[str]:
    """One line per process the daemon reports readiness of, by worker id; none when there is
    nothing more to say than "running, so ready" (a watcher without probes)."""
    if not any(readiness.worth_showing(h) for h in w.health.values()):
        return []

    def slot(pid: int) -> tuple[int, int]:
        p = w.processes.get(pid)
        return (p.wid or 0) if p else 0, pid

    lines = []
    for pid in sorted(w.health, key=slot):
        p = w.processes.get(pid)
        wid = f" (wid {p.wid})" if p is not None and p.wid else ""
        lines.append(f"pid {pid}{wid} {_health(w.health[pid], now)}")
    return lines


def _health(h: HealthView, now: float) -> str:
    parts = [shown(h.health, 12)]
    if h.status:
        parts.append(f"“{shown(h.status, DETAIL_CELLS)}”")
    if h.probe is not None:
        parts.append(_probe(h.probe, now))
    return ", ".join(parts)


def _probe(probe: ProbeView, now: float) -> str:
    kind = f"{shown(probe.probe, 8)} probe" if probe.probe else "probe"
    outcome = "passed" if probe.ok else "failed"
    ago = f" {fmt_duration(now - probe.time)} ago" if probe.time else ""
    detail = f": {shown(probe.detail, DETAIL_CELLS)}" if probe.detail else ""
    return f"{kind} {outcome}{ago}{detail}"
