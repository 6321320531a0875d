"""The console application: owns the store and the link to the daemon, refreshes the screen
from the store a few times a second, and runs the commands the keys ask for."""

from __future__ import annotations

import gc
from typing import Any

from textual.app import App
from textual.binding import Binding

from daemon.client import CallError
from tui.connection import Link
from tui.palette import WatcherCommands
from tui.screens.details import DetailsScreen
from tui.screens.dialogs import ConfirmScreen, HelpScreen
from tui.screens.main import MUTATING, MainScreen
from tui.store import CONNECTED, Store
from tui.stylesheets import stylesheet
from tui.widgets.row_table import ROW_BINDING_PREFIX

REFRESH_INTERVAL = 0.3  # seconds: 3 refreshes a second, whatever the rate of data
GC_THRESHOLDS = (700, 10, 200)  # as the defaults, but a full pass 20 times rarer


class CircusApp(App[None]):
    TITLE = "circus-tui"
    CSS_PATH = [stylesheet("app.tcss"), stylesheet("tables.tcss"), stylesheet("log_view.tcss")]
    COMMANDS = App.COMMANDS | {WatcherCommands}
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit", tooltip="Leave; the daemon keeps running"),
        Binding("question_mark", "help", "Help", id="help", tooltip="Every key"),
    ]

    def __init__(
        self,
        endpoint: str,
        *,
        readonly: bool = False,
        store: Store | None = None,
        connect: bool = True,
        refresh_interval: float = REFRESH_INTERVAL,
    ) -> None:
        super().__init__()
        self.endpoint = endpoint
        self.readonly = readonly
        self.store = store or Store()
        self.store.endpoint = endpoint
        self.link = Link(self.store, endpoint)
        self.connect = connect
        self.refresh_interval = refresh_interval
        # Set when mount changes them: an app that fails before (a stylesheet it cannot read)
        # has nothing to restore.
        self._gc_thresholds: tuple[int, ...] | None = None

    def on_mount(self) -> None:
        self.push_screen(MainScreen())
        if self.connect:
            self.run_worker(self.link.run(), group="link", exclusive=True)
        self.set_interval(self.refresh_interval, self.refresh_from_store)
        self.call_after_refresh(self.refresh_from_store)
        # Textual's and our long-lived objects need no more garbage-collector passes: frozen,
        # a full collection stops taking tens of milliseconds out of a keypress. And with
        # output streaming in (objects made by the thousand a second), the default thresholds
        # run a full collection every few seconds, about 50 ms each (console bench): rarer
        # passes, the same memory bounds (what they free is cycles, which we make few of).
        self.set_timer(3.0, gc.freeze)
        self._gc_thresholds = gc.get_threshold()
        gc.set_threshold(*GC_THRESHOLDS)

    def on_unmount(self) -> None:
        self.link.close()
        if self._gc_thresholds is not None:
            gc.set_threshold(*self._gc_thresholds)

    def refresh_from_store(self) -> None:
        screen = self.screen
        if isinstance(screen, (MainScreen, DetailsScreen)):
            screen.refresh_from_store()
        else:
            main = next((s for s in self.screen_stack if isinstance(s, MainScreen)), None)
            if main is not None:
                main.refresh_from_store()

    # -- commands ---------------------------------------------------------------------

    def send(self, label: str, command: str, **props: Any) -> None:
        """Run one daemon command in the background and say how it went."""
        if self.readonly:
            self.notify("read-only console", severity="warning")
            return
        self.run_worker(self._send(label, command, props), group="commands")

    async def _send(self, label: str, command: str, props: dict[str, Any]) -> None:
        if self.store.connection != CONNECTED:
            self.notify(f"{label}: not connected to the daemon", severity="error")
            return
        try:
            reply = await self.link.call(command, timeout=60, **props)
        except CallError as exc:
            self.notify(f"{label}: {exc.reason}", severity="error", timeout=6)
            return
        detail = ""
        if "numprocesses" in reply:
            detail = f": {reply['numprocesses']} processes"
        elif command == "save":
            detail = f" to {reply.get('path')}"
        self.notify(f"{label}: done{detail}", timeout=3)
        name = props.get("name")
        if isinstance(name, str) and name in self.store.watchers and command != "rm":
            await self.link.refresh_watcher(name)
            self.refresh_from_store()  # the outcome now, not at the next tick

    def confirm_then_send(
        self, question: str, detail: str, label: str, command: str, **props: Any
    ) -> None:
        if self.readonly:
            self.notify("read-only console", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.send(label, command, **props)

        self.push_screen(ConfirmScreen(question, detail), answered)

    # -- screens ----------------------------------------------------------------------

    def open_details(self, name: str) -> None:
        if name in self.store.watchers:
            self.push_screen(DetailsScreen(name))

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.key_help()))

    def key_help(self) -> list[tuple[str, str]]:
        """Every key, as the bindings say now: a keymap's changes show here too."""
        main = next((s for s in self.screen_stack if isinstance(s, MainScreen)), None)
        active = main.active_bindings if main is not None else {}
        keys: dict[str, list[str]] = {}
        described: dict[str, str] = {}
        for key, active_binding in active.items():
            binding = active_binding.binding
            # Ours all have ids. The focused table's navigation keys are summed up below: the
            # operator's keys come first.
            if binding.id is None or binding.id.startswith(ROW_BINDING_PREFIX):
                continue
            if self.readonly and binding.action in MUTATING:
                continue
            ident = binding.id or binding.action
            keys.setdefault(ident, []).append(self.get_key_display(binding.with_key(key)))
            described[ident] = binding.tooltip or binding.description
        rows = [("/".join(dict.fromkeys(k)), described[i]) for i, k in keys.items()]
        rows += [
            ("enter", "Details of the watcher: charts, options, events"),
            ("tab", "Next pane"),
            ("ctrl+p", "Command palette: every command for every watcher"),
            ("↑ ↓ pgup pgdn home end", "Move the cursor, scroll the output"),
            ("← →", "Scroll a table sideways"),
        ]
        return rows
