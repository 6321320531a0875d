"""The console's view model: everything the screens show, as plain Python.

The connection feeds it snapshots and stream messages; the UI tick reads what changed since
the last refresh and renders it. No Textual here, so all of it is unit-tested directly. The log
pane's scrollback is `tui.scrollback`'s; what a cell shows is `tui.cells`'.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

from daemon import protocol
from tui import cells, readiness, watcher_events
from tui.cells import number
from tui.logbuffer import LogBuffer
from tui.scrollback import (
    ALL_LOG_LINES,
    KEPT_LOGS,
    WATCHER_LOG_LINES,
    Backlog,
    Batch,
    Refill,
    Scrollback,
)
from tui.views import EventView, ProcessView, WatcherView

CONNECTING, CONNECTED, DISCONNECTED = "connecting", "connected", "disconnected"


Severity = Literal["information", "warning", "error"]  # as Textual's notifications have it


class Notice(NamedTuple):
    """Something the console says once, as a notification."""

    key: tuple[str, str]  # what it is about: the same key said twice in a row is said once
    text: str
    severity: Severity


SORT_KEYS: dict[str, Callable[[WatcherView, float], Any]] = {
    "name": lambda w, now: w.name.lower(),
    "state": lambda w, now: (w.state, w.name.lower()),
    "procs": lambda w, now: (w.running, w.target),
    "cpu": lambda w, now: w.cpu,
    "mem": lambda w, now: w.rss,
    "restarts": lambda w, now: w.restarts,
    "uptime": lambda w, now: -1 if (up := w.uptime(now)) is None else up,
}


class Store:
    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        log_lines: int = WATCHER_LOG_LINES,
        all_log_lines: int = ALL_LOG_LINES,
        kept_logs: int = KEPT_LOGS,
    ) -> None:
        self.clock = clock
        self.endpoint = ""
        self.connection = CONNECTING
        self.connection_note = ""
        self.daemon_kind = "circus-tui"  # or "circusd": a real Circus, no output streaming
        self.watchers: dict[str, WatcherView] = {}
        self.scrollback = Scrollback(clock, log_lines, all_log_lines, kept_logs)
        self.sort_key = "name"
        self.sort_reverse = False
        self.selected: str | None = None
        self.log_all = False  # show every watcher's output, not just the selected one
        # Called when the output on screen changes (selection, all): the link then follows
        # only that output.
        self.on_scope_change: Callable[[], None] | None = None
        # What changed since the UI last looked: names of watchers, and flags.
        self.dirty: set[str] = set()
        self.structure_changed = True  # watchers added or removed
        self.connection_changed = True
        self.rolls_changed = True  # a rolling reload started, went on or ended
        self.notices: list[Notice] = []
        # Some watcher's processes have a readiness worth a column (see WatcherView.probed):
        # the processes table then shows their health. Once set, it stays.
        self.shows_health = False

    @property
    def log(self) -> LogBuffer:
        """The output on screen."""
        return self.scrollback.buffer

    @property
    def log_filter(self) -> str:
        return self.scrollback.filter

    @property
    def log_changed(self) -> bool:
        return self.scrollback.changed

    @log_changed.setter
    def log_changed(self, changed: bool) -> None:
        self.scrollback.changed = changed

    # -- connection -------------------------------------------------------------------

    def set_connection(self, state: str, note: str = "") -> None:
        if (state, note) != (self.connection, self.connection_note):
            self.connection, self.connection_note = state, note
            self.connection_changed = True

    @property
    def streams_output(self) -> bool:
        return self.daemon_kind == "circus-tui"

    # -- snapshot ---------------------------------------------------------------------

    def _watcher(self, name: str) -> WatcherView:
        w = self.watchers.get(name)
        if w is None:
            w = self.watchers[name] = WatcherView(name)
            self.structure_changed = True
        self.dirty.add(name)
        return w

    def apply_status(self, reply: dict[str, Any]) -> None:
        """A `status` reply without a name: every watcher and, from our daemon, details."""
        statuses: dict[str, str] = reply.get("statuses", {})
        details: dict[str, dict[str, Any]] = reply.get("details", {})
        for name in [n for n in self.watchers if n not in statuses]:
            self.remove(name)
        for name, state in statuses.items():
            w = self._watcher(name)
            w.state = state
            if name in details:
                self._apply_details(w, details[name])
                seq = details[name].get("output_seq")
                w.output_seq_before = w.output_seq
                w.output_seq = seq if isinstance(seq, int) and not isinstance(seq, bool) else None
        if self.selected not in self.watchers and self.watchers:
            self.select(self.sorted_names()[0])

    def _apply_details(self, w: WatcherView, d: dict[str, Any]) -> None:
        w.state = d.get("state", w.state)
        w.running = int(d.get("running", w.running))
        w.target = int(d.get("numprocesses", w.target))
        w.restarts = int(d.get("restarts", w.restarts))
        w.reason = d.get("reason")
        w.last_exit = d.get("last_exit")
        w.retry_at = d.get("retry_at")
        w.started_at = d.get("started_at", w.started_at)
        w.log_error = d.get("log_error")
        roll = w.roll
        readiness.apply_details(w, d)
        self._readiness_changed(w, roll)

    def _readiness_changed(self, w: WatcherView, roll_before: object) -> None:
        if w.roll != roll_before:
            self.rolls_changed = True
        if w.probed and not self.shows_health:
            self.shows_health = True
            if self.selected is not None:
                self.dirty.add(self.selected)  # its processes table gains the column

    def apply_watcher_status(self, name: str, reply: dict[str, Any]) -> None:
        w = self._watcher(name)
        w.state = reply.get("status", w.state)
        if "details" in reply:
            self._apply_details(w, reply["details"])

    def apply_options(self, name: str, options: dict[str, Any]) -> None:
        w = self._watcher(name)
        w.options = options
        if "numprocesses" in options:
            w.target = int(options["numprocesses"])

    def apply_stats_infos(self, infos: dict[str, dict[str, Any]]) -> None:
        """A `stats` reply: per watcher, per pid, Circus's process info."""
        for name, procs in infos.items():
            if name not in self.watchers:
                continue
            w = self._watcher(name)
            seen: set[int] = set()
            for key, info in (procs or {}).items():
                if not isinstance(info, dict):
                    continue
                pid = int(info.get("pid", key))
                seen.add(pid)
                self._apply_process_info(w, pid, info)
            for pid in [p for p in w.processes if p not in seen]:
                del w.processes[pid]
            self._aggregate(w)

    def _apply_process_info(self, w: WatcherView, pid: int, info: dict[str, Any]) -> None:
        p = w.processes.get(pid)
        if p is None:
            p = w.processes[pid] = ProcessView(pid)
        p.wid = info.get("wid", p.wid)
        p.cpu = number(info.get("cpu"))
        p.mem = number(info.get("mem"))
        p.rss = int(number(info.get("rss", 0)))
        started = info.get("started") or info.get("create_time")
        if isinstance(started, int | float):
            p.started = float(started)

    def _aggregate(self, w: WatcherView) -> None:
        w.cpu = sum(p.cpu for p in w.processes.values())
        w.mem = sum(p.mem for p in w.processes.values())
        w.rss = sum(p.rss for p in w.processes.values())
        if self.daemon_kind != "circus-tui":
            # Circus has no watcher uptime: its oldest process stands in for it.
            w.running = len(w.processes)
            starts = [p.started for p in w.processes.values() if p.started]
            w.started_at = min(starts) if starts else None

    def apply_history(self, history: dict[str, Any]) -> None:
        for name, series in history.get("watchers", {}).items():
            w = self.watchers.get(name)
            if w is None:
                continue
            w.cpu_history.clear()
            w.cpu_history.extend(series.get("cpu", []))
            w.mem_history.clear()
            w.mem_history.extend(series.get("rss", series.get("mem", [])))
            self.dirty.add(name)

    # -- streams ----------------------------------------------------------------------

    def apply_stat(self, watcher: str, pid: int | None, body: dict[str, Any]) -> None:
        """One stats message: `stat.<watcher>.<pid>` or the aggregate `stat.<watcher>`."""
        w = self.watchers.get(watcher)
        if w is None:
            return
        if pid is not None:
            if pid in w.processes or len(w.processes) < max(w.target, w.running, 1) + 8:
                self._apply_process_info(w, pid, body)
            self.dirty.add(watcher)
            return
        pids = {int(p) for p in body.get("pid", []) if str(p).isdigit()}
        for gone in [p for p in w.processes if p not in pids]:
            del w.processes[gone]
        cpu_total = body.get("cpu_total")
        if cpu_total is None:
            cpu_total = number(body.get("cpu")) * max(1, len(pids))
        w.cpu = number(cpu_total)
        w.mem = number(body.get("mem"))
        if "rss" in body:
            w.rss = int(number(body["rss"]))
        else:
            w.rss = sum(p.rss for p in w.processes.values())
        if self.daemon_kind != "circus-tui":
            w.running = len(pids)
        w.cpu_history.append(w.cpu)
        # Circus sends no byte counts: its memory trend is in percent of RAM.
        w.mem_history.append(float(w.rss) if self.streams_output else w.mem)
        self.dirty.add(watcher)

    def apply_event(self, watcher: str, event: str, body: dict[str, Any]) -> None:
        name = self._resolve(watcher)
        if event == "remove":
            if name is not None:
                self.remove(name)
            return
        if name is None:
            if event != "add":
                return
            name = watcher
        w = self._watcher(name)
        now = number(body.get("time")) or self.clock()
        roll = w.roll
        w.events.append(EventView(now, event, watcher_events.apply(w, event, body, now)))
        self._readiness_changed(w, roll)
        if event == "roll" and body.get("phase") == "aborted":
            why = cells.shown(readiness.text(body.get("reason")) or "no reason given", 300)
            self.notices.append(
                Notice(("roll-aborted", name), f"reload {name} aborted: {why}", "error")
            )

    def apply_output(self, batch: Batch) -> Refill | None:
        """One output batch. Returns a refill when lines were missed: the caller fetches the
        backlog and hands it to `finish_refill`. Output of a watcher not on screen is ignored
        (it can still arrive for a moment after the link stopped following it)."""
        name = self._resolve(str(batch.get("watcher", ""))) or str(batch.get("watcher", ""))
        if not self.log_all and name != self.selected:
            return None
        return self.scrollback.add(name, batch)

    def stale_output(self) -> list[Refill]:
        """Refills for each watcher on screen whose lines the daemon had written a heartbeat
        ago and that still have not come (see `Scrollback.behind`)."""
        names = list(self.watchers) if self.log_all else [self.selected] if self.selected else []
        written: dict[str, int] = {}
        for name in names:
            w = self.watchers.get(name)
            if w is not None and w.output_seq_before is not None:
                written[name] = w.output_seq_before
        return self.scrollback.behind(written)

    def refill_on_screen(self) -> Refill | None:
        """The backlog of the output just put on screen (all of it if it was never shown)."""
        if self.log_all:
            return self.scrollback.refill_shown(list(self.watchers))
        if self.selected is not None:
            return self.scrollback.refill_shown([self.selected])
        return None

    def finish_refill(self, refill: Refill, backlogs: dict[str, Backlog | None]) -> None:
        self.scrollback.finish_refill(refill, backlogs)

    def forget_output(self) -> None:
        self.scrollback.forget()

    # -- selection, sorting, structure ------------------------------------------------

    def remove(self, name: str) -> None:
        w = self.watchers.pop(name, None)
        if w is not None and w.roll is not None:
            self.rolls_changed = True
        self.dirty.discard(name)
        self.scrollback.drop(name)
        self.structure_changed = True
        if self.selected == name:
            names = self.sorted_names()
            self.selected = None
            self.select(names[0] if names else None)
            self._update_log_scope()

    def _resolve(self, topic_name: str) -> str | None:
        """Events name watchers as topics spell them; find the watcher as it is spelled."""
        if topic_name in self.watchers:
            return topic_name
        for name in self.watchers:
            if protocol.topic_name(name) == topic_name:
                return name
        return None

    def sorted_names(self) -> list[str]:
        key = SORT_KEYS[self.sort_key]
        now = self.clock()
        by_name = sorted(self.watchers.values(), key=lambda w: w.name.lower())
        ordered = sorted(by_name, key=lambda w: key(w, now), reverse=self.sort_reverse)
        return [w.name for w in ordered]

    def set_sort(self, key: str) -> None:
        """Sort by `key`; choosing the current key again reverses the order."""
        if key not in SORT_KEYS:
            raise KeyError(key)
        if key == self.sort_key:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_key, self.sort_reverse = key, key in ("cpu", "mem", "restarts")
        self.structure_changed = True

    def select(self, name: str | None) -> None:
        if name != self.selected and (name is None or name in self.watchers):
            self.selected = name
            self._update_log_scope()

    def set_log_all(self, everything: bool) -> None:
        self.log_all = everything
        self._update_log_scope()

    def set_filter(self, text: str) -> None:
        self.scrollback.set_filter(text)

    def _update_log_scope(self) -> None:
        shown = self.scrollback.show(self.selected, everything=self.log_all)
        if shown and self.on_scope_change is not None:
            self.on_scope_change()

    def take_dirty(self) -> set[str]:
        dirty, self.dirty = self.dirty, set()
        return dirty

    def take_notices(self) -> list[Notice]:
        notices, self.notices = self.notices, []
        return notices

    # -- what the tables show ---------------------------------------------------------

    def watcher_cells(self, name: str, spark_width: int = 12) -> tuple[str, ...]:
        return cells.watcher_cells(self.watchers[name], self.clock(), spark_width)

    def process_rows(self, name: str) -> list[tuple[str, tuple[str, ...]]]:
        w = self.watchers.get(name)
        return cells.process_rows(w, self.clock(), self.shows_health) if w is not None else []

    def rolls_text(self) -> str:
        """The rolling reloads in progress, for the status line ("" when none)."""
        return "; ".join(
            cells.roll_text(name, w.roll)
            for name, w in sorted(self.watchers.items())
            if w.roll is not None
        )
