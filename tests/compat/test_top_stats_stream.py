"""The stats stream, read with circus-top's own client and drawn by circus-top's own painter."""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

import pytest
from circus.stats.client import StatsClient, _paint
from compat_support import Supervise, poll, process_info_problems

Message = tuple[str, str | None, dict[str, Any]]


class StatsCollector:
    """Runs circus-top's StatsClient in a thread and keeps what it yields."""

    def __init__(self, endpoint: str) -> None:
        self.client = StatsClient(endpoint)
        self.messages: list[Message] = []
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for watcher, subtopic, stat in self.client:
                self.messages.append((watcher, subtopic, stat))
                if self._stop.is_set():
                    return
        except BaseException as exc:  # the context is destroyed under it at the end
            if not self._stop.is_set():
                self.error = exc

    def latest(self) -> dict[tuple[str, str | None], dict[str, Any]]:
        return {(w, s): stat for w, s, stat in list(self.messages)}

    def close(self) -> None:
        self._stop.set()
        self._thread.join(3)
        if self._thread.is_alive():
            self.client.stop()
            self._thread.join(3)


class FakeScreen:
    """Just enough of a curses window for circus-top's `_paint`."""

    def __init__(self, height: int = 80, width: int = 120) -> None:
        self.size = (height, width)
        self.cells: dict[int, dict[int, str]] = defaultdict(dict)

    def getmaxyx(self) -> tuple[int, int]:
        return self.size

    def erase(self) -> None:
        self.cells.clear()

    def addstr(self, y: int, x: int, text: str) -> None:
        self.cells[y][x] = text

    def refresh(self) -> None:
        pass

    def resize(self, height: int, width: int) -> None:
        self.size = (height, width)

    def text(self) -> list[str]:
        rows = []
        for y in range(max(self.cells, default=-1) + 1):
            row = ""
            for x, text in sorted(self.cells.get(y, {}).items()):
                row = row.ljust(x)[:x] + text
            rows.append(row.rstrip())
        return rows


@pytest.fixture
def collector_factory() -> Any:
    made: list[StatsCollector] = []

    def make(endpoint: str) -> StatsCollector:
        collector = StatsCollector(endpoint)
        made.append(collector)
        return collector

    yield make
    for collector in made:
        collector.close()


def test_stats_stream(supervise: Supervise, collector_factory: Any) -> None:
    sup = supervise(
        {"sl": {"cmd": "sleep 1000", "numprocesses": 2}, "other": {"cmd": "sleep 1001"}},
        stats=True,
    )
    sl = sup.wait_pids("sl", 2)
    other = sup.wait_pids("other", 1)
    collector = collector_factory(sup.stats_endpoint)

    def complete() -> dict[tuple[str, str | None], dict[str, Any]] | None:
        assert collector.error is None, collector.error
        latest = collector.latest()
        wanted = [("sl", str(p)) for p in sl] + [("other", str(p)) for p in other]
        wanted += [("sl", None), ("other", None), ("circus", None), ("circus", str(sup.pid))]
        if not all(key in latest for key in wanted):
            return None
        if sorted(latest[("sl", None)]["pid"]) != sl:
            return None
        return latest

    latest = poll(complete, timeout=20)

    # Per process: `stat.<watcher>.<pid>`, the process info plus subtopic and name.
    problems: list[str] = []
    for watcher, pids in (("sl", sl), ("other", other), ("circus", [sup.pid])):
        for pid in pids:
            stat = latest[(watcher, str(pid))]
            problems += process_info_problems(stat, pid)
            if stat.get("subtopic") != pid:
                problems.append(f"{watcher}.{pid}: subtopic {stat.get('subtopic')!r}")
            if "name" not in stat:
                problems.append(f"{watcher}.{pid}: no 'name' (circus-top prints it)")
    assert not problems, problems
    assert latest[("sl", str(sl[0]))]["name"] is None
    # circusd names its own entries ("circusd", "circusd-stats"); circus-top shows
    # "<pid> (<name>)" for them.
    daemon_stat = latest[("circus", str(sup.pid))]
    assert isinstance(daemon_stat["name"], str) and daemon_stat["name"], daemon_stat

    # Per watcher: `stat.<watcher>`, pid list and cpu average, memory sum, oldest age.
    for watcher, pids in (("sl", sl), ("other", other)):
        stat = latest[(watcher, None)]
        assert sorted(stat["pid"]) == pids, stat
        for key in ("cpu", "mem", "age"):
            assert isinstance(stat[key], int | float) and not isinstance(stat[key], bool), stat
    assert sup.pid in latest[("circus", None)]["pid"]

    # What circus-top draws from it: its main loop's bookkeeping, then its painter.
    watchers: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for (watcher, subtopic), stat in latest.items():
        watchers[watcher][subtopic or "all"] = {**stat, "watcher": watcher}
    screen = FakeScreen()
    _paint(screen, watchers, *screen.getmaxyx())
    rows = screen.text()
    assert rows[0] == "Circus Top", rows
    for name in ("sl", "other", "circus"):
        assert name in rows, rows
        header = rows[rows.index(name) + 1]
        assert header.split() == ["PID", "CPU", "(%)", "MEMORY", "(%)", "AGE", "(s)"], rows
    for pid in sl + other:
        assert any(row.split()[:1] == [str(pid)] for row in rows), rows
    assert any(row.split()[:2] == [str(sup.pid), f"({daemon_stat['name']})"] for row in rows), rows
    assert sum(1 for row in rows if row.endswith("(older)")) >= 3, rows
