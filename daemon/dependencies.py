"""The order watchers start and stop in, from their `depends_on`: a dependency starts before
what depends on it and stops after it; priority breaks ties. And what a waiting watcher still
waits for."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, Protocol, TypeVar

from daemon.checks import CheckError


class Configured(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def priority(self) -> int: ...

    @property
    def depends_on(self) -> dict[str, str]: ...


C = TypeVar("C", bound=Configured)


def dependency_order(configs: Iterable[C]) -> list[list[C]]:
    """Start order in levels: every watcher of a level depends only on earlier levels; within
    a level, higher priority first. Raises CheckError(`NAME.OTHER`) for a dependency on an
    unknown watcher, on itself, or in a cycle."""
    items = list(configs)
    by_lower = {c.name.lower(): c for c in items}
    needs: dict[str, set[str]] = {}
    for c in items:
        wanted: set[str] = set()
        for other in c.depends_on:
            found = by_lower.get(other.lower())
            if found is None:
                raise CheckError(f"{c.name}.{other}", "no such watcher")
            if found is c:
                raise CheckError(f"{c.name}.{other}", "a watcher cannot depend on itself")
            wanted.add(found.name.lower())
        needs[c.name.lower()] = wanted
    levels: list[list[C]] = []
    placed: set[str] = set()
    while len(placed) < len(items):
        level = [
            c for c in items if c.name.lower() not in placed and needs[c.name.lower()] <= placed
        ]
        if not level:
            raise CheckError(*_cycle(items, needs, placed))
        level.sort(key=lambda c: -c.priority)
        levels.append(level)
        placed.update(c.name.lower() for c in level)
    return levels


def _cycle(
    items: list[Configured], needs: dict[str, set[str]], placed: set[str]
) -> tuple[str, str]:
    """A key and a message naming one cycle among the watchers not placed."""
    names = {c.name.lower(): c.name for c in items}
    start = next(n for n in needs if n not in placed)
    path = [start]
    while True:
        following = sorted(needs[path[-1]] - placed)[0]
        if following in path:
            loop = [*path[path.index(following) :], following]
            first = loop[0]
            return (
                f"{names[first]}.{names[loop[1]]}",
                "a dependency cycle: " + " -> ".join(names[n] for n in loop),
            )
        path.append(following)


class Dependency(Protocol):
    """What a condition looks at in the watcher depended on."""

    name: str
    state: str
    started_at: float | None
    reason: str | None

    @property
    def numprocesses(self) -> int: ...

    def live(self) -> list[Any]: ...

    def ready(self) -> int: ...


def holds(dep: Dependency, condition: str) -> bool:
    if condition == "completed":
        return dep.state == "completed"
    if condition == "ready":
        return dep.state == "active" and dep.ready() >= dep.numprocesses
    # started: every process spawned (a one-shot that already completed was, too)
    return dep.state == "completed" or (
        dep.state == "active" and len(dep.live()) >= dep.numprocesses
    )


def describe(dep: Dependency, condition: str, now: float) -> str:
    """How the watcher depended on stands, for "waiting for NAME: …"."""
    if dep.state in ("active", "starting"):
        age = f"running {now - dep.started_at:.0f} s" if dep.started_at else "running"
        if condition == "ready":
            age += f", {dep.ready()}/{dep.numprocesses} ready"
        return age
    if dep.state == "failed":
        return f"failed: {dep.reason}"
    if dep.state == "waiting":
        return dep.reason or "waiting"
    return dep.state


class Blocker(NamedTuple):
    """The first condition that does not hold: on whom, in which state, and worded
    ("migrate: running 3 s")."""

    name: str
    state: str
    text: str


def unmet(
    depends_on: dict[str, str], find: Callable[[str], Dependency | None], now: float
) -> Blocker | None:
    for other, condition in depends_on.items():
        dep = find(other)
        if dep is None:
            return Blocker(other, "absent", f"{other}: no such watcher")
        if not holds(dep, condition):
            return Blocker(dep.name, dep.state, f"{dep.name}: {describe(dep, condition, now)}")
    return None
