"""The console's view model: everything the screens show, as plain Python.

The connection feeds it snapshots and stream messages; the UI tick reads what changed since
the last refresh and renders it. No Textual here, so all of it is unit-tested directly.
"""

from __future__ import annotations

import itertools
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from tui.logbuffer import LogBuffer, LogEntry

HISTORY_POINTS = 600  # ten minutes at one sample a second
WATCHER_LOG_LINES = 5_000  # scrollback of one watcher's output
ALL_LOG_LINES = 10_000  # scrollback of every watcher's output together
KEPT_LOGS = 8  # watchers whose scrollback is kept while others are shown
EVENTS_KEPT = 200
SPARK = "▁▂▃▄▅▆▇█"

CONNECTING, CONNECTED, DISCONNECTED = "connecting", "connected", "disconnected"


@dataclass
class ProcessView:
    pid: int
    wid: int | None = None
    cpu: float = 0.0
    mem: float = 0.0
    rss: int = 0
    started: float | None = None
    state: str = "running"


@dataclass(frozen=True)
class EventView:
    time: float
    kind: str  # spawn, reap, kill, start, stop, backoff, failed, ...
    text: str


@dataclass
class WatcherView:
    name: str
    state: str = "unknown"
    running: int = 0
    target: int = 0
    cpu: float = 0.0  # whole trees, percent of one core
    mem: float = 0.0  # percent of RAM
    rss: int = 0
    restarts: int = 0
    started_at: float | None = None
    reason: str | None = None
    last_exit: str | None = None
    retry_at: float | None = None
    log_error: str | None = None  # why its output is not written to its log file now
    # The daemon's last output sequence number at the last two heartbeats (our daemon only).
    output_seq: int | None = None
    output_seq_before: int | None = None
    cpu_history: deque[float] = field(default_factory=lambda: deque(maxlen=HISTORY_POINTS))
    mem_history: deque[float] = field(default_factory=lambda: deque(maxlen=HISTORY_POINTS))
    processes: dict[int, ProcessView] = field(default_factory=dict)
    last_exit_by_wid: dict[int, str] = field(default_factory=dict)
    events: deque[EventView] = field(default_factory=lambda: deque(maxlen=EVENTS_KEPT))
    options: dict[str, Any] = field(default_factory=dict)


# -- formatting (pure functions: what a cell shows) ------------------------------------


def fmt_bytes(n: float) -> str:
    for unit in ("B", "K", "M", "G", "T"):
        if abs(n) < 1024 or unit == "T":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024
    return f"{n:.1f}T"


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


def state_text(w: WatcherView, now: float) -> str:
    """The state, with the countdown and the last exit when the policy is at work."""
    if w.retry_at and w.state == "active":
        last = short_exit(w.last_exit)
        return f"backoff {max(0, w.retry_at - now):.0f}s" + (f" ({last})" if last else "")
    if w.state == "failed":
        last = short_exit(w.last_exit)
        return "failed" + (f" ({last})" if last else "")
    return w.state


SORT_KEYS: dict[str, Callable[[WatcherView, float], Any]] = {
    "name": lambda w, now: w.name.lower(),
    "state": lambda w, now: (w.state, w.name.lower()),
    "procs": lambda w, now: (w.running, w.target),
    "cpu": lambda w, now: w.cpu,
    "mem": lambda w, now: w.rss,
    "restarts": lambda w, now: w.restarts,
    "uptime": lambda w, now: (now - w.started_at) if w.started_at and w.running else -1,
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
        # Scrollback: one buffer per watcher shown lately, one for all watchers together.
        # Output is only ever added to the buffer on screen (the link follows only that
        # output); a buffer shown again is brought up to date from the daemon's backlog.
        self._log_lines, self._kept_logs = log_lines, kept_logs
        self._logs: OrderedDict[str, LogBuffer] = OrderedDict()
        self.all_log = LogBuffer(maxlen=all_log_lines)
        self._no_log = LogBuffer(maxlen=1)  # shown while no watcher is selected
        self.log = self._no_log  # the buffer on screen
        # Per (buffer, watcher) whose backlog is being fetched: the latest fetch's token, and
        # the batches that arrived meanwhile. Only the latest fetch is used: an earlier one
        # (a quick back-and-forth, a session that ended) may be older than what waits.
        self._refilling: dict[tuple[LogBuffer, str], tuple[int, list[dict[str, Any]]]] = {}
        self._refill_tokens = itertools.count(1)
        self.sort_key = "name"
        self.sort_reverse = False
        self.selected: str | None = None
        self.log_all = False  # show every watcher's output, not just the selected one
        self.log_filter = ""
        # Called when the output on screen changes (selection, all): the link then follows
        # only that output.
        self.on_scope_change: Callable[[], None] | None = None
        # What changed since the UI last looked: names of watchers, and flags.
        self.dirty: set[str] = set()
        self.structure_changed = True  # watchers added or removed
        self.log_changed = False
        self.connection_changed = True

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
        p.cpu = _num(info.get("cpu"))
        p.mem = _num(info.get("mem"))
        p.rss = int(_num(info.get("rss", 0)))
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
            cpu_total = _num(body.get("cpu")) * max(1, len(pids))
        w.cpu = _num(cpu_total)
        w.mem = _num(body.get("mem"))
        if "rss" in body:
            w.rss = int(_num(body["rss"]))
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
        now = _num(body.get("time")) or self.clock()
        pid = body.get("process_pid")
        text = event
        if event == "spawn" and isinstance(pid, int):
            w.processes.setdefault(pid, ProcessView(pid, wid=body.get("wid"), started=now))
            w.running = sum(1 for p in w.processes.values() if p.state == "running")
            text = f"spawned pid {pid}" + (f" (wid {body['wid']})" if "wid" in body else "")
        elif event == "reap" and isinstance(pid, int):
            p = w.processes.pop(pid, None)
            reason = body.get("reason") or _exit_text(body.get("exit_code"))
            wid = body.get("wid", p.wid if p else None)
            if wid is not None:
                w.last_exit_by_wid[int(wid)] = reason
            w.running = sum(1 for p in w.processes.values() if p.state == "running")
            text = f"pid {pid} {reason}"
        elif event == "kill" and isinstance(pid, int):
            if pid in w.processes:
                w.processes[pid].state = "stopping"
            text = f"stopping pid {pid}"
        elif event == "backoff":
            w.retry_at = body.get("retry_at")
            w.last_exit = body.get("reason") or w.last_exit
            w.reason = f"backing off after {body.get('reason')}"
            text = f"backoff {_num(body.get('delay')):.1f}s after {body.get('reason')}"
        elif event == "failed":
            w.state = "failed"
            w.reason = body.get("reason")
            w.retry_at = None
            text = f"failed: {body.get('reason')}"
        elif event == "log_error":
            lost = body.get("lost")
            count = lost if isinstance(lost, int) and not isinstance(lost, bool) else 0
            w.log_error = f"{body.get('reason')} ({count:,} lines not written)"
            text = f"log file {body.get('path')}: {w.log_error}"
        elif event == "log_resumed":
            w.log_error = None
            text = f"log file {body.get('path')} written again"
        elif event in ("start", "stop"):
            w.state = "active" if event == "start" else "stopped"
            w.retry_at = None
            if event == "start":
                w.started_at = now
                w.reason = None
        w.events.append(EventView(now, event, text))

    def apply_output(self, batch: dict[str, Any]) -> tuple[str, int, int] | None:
        """One output batch. Returns (watcher, since, token) when lines were missed: the
        caller fetches them with `tail` and hands them to `finish_refill` with the token;
        batches arriving meanwhile wait, so the pane stays in order. Output of a watcher not
        on screen is ignored (it can still arrive for a moment after the link stopped
        following it)."""
        name = self._resolve(str(batch.get("watcher", ""))) or str(batch.get("watcher", ""))
        if not self.log_all and name != self.selected:
            return None
        buffer = self.log
        pending = self._refilling.get((buffer, name))
        if pending is not None:
            pending[1].append(batch)
            return None
        seen = buffer.seen.get(name)
        if seen is not None and int(batch.get("first", 0)) > seen + 1:
            token = self.begin_refill(buffer, [name])
            self._refilling[(buffer, name)][1].append(batch)
            return (name, seen, token)
        self._add_batch(buffer, name, batch)
        return None

    def _add_batch(self, buffer: LogBuffer, name: str, batch: dict[str, Any]) -> None:
        seen = buffer.seen.get(name)
        self._add_lines(
            buffer,
            name,
            [ln for ln in batch.get("lines", []) if seen is None or ln["seq"] > seen],
        )
        buffer.seen[name] = max(int(batch.get("last", 0)), seen or 0)

    def stale_output(self) -> list[tuple[str, int, int]]:
        """(watcher, since, token) for each watcher on screen whose lines the daemon had
        written a heartbeat ago and that still have not come: dropped on the way, with no
        later batch to show the gap (the output ended while the console was stopped). The
        caller fetches them as for `apply_output`'s gaps."""
        names = list(self.watchers) if self.log_all else [self.selected] if self.selected else []
        stale: list[tuple[str, int, int]] = []
        for name in names:
            w, seen = self.watchers.get(name), self.log.seen.get(name)
            if w is None or seen is None or (self.log, name) in self._refilling:
                continue
            if w.output_seq_before is not None and w.output_seq_before > seen:
                stale.append((name, seen, self.begin_refill(self.log, [name])))
        return stale

    def begin_refill(self, buffer: LogBuffer, names: Iterable[str]) -> int:
        """A backlog is being fetched for these watchers: their batches wait for it. Returns
        the token to hand to `finish_refill`; a later fetch for the same watcher supersedes
        this one (it keeps the batches that already wait)."""
        token = next(self._refill_tokens)
        for name in names:
            pending = self._refilling.get((buffer, name))
            self._refilling[(buffer, name)] = (token, pending[1] if pending else [])
        return token

    def finish_refill(
        self,
        buffer: LogBuffer,
        backlogs: dict[str, tuple[list[dict[str, Any]], int] | None],
        token: int,
    ) -> None:
        """Backlogs from `tail` (lines, last_seq) per watcher, or None when one could not be
        fetched: what the buffer lacks is added, lines from several watchers in time order,
        then the batches that waited. Lines the daemon no longer had, or that were too many
        to fetch, are replaced by a note saying how many. A fetch superseded by a later one
        for the same watcher, or from before `forget_output`, is dropped: the later one
        fetches all of it."""
        backlogs = {
            name: backlog
            for name, backlog in backlogs.items()
            if self._refilling.get((buffer, name), (None,))[0] == token
        }
        fresh: list[LogEntry] = []
        for name, backlog in backlogs.items():
            seen = buffer.seen.get(name)
            if backlog is None:
                continue  # the waiting batches say what is missing, below
            lines, last_seq = backlog
            lines = [ln for ln in lines if seen is None or ln["seq"] > seen]
            if seen is not None and lines and lines[0]["seq"] > seen + 1:
                note = self._note(name, seen + 1, lines[0]["seq"] - 1, "not fetched")
                fresh.append(note._replace(time=_num(lines[0].get("time"))))
            fresh.extend(self._entries(name, lines))
            buffer.seen[name] = max(int(last_seq), seen or 0)
        if len(backlogs) > 1:
            fresh.sort(key=lambda e: e.time)  # stable: each watcher's lines stay in order
        if fresh:
            buffer.extend(fresh)
        self.log_changed = True
        for name in backlogs:
            for batch in self._refilling.pop((buffer, name))[1]:
                seen = buffer.seen.get(name)
                first = int(batch.get("first", 0))
                if seen is not None and first > seen + 1:
                    why = "lost" if backlogs[name] is not None else "could not be fetched"
                    buffer.extend([self._note(name, seen + 1, first - 1, why)])
                self._add_batch(buffer, name, batch)

    def _note(self, name: str, first: int, last: int, why: str) -> LogEntry:
        count = last - first + 1
        text = f"… {count:,} line{'s' if count != 1 else ''} {why} here: the log file has them"
        return LogEntry(last, self.clock(), name, 0, "note", text)

    def _add_lines(self, buffer: LogBuffer, name: str, lines: list[dict[str, Any]]) -> None:
        if lines:
            buffer.extend(self._entries(name, lines))
            self.log_changed = True

    @staticmethod
    def _entries(name: str, lines: list[dict[str, Any]]) -> list[LogEntry]:
        try:
            # The daemon's own shape: positional, no checks (ten thousand lines a second).
            # A stream is stdout or stderr: "note" is the console's own, never the wire's.
            return [
                LogEntry(
                    ln["seq"],
                    ln["time"],
                    name,
                    ln["pid"],
                    "stderr" if ln["stream"] == "stderr" else "stdout",
                    ln["data"],
                    ln["partial"],
                )
                for ln in lines
            ]
        except (KeyError, TypeError):
            return [
                LogEntry(
                    seq=int(ln.get("seq", 0)),
                    time=_num(ln.get("time")),
                    watcher=name,
                    pid=int(ln.get("pid", 0)),
                    stream="stderr" if ln.get("stream") == "stderr" else "stdout",
                    text=str(ln.get("data", "")),
                    partial=bool(ln.get("partial", False)),
                )
                for ln in lines
            ]

    def forget_output(self) -> None:
        """The daemon is another one (restarted): its sequence numbers start again. What was
        shown stays, and is marked; everything new is fetched afresh."""
        for buffer in (*self._logs.values(), self.all_log):
            if buffer.seen:
                buffer.seen = {}
                note = "— the daemon restarted; output before this line is from before —"
                buffer.extend([LogEntry(0, self.clock(), "", 0, "note", note)])
        self._refilling.clear()
        self.log_changed = True

    # -- selection, sorting, structure ------------------------------------------------

    def remove(self, name: str) -> None:
        self.watchers.pop(name, None)
        self.dirty.discard(name)
        # A watcher added again under this name starts its sequence numbers afresh.
        self._logs.pop(name, None)
        self.all_log.seen.pop(name, None)
        for pending in [key for key in self._refilling if key[1] == name]:
            del self._refilling[pending]
        self.structure_changed = True
        if self.selected == name:
            names = self.sorted_names()
            self.selected = None
            self.select(names[0] if names else None)
            self._update_log_scope()

    def _resolve(self, topic_name: str) -> str | None:
        """Events name watchers lower-cased; find the watcher as it is spelled."""
        if topic_name in self.watchers:
            return topic_name
        for name in self.watchers:
            if name.lower().replace(" ", "_") == topic_name:
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
        self.log_filter = text
        self.log.set_filter(text or None)
        self.log_changed = True

    def _update_log_scope(self) -> None:
        if self.log_all:
            buffer = self.all_log
        elif self.selected is None:
            buffer = self._no_log
        else:
            kept = self._logs.get(self.selected)
            buffer = kept if kept is not None else LogBuffer(maxlen=self._log_lines)
            self._logs[self.selected] = buffer
            self._logs.move_to_end(self.selected)
            while len(self._logs) > self._kept_logs:
                self._logs.popitem(last=False)
        if not self.log_all and self.all_log.seen:
            self.all_log.clear()  # brought up to date when shown again, like any other
        if buffer is self.log:
            return  # another selection in the all-watchers view: nothing else to show
        self.log = buffer
        buffer.set_filter(self.log_filter or None)
        self.log_changed = True
        if self.on_scope_change is not None:
            self.on_scope_change()

    def take_dirty(self) -> set[str]:
        dirty, self.dirty = self.dirty, set()
        return dirty

    # -- what the tables show ---------------------------------------------------------

    def watcher_cells(self, name: str, spark_width: int = 12) -> tuple[str, ...]:
        w = self.watchers[name]
        now = self.clock()
        uptime = (now - w.started_at) if w.started_at and w.running else None
        return (
            w.name,
            state_text(w, now),
            f"{w.running}/{w.target}",
            f"{w.cpu:.1f}",
            fmt_bytes(w.rss) if w.rss else f"{w.mem:.1f}%",
            str(w.restarts),
            fmt_duration(uptime),
            sparkline(w.cpu_history, spark_width, top=max(100.0, max(w.cpu_history, default=0))),
        )

    def process_rows(self, name: str) -> list[tuple[str, tuple[str, ...]]]:
        w = self.watchers.get(name)
        if w is None:
            return []
        now = self.clock()
        rows = []
        for p in sorted(w.processes.values(), key=lambda p: (p.wid or 0, p.pid)):
            last = w.last_exit_by_wid.get(p.wid or -1, "")
            age = fmt_duration(now - p.started) if p.started else "-"
            cells = (
                str(p.pid),
                str(p.wid or "-"),
                f"{p.cpu:.1f}",
                fmt_bytes(p.rss) if p.rss else f"{p.mem:.1f}%",
                age,
                p.state,
                last,
            )
            # Keyed by position, not pid: switching watchers then rewrites cells in place
            # instead of removing and adding rows, which would lay the screen out again.
            rows.append((str(len(rows)), cells))
        return rows


def _num(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return float(value)


def _exit_text(code: Any) -> str:
    if not isinstance(code, int):
        return "exited"
    if code < 0:
        import signal

        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"
