"""The main screen: watchers, the selected watcher's processes and trends, and its output."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Input, Label, Sparkline, Static

from tui.actions import ACTIONS, allowed, bindings
from tui.cells import fmt_bytes
from tui.clipboard import clipboard_text, summary
from tui.sanitize import plain_text
from tui.store import CONNECTED, DISCONNECTED
from tui.widgets.filter_input import FilterInput
from tui.widgets.key_bar import KeyBar
from tui.widgets.log_view import LogView
from tui.widgets.row_table import RowTable
from tui.widgets.tables import WATCHER_COLUMNS, ProcessTable, WatchersTable

if TYPE_CHECKING:
    from tui.app import CircusApp


class MainScreen(Screen[None]):
    # Below 32 rows (an 80x24 terminal) the panes lose their borders: rows are worth more.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]
    BINDINGS = bindings("main")
    WHERE = "main"

    def compose(self) -> ComposeResult:
        yield Static(id="status", markup=False)
        yield WatchersTable(id="watchers")
        with Horizontal(id="middle"):
            yield ProcessTable(id="processes")
            with Vertical(id="trends"):
                yield Label("CPU", id="cpu-label")
                yield Sparkline([], id="cpu-spark")
                yield Label("Memory", id="mem-label")
                yield Sparkline([], id="mem-spark")
        with Vertical(id="log-area"):
            # The filter box is always there, beside the title: showing and hiding it would
            # lay the screen out again, at the very keypress that should feel instant.
            with Horizontal(id="log-bar"):
                yield Label("", id="log-title", markup=False)
                yield FilterInput(placeholder="/ filter: text or regex", id="filter", compact=True)
            yield LogView(self.app_.store.log, id="log")
        yield KeyBar()

    @property
    def app_(self) -> CircusApp:
        return self.app  # type: ignore[return-value]

    def on_mount(self) -> None:
        self._texts: dict[str, str] = {}
        table = self.query_one(WatchersTable)
        table.focus()

    # -- refresh, once per UI tick ---------------------------------------------------

    def refresh_from_store(self) -> None:
        if not self.is_mounted or not self.app.is_running:
            return  # a last timer tick while quitting
        store = self.app_.store
        structure = store.structure_changed
        # Whatever changed since the last tick, in one batch: the tables redraw only the rows
        # whose text changed.
        with self.app.batch_update():
            if structure or store.dirty:
                store.structure_changed = False
                dirty = store.take_dirty()
                watchers = self.query_one(WatchersTable)
                watchers.sync(store, dirty, structure)
                if structure and store.selected is None and watchers.row_count:
                    store.select(watchers.current_key())
                if structure or store.selected in dirty:
                    self.query_one(ProcessTable).sync(store)
                    self._refresh_trends()
            if store.log_changed:
                self._show_log()
            if store.connection_changed:
                store.connection_changed = False
                self._refresh_status()
                self._refresh_log_title()
                self.set_class(store.connection == DISCONNECTED, "-disconnected")
            elif store.rolls_changed:
                self._refresh_status()

    def _set_text(self, widget: Label | Static, text: str) -> None:
        # These labels have a fixed size (styles/app.tcss), so a new text needs no layout of
        # the screen; and no text at all is sent when nothing changed.
        if self._texts.get(widget.id or "") != text:
            self._texts[widget.id or ""] = text
            widget.update(text, layout=False)

    def _refresh_status(self) -> None:
        store = self.app_.store
        mark = {CONNECTED: "●", DISCONNECTED: "○"}.get(store.connection, "◌")
        kind = "" if store.daemon_kind == "circus-tui" else f" ({store.daemon_kind})"
        note = f" — {store.connection_note}" if store.connection_note else ""
        ro = "  [read-only]" if self.app_.readonly else ""
        store.rolls_changed = False
        # A roll's progress first: on a narrow terminal it is what is cut last.
        rolls = store.rolls_text()
        rolling = f"{rolls}  " if rolls else ""
        status = self.query_one("#status", Static)
        self._set_text(
            status,
            f"circus-tui  {rolling}{store.endpoint}{kind}  {mark} {store.connection}{note}{ro}",
        )
        status.set_class(store.connection == DISCONNECTED, "-disconnected")
        status.set_class(store.connection == CONNECTED, "-connected")

    def _refresh_trends(self) -> None:
        store = self.app_.store
        w = store.watchers.get(store.selected or "")
        cpu = list(w.cpu_history)[-120:] if w else []
        mem = list(w.mem_history)[-120:] if w else []
        self.query_one("#cpu-spark", Sparkline).data = cpu or [0.0]
        self.query_one("#mem-spark", Sparkline).data = mem or [0.0]
        self._set_text(self.query_one("#cpu-label", Label), f"CPU {cpu[-1]:.1f}%" if cpu else "CPU")
        self._set_text(
            self.query_one("#mem-label", Label), f"Memory {fmt_bytes(mem[-1])}" if mem else "Memory"
        )

    def _show_log(self) -> None:
        store = self.app_.store
        store.log_changed = False
        log = self.query_one(LogView)
        log.show_watcher = store.log_all  # names before the lines of all watchers
        if log.buffer is not store.log:
            log.set_buffer(store.log)
        else:
            log.refresh_lines()
        self._refresh_log_title()

    def _refresh_log_title(self) -> None:
        store = self.app_.store
        scope = "all watchers" if store.log_all else (store.selected or "-")
        if not store.streams_output:
            text = f"Output of {scope}: this daemon ({store.daemon_kind}) does not stream output"
        else:
            follow = "following" if self.query_one(LogView).follow else "paused (f follows)"
            flt = store.log_filter
            bad = f" [{store.log.filter_error}]" if store.log.filter_error else ""
            count = len(store.log)
            lines = f"{count:,} line{'s' if count != 1 else ''}"
            shown = f" — {lines} match {flt!r}{bad}" if flt else ""
            text = f"Output of {scope} — {follow}{shown}"
            watcher = store.watchers.get(store.selected or "") if not store.log_all else None
            if watcher is not None and watcher.log_error:
                text += f" — log file: {plain_text(watcher.log_error)}"
        self._set_text(self.query_one("#log-title", Label), text)

    # -- events from widgets ---------------------------------------------------------

    def on_row_table_row_highlighted(self, event: RowTable.RowHighlighted) -> None:
        if event.table.id != "watchers":
            return
        store = self.app_.store
        name = event.key
        if name != store.selected:
            store.select(name)
            self.query_one(ProcessTable).sync(store)
            self._refresh_trends()
            self._show_log()
            # One frame for all of it, at the screen's next update: each widget would
            # otherwise ask for its own, one after the other, and the table's row would
            # be shown a frame (tens of milliseconds on a busy loop) before the rest.
            self.refresh()

    def on_row_table_row_selected(self, event: RowTable.RowSelected) -> None:
        if event.table.id == "watchers":
            self.app_.open_details(event.key)

    def on_row_table_header_selected(self, event: RowTable.HeaderSelected) -> None:
        if event.table.id == "watchers" and event.column in {c.key for c in WATCHER_COLUMNS[:7]}:
            self.action_sort(event.column)

    def on_log_view_follow_changed(self, _event: Any) -> None:
        self._refresh_log_title()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.app_.store.set_filter(event.value)
            self.refresh_from_store()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            self.query_one(LogView).focus()

    # -- actions ---------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "command" and parameters:
            return allowed(ACTIONS[str(parameters[0])], self.app_.readonly)
        return True

    def action_command(self, action_id: str) -> None:
        """A daemon command's key: on the selected watcher (the palette names one)."""
        use = ACTIONS[action_id].use
        watcher = use is not None and use.scope == "watcher"
        self.app_.run_command(action_id, self.app_.store.selected if watcher else None)

    def action_details(self, name: str | None = None) -> None:
        name = name or self.app_.store.selected
        if name is None:
            self.notify("No watcher selected", severity="warning")
            return
        self.app_.open_details(name)

    def action_copy_output(self) -> None:
        lines = self.query_one(LogView).copy_lines()
        if not lines:
            self.notify("No output to copy", severity="warning")
            return
        copied = clipboard_text(lines)
        self.app.copy_to_clipboard(copied.text)
        self.notify(summary(copied), severity="warning" if copied.cut else "information")

    def action_filter_log(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if box.value or box.has_focus:
            box.value = ""
            self.app_.store.set_filter("")
            self.refresh_from_store()
            self.query_one(WatchersTable).focus()

    def action_toggle_follow(self) -> None:
        self.query_one(LogView).action_toggle_follow()
        self._refresh_log_title()

    def action_toggle_all(self) -> None:
        store = self.app_.store
        store.set_log_all(not store.log_all)
        self.refresh_from_store()

    def action_sort(self, key: str) -> None:
        store = self.app_.store
        store.set_sort(key)
        self.refresh_from_store()
        arrow = "▼" if store.sort_reverse else "▲"
        self.notify(f"Sorted by {key} {arrow}", timeout=1.5)
