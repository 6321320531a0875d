"""Readiness in the view model: the status details keys of probes, dependencies, one-shots and
rolling reloads applied to a watcher; whether a dependency's condition holds, as the console
sees the watchers; and when a watcher reads as unhealthy.

Nothing here trusts the wire's types: a key of the wrong type reads as absent. Text from the
daemon (reasons, probe details, STATUS= texts a child sent) is stored as it came and made
safe where it is shown (tui.cells, tui.screens.details).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from tui.views import HealthView, ProbeView, RollView, WatcherView

CONDITIONS = ("started", "ready", "completed")
HEALTHS = ("starting", "ready", "unhealthy", "stopping")
# A watcher reads `unhealthy (reason)` this long after one of its processes failed its
# liveness probe (it may already be replaced: the reason stays in view a while).
UNHEALTHY_FOR = 60.0


def count(value: Any) -> int | None:
    """A count from the wire: a non-negative int, else None (a bool is no count)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def seconds(value: Any) -> float | None:
    """A time or a duration from the wire: a number, else None (a bool is none)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def apply_details(w: WatcherView, d: Mapping[str, Any]) -> None:
    """The readiness keys of one watcher's `status` details. A daemon that does not send
    them (circusd, or ours before them) leaves the view as it was."""
    if "ready" in d:
        w.ready = count(d["ready"])
    if "completed" in d:
        w.completed = count(d["completed"]) or 0
    if "waiting_for" in d:
        w.waiting_for = text(d["waiting_for"])
    if "depends_on" in d:
        deps = d["depends_on"]
        w.depends_on = (
            {k: v for k, v in deps.items() if isinstance(k, str) and isinstance(v, str)}
            if isinstance(deps, dict)
            else {}
        )
    if "roll" in d:
        w.roll = roll(d["roll"])
    if "health" in d:
        health = d["health"]
        w.health = dict(_healths(health)) if isinstance(health, dict) else {}
        if any(worth_showing(h) for h in w.health.values()):
            w.probed = True


def roll(value: Any) -> RollView | None:
    if not isinstance(value, dict):
        return None
    replaced, total = count(value.get("replaced")), count(value.get("total"))
    return RollView(replaced, total) if replaced is not None and total is not None else None


def _healths(health: dict[Any, Any]) -> Iterator[tuple[int, HealthView]]:
    for key, entry in health.items():
        if not (isinstance(key, str) and key.isdigit() and isinstance(entry, dict)):
            continue
        state = entry.get("health")
        yield (
            int(key),
            HealthView(
                state if isinstance(state, str) else "starting",
                text(entry.get("status")),
                probe(entry.get("probe")),
            ),
        )


def probe(value: Any) -> ProbeView | None:
    if not isinstance(value, dict) or not isinstance(value.get("ok"), bool):
        return None
    return ProbeView(
        value["ok"], text(value.get("detail")) or "", seconds(value.get("time")) or 0.0
    )


def worth_showing(h: HealthView) -> bool:
    """More than "running, so ready": a configuration without probes never reports this."""
    return h.health != "ready" or h.status is not None or h.probe is not None


def health_of(w: WatcherView, pid: int) -> HealthView:
    """The process's entry, made when an event comes first (a process is starting until the
    daemon says it is ready)."""
    h = w.health.get(pid)
    if h is None:
        h = w.health[pid] = HealthView("starting")
    return h


def unhealthy_reason(w: WatcherView, now: float) -> str | None:
    """Why the watcher reads unhealthy: a process the daemon reports unhealthy now, or one
    that failed its liveness probe less than UNHEALTHY_FOR ago. None when neither."""
    for h in w.health.values():
        if h.health == "unhealthy":
            if h.probe is not None and not h.probe.ok and h.probe.detail:
                return h.probe.detail
            return w.unhealthy[0] if w.unhealthy else "liveness probe failed"
    if w.unhealthy is not None and now - w.unhealthy[1] < UNHEALTHY_FOR:
        return w.unhealthy[0]
    return None


def holds(condition: str, dep: WatcherView | None) -> bool:
    """Whether `dep` meets `condition` as the console sees it (the daemon decides; its word
    is the waiting watcher's `waiting_for`)."""
    if dep is None:
        return False
    if condition == "completed":
        return dep.state == "completed"
    if condition == "started":
        return dep.state == "completed" or (
            dep.state in ("active", "starting") and dep.running >= dep.target
        )
    if condition == "ready":
        ready = dep.running if dep.ready is None else dep.ready
        return dep.state == "active" and dep.target > 0 and ready >= dep.target
    return False


class Link(NamedTuple):
    """One dependency in a watcher's chain."""

    depth: int  # 0: a dependency of the watcher itself; 1: of that dependency...
    name: str
    condition: str
    holds: bool
    watcher: WatcherView | None  # None: the console knows no watcher of that name


def chain(watchers: Mapping[str, WatcherView], name: str) -> list[Link]:
    """The dependencies of `name`, each followed by its own, depth first. A watcher already
    listed above is not followed again (the daemon refuses cycles; a diamond is listed once
    per path, without its dependencies the second time)."""
    links: list[Link] = []
    seen = {name}

    def walk(of: str, depth: int) -> None:
        w = watchers.get(of)
        for dep, condition in sorted((w.depends_on if w else {}).items()):
            target = watchers.get(dep)
            links.append(Link(depth, dep, condition, holds(condition, target), target))
            if dep not in seen:
                seen.add(dep)
                walk(dep, depth + 1)

    walk(name, 0)
    return links
