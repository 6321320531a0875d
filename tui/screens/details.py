"""One watcher in depth: CPU and memory history charts for it and each process, its options,
its dependencies and its processes' health when it has them, and its recent events: the "why
did it restart?" timeline."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Label, Static
from textual_plotext import PlotextPlot

from daemon.client import CallError
from tui import time_axis
from tui.actions import bindings
from tui.cells import fmt_bytes, state_text
from tui.details_text import dependency_lines, health_lines
from tui.sanitize import plain_text
from tui.widgets.key_bar import KeyBar

if TYPE_CHECKING:
    from tui.app import CircusApp


class DetailsScreen(Screen[None]):
    BINDINGS = bindings("details")
    WHERE = "details"

    def __init__(self, name: str) -> None:
        super().__init__()
        self.watcher = name
        self.history: dict[str, Any] = {}

    @property
    def app_(self) -> CircusApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Label(f"{self.watcher}", id="details-title")
        with Horizontal(id="charts"):
            yield PlotextPlot(id="cpu-chart")
            yield PlotextPlot(id="mem-chart")
        with Horizontal(id="details-bottom"):
            with VerticalScroll(id="events-box"):
                # Shown only for a watcher that has them: the others' details look as before.
                yield Label("Dependencies", classes="section", id="deps-label")
                yield Static(id="deps", markup=False)
                yield Label("Health", classes="section", id="health-label")
                yield Static(id="health", markup=False)
                yield Label("Recent events", classes="section")
                yield Static(id="events", markup=False)
            with VerticalScroll(id="options-box"):
                yield Label("Options", classes="section")
                yield Static(id="options", markup=False)
        yield KeyBar()

    async def on_mount(self) -> None:
        self.refresh_from_store()
        self.run_worker(self._load(), group="details", exclusive=True)

    async def _load(self) -> None:
        try:
            if self.app_.store.streams_output:
                reply = await self.app_.link.call("history", name=self.watcher)
                self.history = reply.get("history", {})
            options = await self.app_.link.call("options", name=self.watcher)
            self.app_.store.apply_options(self.watcher, options.get("options", {}))
        except CallError as exc:
            self.notify(f"details: {exc.reason}", severity="warning")
        self.refresh_from_store()

    def refresh_from_store(self) -> None:
        if not self.is_mounted or not self.app.is_running:
            return  # a tick between push_screen and the end of compose, or while quitting
        store = self.app_.store
        w = store.watchers.get(self.watcher)
        if w is None:
            self.query_one("#events", Static).update("This watcher no longer exists.")
            return
        self._draw()
        now = store.clock()
        self._section("deps", dependency_lines(store.watchers, self.watcher, now))
        self._section("health", health_lines(w, now))
        lines = [
            f"{time.strftime('%H:%M:%S', time.localtime(e.time))}  {e.kind:<8} {e.text}"
            for e in list(w.events)[-40:][::-1]
        ]
        if w.reason:
            lines.insert(0, f"now: {w.state}: {w.reason}")
        if w.retry_at:
            lines.insert(0, f"next attempt in {max(0.0, w.retry_at - now):.0f}s")
        self.query_one("#events", Static).update(
            "\n".join(map(plain_text, lines)) or "No events since the console attached."
        )
        opts = "\n".join(f"{k} = {v!r}" for k, v in sorted(w.options.items()))
        self.query_one("#options", Static).update(opts or "…")

    def _section(self, name: str, lines: list[str]) -> None:
        """A section of the events box, hidden when it has nothing to say (the lines are
        made safe by tui.details_text)."""
        for widget in (self.query_one(f"#{name}-label", Label), self.query_one(f"#{name}")):
            widget.display = bool(lines)
        self.query_one(f"#{name}", Static).update("\n".join(lines))

    def _draw(self) -> None:
        store = self.app_.store
        w = store.watchers[self.watcher]
        now = store.clock()
        # The console's own series: one sample per stats interval, the newest now. A
        # process's history from the daemon has the time of each sample.
        interval = float(self.history.get("interval") or 1.0)
        cpu, mem = list(w.cpu_history)[-600:], list(w.mem_history)[-600:]
        series: list[tuple[str, list[float], list[float], list[float], list[float]]] = [
            (
                self.watcher,
                time_axis.seconds_before(len(cpu), interval),
                cpu,
                time_axis.seconds_before(len(mem), interval),
                mem,
            )
        ]
        for pid, data in sorted(self.history.get("processes", {}).items())[:6]:
            times = [t - now for t in data.get("t", [])]
            cpu, rss = data.get("cpu", [])[-600:], data.get("rss", [])[-600:]
            cpu_t = times[-len(cpu) :] if len(times) >= len(cpu) else None
            rss_t = times[-len(rss) :] if len(times) >= len(rss) else None
            series.append(
                (
                    f"pid {pid}",
                    cpu_t or time_axis.seconds_before(len(cpu), interval),
                    cpu,
                    rss_t or time_axis.seconds_before(len(rss), interval),
                    rss,
                )
            )
        span = max((-xs[0] for _, xs, _, _, _ in series if xs), default=0.0)
        ticks, labels = time_axis.ticks(span)
        for chart_id, index, title in (("#cpu-chart", 1, "CPU %"), ("#mem-chart", 3, "Memory")):
            chart = self.query_one(chart_id, PlotextPlot)
            plt = chart.plt
            plt.clear_data()
            plt.clear_figure()
            plt.title(title)
            for label, *values in series:
                xs, points = values[index - 1], values[index]
                if index == 3:
                    points = [v / 2**20 for v in points]
                if points:
                    plt.plot(xs, points, label=label)
            plt.xticks(ticks, labels)
            if index == 3:
                plt.ylabel("MiB")
            chart.refresh()
        self.query_one("#details-title", Label).update(
            f"{self.watcher}: {state_text(w, now)}, {w.running}/{w.target} processes, "
            f"CPU {w.cpu:.1f}%, {fmt_bytes(w.rss)}, {w.restarts} restarts"
        )

    def action_close(self) -> None:
        self.app.pop_screen()
