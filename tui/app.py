"""The console application: owns the store and the link to the daemon, refreshes the screen
from the store a few times a second, and runs the commands the keys ask for."""

from __future__ import annotations

import gc
import time
from typing import Any, TypeVar

from textual.app import App
from textual.binding import Binding
from textual.screen import Screen

from daemon.client import CallError
from daemon.tunnel import Reach
from tui.actions import ACTIONS, DEFAULT_KEYS, Action, Keys, allowed, bindings, in_order, use_keys
from tui.connection import Link
from tui.palette import WatcherCommands
from tui.sanitize import plain_text
from tui.screens.details import DetailsScreen
from tui.screens.dialogs import AskScreen, ConfirmScreen, HelpScreen
from tui.screens.main import MainScreen
from tui.store import CONNECTED, Severity, Store
from tui.stylesheets import stylesheet
from tui.values import question

NOTICE_AGAIN = 10.0  # seconds during which the same notice is not said again
REFRESH_INTERVAL = 0.3  # seconds: 3 refreshes a second, whatever the rate of data
GC_THRESHOLDS = (700, 10, 200)  # as the defaults, but a full pass 20 times rarer

S = TypeVar("S", bound=Screen[Any])


class CircusApp(App[None]):
    TITLE = "circus-tui"
    CSS_PATH = [stylesheet("app.tcss"), stylesheet("tables.tcss"), stylesheet("log_view.tcss")]
    COMMANDS = App.COMMANDS | {WatcherCommands}
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = bindings("app")

    def __init__(
        self,
        endpoint: str,
        *,
        readonly: bool = False,
        store: Store | None = None,
        connect: bool = True,
        refresh_interval: float = REFRESH_INTERVAL,
        keys: Keys = DEFAULT_KEYS,
        table_keys: dict[str, str] | None = None,
        reach: Reach | None = None,
    ) -> None:
        super().__init__()
        self.keys = keys  # every action's keys in force (tui.keymap reads a keymap file)
        use_keys(self, "app", keys)
        if table_keys:
            # The tables' own navigation keys (row-up...) are Textual bindings with ids: its
            # keymap moves them.
            self.set_keymap(table_keys)
        self.endpoint = endpoint
        self.readonly = readonly
        self.store = store or Store()
        self.store.endpoint = endpoint
        self.link = Link(self.store, endpoint, reach=reach)
        self.connect = connect
        self.refresh_interval = refresh_interval
        # Set when mount changes them: an app that fails before (a stylesheet it cannot read)
        # has nothing to restore.
        self._gc_thresholds: tuple[int, ...] | None = None
        self._told: dict[tuple[str, str], float] = {}

    def on_mount(self) -> None:
        self.push_screen(self.keyed(MainScreen()))
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
        if not self.screen_stack:
            return  # a last tick or reply while the console quits: no screen to draw on
        screen = self.screen
        if isinstance(screen, (MainScreen, DetailsScreen)):
            screen.refresh_from_store()
        else:
            main = next((s for s in self.screen_stack if isinstance(s, MainScreen)), None)
            if main is not None:
                main.refresh_from_store()
        for notice in self.store.take_notices():
            self.notify_once(notice.key, notice.text, notice.severity)

    def notify_once(self, key: tuple[str, str], text: str, severity: Severity) -> None:
        """A notification, unless the same thing was said less than NOTICE_AGAIN ago: an
        aborted roll the console asked for is told by the reply and by the event, in either
        order."""
        now = time.monotonic()
        if now - self._told.get(key, -NOTICE_AGAIN) < NOTICE_AGAIN:
            return
        self._told[key] = now
        self.notify(plain_text(text), severity=severity, timeout=8, markup=False)

    # -- commands ---------------------------------------------------------------------

    def run_command(self, action_id: str, name: str | None = None, **values: Any) -> None:
        """Run a daemon command as the console offers it, from a key or the palette alike:
        refused when read-only, then what it needs asked for, then confirmed if it asks."""
        action = ACTIONS[action_id]
        use, command = action.use, action.command
        assert use is not None and command is not None, action_id
        if not allowed(action, self.readonly):
            self.notify("read-only console", severity="warning")
            return
        if use.scope == "watcher" and name is None:
            self.notify("No watcher selected", severity="warning")
            return
        if name is not None:  # the watcher's, or a new watcher's (`add`)
            values["name"] = name
        missing = tuple(n for n in use.needs if n not in values)
        if missing:
            self._ask(action, missing, values)
            return
        shown = [str(values[n]) for n in ("name", *use.needs) if n in values and n != "cmd"]
        label = " ".join([command.name, *dict.fromkeys(shown)])
        props = use.properties(**values)
        if action.ask is None:
            self.send(label, command.name, **props)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.send(label, command.name, **props)

        self.push_screen(self.keyed(ConfirmScreen(f"{use.text(**values)}?", action.ask)), answered)

    def _ask(self, action: Action, missing: tuple[str, ...], values: dict[str, Any]) -> None:
        q = question(missing)
        prompt = q.prompt.format(name=values.get("name", ""))

        def answered(given: dict[str, Any] | None) -> None:
            if given is not None:
                self.run_command(action.id, **{**values, **given})

        self.push_screen(self.keyed(AskScreen(prompt, q.placeholder, q.parse)), answered)

    def send(self, label: str, command: str, **props: Any) -> None:
        """Run one daemon command in the background and say how it went."""
        self.run_worker(self._send(label, command, props), group="commands")

    async def _send(self, label: str, command: str, props: dict[str, Any]) -> None:
        if self.store.connection != CONNECTED:
            self.notify(f"{label}: not connected to the daemon", severity="error")
            return
        try:
            reply = await self.link.call(command, timeout=60, **props)
        except CallError as exc:
            name = props.get("name")
            if command == "reload" and isinstance(name, str):
                # An aborted roll: its event says the same (tui.store's roll-aborted notice).
                self.notify_once(("roll-aborted", name), f"{label}: {exc.reason}", "error")
            else:
                # The daemon's words are text, not markup: `[x]` is not a style.
                self.notify(
                    plain_text(f"{label}: {exc.reason}"), severity="error", timeout=6, markup=False
                )
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

    async def perform(self, action_id: str, name: str | None = None, **values: Any) -> None:
        """An action chosen in the palette: the code its key runs."""
        action = ACTIONS[action_id]
        if action.command is not None:
            self.run_command(action_id, name, **values)
            return
        main = self.main_screen
        if main is None:
            return
        run = action.run if name is None else f"{action.run}({name!r})"
        await main.run_action(run)

    # -- screens ----------------------------------------------------------------------

    @property
    def main_screen(self) -> MainScreen | None:
        return next((s for s in self.screen_stack if isinstance(s, MainScreen)), None)

    def keyed(self, screen: S) -> S:
        """`screen` with the keys in force for its actions."""
        use_keys(screen, screen.WHERE, self.keys)  # type: ignore[attr-defined]
        return screen

    def open_details(self, name: str) -> None:
        if name in self.store.watchers:
            self.push_screen(self.keyed(DetailsScreen(name)))

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(self.keyed(HelpScreen(self.key_help())))

    def key_help(self) -> list[tuple[str, str]]:
        """Every key of the main screen, as in force now: a keymap's changes show here too.
        The tables' navigation keys are summed up at the end: the operator's keys first."""
        rows = []
        for action in in_order(("main", "app")):
            keys = self.keys[action.id]
            if keys and allowed(action, self.readonly):
                shown = (self.get_key_display(Binding(key, "")) for key in keys)
                rows.append(("/".join(dict.fromkeys(shown)), action.help))
        rows += [
            ("enter", "Details of the watcher: charts, options, events"),
            ("tab", "Next pane"),
            ("ctrl+p", "Command palette: every command for every watcher"),
            ("↑ ↓ pgup pgdn home end", "Move the cursor, scroll the output"),
            ("← →", "Scroll a table sideways"),
        ]
        return rows
