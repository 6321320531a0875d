"""The log pane's scrollback: which buffer is on screen, how far each buffer has seen each
watcher's output, and the backlogs being fetched to fill the gaps.

One feed per thing the pane can show (a watcher's output, or every watcher's): what one
watcher prints never pushes another's lines out. Output is only ever added to the feed on
screen (the link follows only that output); a feed shown again is brought up to date from the
daemon's backlog with `tail`, which the link fetches for a `Refill` this module hands out.

Plain Python, no Textual, no I/O: the link does the fetching, this decides what to fetch and
how the answer fits in.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from tui.cells import number
from tui.logbuffer import LogBuffer, LogEntry

WATCHER_LOG_LINES = 5_000  # scrollback of one watcher's output
ALL_LOG_LINES = 10_000  # scrollback of every watcher's output together
KEPT_LOGS = 8  # watchers whose scrollback is kept while others are shown
REFILL_LINES = 2000  # at most this much backlog is fetched per refill; the rest is on disk
MIN_REFILL_LINES = 20

Batch = dict[str, Any]  # an output message: watcher, first, last, lines
Backlog = tuple[list[dict[str, Any]], int]  # a `tail` reply's lines and last_seq


@dataclass(eq=False)
class Feed:
    """One scrollback and what it knows of the daemon's streams."""

    buffer: LogBuffer
    # Per watcher, the last sequence number this feed holds or has skipped past.
    seen: dict[str, int] = field(default_factory=dict)
    # Per watcher whose backlog is being fetched: the latest fetch's token, and the batches
    # that arrived meanwhile. Only the latest fetch is used: an earlier one (a quick
    # back-and-forth, a session that ended) may be older than what waits.
    refilling: dict[str, tuple[int, list[Batch]]] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Refill:
    """A backlog to fetch with `tail`: per watcher, the sequence number it is wanted after,
    at most `count` lines each. Hand the replies to `Scrollback.finish_refill`."""

    feed: Feed
    token: int
    since: dict[str, int]
    count: int


class Scrollback:
    def __init__(
        self,
        clock: Callable[[], float],
        log_lines: int = WATCHER_LOG_LINES,
        all_log_lines: int = ALL_LOG_LINES,
        kept_logs: int = KEPT_LOGS,
    ) -> None:
        self.clock = clock
        self._log_lines, self._kept_logs = log_lines, kept_logs
        self._kept: OrderedDict[str, Feed] = OrderedDict()
        self.all = Feed(LogBuffer(maxlen=all_log_lines))
        self._none = Feed(LogBuffer(maxlen=1))  # shown while no watcher is selected
        self.feed = self._none  # the feed on screen
        self.filter = ""
        self.changed = False  # what the pane shows changed since the UI last looked
        self._tokens = itertools.count(1)

    @property
    def buffer(self) -> LogBuffer:
        """The lines on screen."""
        return self.feed.buffer

    # -- what is on screen ------------------------------------------------------------

    def show(self, watcher: str | None, everything: bool = False) -> bool:
        """Put one watcher's output on screen, or every watcher's, or (None) nothing. True if
        another feed is on screen now: the link then follows that output, and refills it."""
        if everything:
            feed = self.all
        elif watcher is None:
            feed = self._none
        else:
            kept = self._kept.get(watcher)
            feed = kept if kept is not None else Feed(LogBuffer(maxlen=self._log_lines))
            self._kept[watcher] = feed
            self._kept.move_to_end(watcher)
            while len(self._kept) > self._kept_logs:
                self._kept.popitem(last=False)
        if not everything and self.all.seen:
            # Brought up to date when shown again, like any other.
            self.all.buffer.clear()
            self.all.seen = {}
        if feed is self.feed:
            return False  # another selection in the all-watchers view: nothing else to show
        self.feed = feed
        feed.buffer.set_filter(self.filter or None)
        self.changed = True
        return True

    def set_filter(self, text: str) -> None:
        self.filter = text
        self.feed.buffer.set_filter(text or None)
        self.changed = True

    # -- output as it streams ---------------------------------------------------------

    def add(self, name: str, batch: Batch) -> Refill | None:
        """One output batch of a watcher on screen. Returns a refill when lines were missed;
        batches arriving meanwhile wait for it, so the pane stays in order."""
        feed = self.feed
        pending = feed.refilling.get(name)
        if pending is not None:
            pending[1].append(batch)
            return None
        seen = feed.seen.get(name)
        if seen is not None and int(batch.get("first", 0)) > seen + 1:
            refill = self.begin_refill([name])
            feed.refilling[name][1].append(batch)
            return refill
        self._add_batch(feed, name, batch)
        return None

    def behind(self, written: dict[str, int]) -> list[Refill]:
        """Refills for each watcher on screen whose output the daemon had written up to
        `written[name]` a heartbeat ago and that still has not come: dropped on the way, with
        no later batch to show the gap (the output ended while the console was stopped)."""
        feed = self.feed
        stale: list[Refill] = []
        for name, last in written.items():
            seen = feed.seen.get(name)
            if seen is None or name in feed.refilling:
                continue
            if last > seen:
                stale.append(self.begin_refill([name]))
        return stale

    # -- backlogs ---------------------------------------------------------------------

    def refill_shown(self, names: list[str]) -> Refill:
        """The backlog of what was just put on screen: these watchers' output since this
        feed last saw it. The all-watchers view shares out as much as it keeps."""
        if self.feed is self.all:
            count = max(MIN_REFILL_LINES, self.all.buffer.maxlen // max(1, len(names)))
        else:
            count = REFILL_LINES
        return self.begin_refill(names, count)

    def begin_refill(self, names: Iterable[str], count: int = REFILL_LINES) -> Refill:
        """A backlog is being fetched for these watchers of the feed on screen: their batches
        wait for it. A later refill for the same watcher supersedes this one (it keeps the
        batches that already wait)."""
        feed, token = self.feed, next(self._tokens)
        since: dict[str, int] = {}
        for name in names:
            pending = feed.refilling.get(name)
            feed.refilling[name] = (token, pending[1] if pending else [])
            since[name] = feed.seen.get(name, 0)
        return Refill(feed, token, since, count)

    def finish_refill(self, refill: Refill, backlogs: dict[str, Backlog | None]) -> None:
        """Backlogs from `tail` (lines, last_seq) per watcher, or None when one could not be
        fetched: what the feed lacks is added, lines from several watchers in time order,
        then the batches that waited. Lines the daemon no longer had, or that were too many
        to fetch, are replaced by a note saying how many. A refill superseded by a later one
        for the same watcher, or from before `forget`, is dropped: the later one fetches all
        of it."""
        feed = refill.feed
        backlogs = {
            name: backlog
            for name, backlog in backlogs.items()
            if feed.refilling.get(name, (None,))[0] == refill.token
        }
        fresh: list[LogEntry] = []
        for name, backlog in backlogs.items():
            seen = feed.seen.get(name)
            if backlog is None:
                continue  # the waiting batches say what is missing, below
            lines, last_seq = backlog
            lines = [ln for ln in lines if seen is None or ln["seq"] > seen]
            if seen is not None and lines and lines[0]["seq"] > seen + 1:
                note = self._note(name, seen + 1, lines[0]["seq"] - 1, "not fetched")
                fresh.append(note._replace(time=number(lines[0].get("time"))))
            fresh.extend(entries(name, lines))
            feed.seen[name] = max(int(last_seq), seen or 0)
        if len(backlogs) > 1:
            fresh.sort(key=lambda e: e.time)  # stable: each watcher's lines stay in order
        if fresh:
            feed.buffer.extend(fresh)
        self.changed = True
        for name in backlogs:
            for batch in feed.refilling.pop(name)[1]:
                seen = feed.seen.get(name)
                first = int(batch.get("first", 0))
                if seen is not None and first > seen + 1:
                    why = "lost" if backlogs[name] is not None else "could not be fetched"
                    feed.buffer.extend([self._note(name, seen + 1, first - 1, why)])
                self._add_batch(feed, name, batch)

    # -- the daemon's side changes ----------------------------------------------------

    def forget(self) -> None:
        """The daemon is another one (restarted): its sequence numbers start again. What was
        shown stays, and is marked; everything new is fetched afresh."""
        for feed in (*self._kept.values(), self.all, self._none):
            if feed.seen:
                feed.seen = {}
                note = "— the daemon restarted; output before this line is from before —"
                feed.buffer.extend([LogEntry(0, self.clock(), "", 0, "note", note)])
            feed.refilling.clear()
        self.changed = True

    def drop(self, name: str) -> None:
        """The watcher is gone: one added again under its name starts its sequence numbers
        afresh."""
        dropped = self._kept.pop(name, None)
        self.all.seen.pop(name, None)
        for feed in (*self._kept.values(), self.all, self._none, dropped):
            if feed is not None:
                feed.refilling.pop(name, None)

    # -- internals --------------------------------------------------------------------

    def _add_batch(self, feed: Feed, name: str, batch: Batch) -> None:
        seen = feed.seen.get(name)
        lines = [ln for ln in batch.get("lines", []) if seen is None or ln["seq"] > seen]
        if lines:
            feed.buffer.extend(entries(name, lines))
            self.changed = True
        feed.seen[name] = max(int(batch.get("last", 0)), seen or 0)

    def _note(self, name: str, first: int, last: int, why: str) -> LogEntry:
        count = last - first + 1
        text = f"… {count:,} line{'s' if count != 1 else ''} {why} here: the log file has them"
        return LogEntry(last, self.clock(), name, 0, "note", text)


def entries(name: str, lines: list[dict[str, Any]]) -> list[LogEntry]:
    """Output lines as the wire carries them, as the pane keeps them."""
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
                time=number(ln.get("time")),
                watcher=name,
                pid=int(ln.get("pid", 0)),
                stream="stderr" if ln.get("stream") == "stderr" else "stdout",
                text=str(ln.get("data", "")),
                partial=bool(ln.get("partial", False)),
            )
            for ln in lines
        ]
