"""One watcher in depth: CPU and memory history charts for it and each process, its options,
and its recent events: the "why did it restart?" timeline."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Label, Static
from textual_plotext import PlotextPlot

from daemon.client import CallError
from tui.actions import bindings
from tui.sanitize import plain_text
from tui.store import fmt_bytes
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

    def _draw(self) -> None:
        store = self.app_.store
        w = store.watchers[self.watcher]
        series: list[tuple[str, list[float], list[float]]] = [
            (self.watcher, list(w.cpu_history), list(w.mem_history))
        ]
        for pid, data in sorted(self.history.get("processes", {}).items())[:6]:
            series.append((f"pid {pid}", data.get("cpu", []), data.get("rss", [])))
        for chart_id, index, title in (("#cpu-chart", 1, "CPU %"), ("#mem-chart", 2, "Memory")):
            chart = self.query_one(chart_id, PlotextPlot)
            plt = chart.plt
            plt.clear_data()
            plt.clear_figure()
            plt.title(title)
            for label, *values in series:
                points = values[index - 1][-600:]
                if index == 2:
                    points = [v / 2**20 for v in points]
                if points:
                    plt.plot(points, label=label)
            if index == 2:
                plt.ylabel("MiB")
            chart.refresh()
        self.query_one("#details-title", Label).update(
            f"{self.watcher}: {w.state}, {w.running}/{w.target} processes, "
            f"CPU {w.cpu:.1f}%, {fmt_bytes(w.rss)}, {w.restarts} restarts"
        )

    def action_close(self) -> None:
        self.app.pop_screen()
