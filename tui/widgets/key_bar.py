"""The keys of the screen on one line at the bottom, like Textual's Footer, but drawn as text.

Footer mounts a widget per key and mounts them all again whenever the active keys change,
which they do at every focus change (keys a text box takes for itself drop out): that lays out
the whole screen, tens of milliseconds at the very keypress (`/`, `escape`) that should feel
instant. Here the line is only redrawn. A click on a key presses it.
"""

from __future__ import annotations

from typing import NamedTuple

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget


class Key(NamedTuple):
    key: str  # as bound, pressed on a click
    display: str  # as shown: "+", "/", "^p"
    description: str
    enabled: bool


class KeyBar(Widget):
    """The active keys of the screen that are marked `show`, then the command palette's."""

    # Behaviour, not looks (those are in styles/app.tcss).
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        width: 1fr;
    }
    """

    COMPONENT_CLASSES = {"key-bar--key", "key-bar--description", "key-bar--disabled"}

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._keys: list[Key] = []
        self._palette: Key | None = None

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if screen is not self.screen:
            return
        keys: list[Key] = []
        actions: set[str] = set()
        palette: Key | None = None
        app = self.app
        for key, (_node, binding, enabled, _tip) in screen.active_bindings.items():
            if app.ENABLE_COMMAND_PALETTE and key == app.COMMAND_PALETTE_BINDING:
                palette = Key(key, app.get_key_display(binding), binding.description, enabled)
            elif binding.show and binding.action not in actions:
                actions.add(binding.action)
                keys.append(Key(key, app.get_key_display(binding), binding.description, enabled))
        if (keys, palette) != (self._keys, self._palette):
            self._keys, self._palette = keys, palette
            self.refresh()

    @property
    def keys(self) -> list[Key]:
        """The keys shown, left to right (the palette's apart, on the right)."""
        return list(self._keys)

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-bar--key")
        text_style = self.get_component_rich_style("key-bar--description")
        off_style = self.get_component_rich_style("key-bar--disabled")
        line = Text(no_wrap=True, overflow="crop", end="")

        def add(key: Key) -> None:
            press = Style(meta={"key": key.key})
            line.append(f" {key.display} ", (key_style if key.enabled else off_style) + press)
            line.append(f"{key.description} ", (text_style if key.enabled else off_style) + press)

        for key in self._keys:
            add(key)
        if self._palette is not None:
            # On the right, when there is room for it after the others.
            width = cell_len(self._palette.display) + cell_len(self._palette.description) + 3
            room = self.size.width - line.cell_len - width
            if room > 0:
                line.append(" " * room)
                add(self._palette)
        return line

    def on_click(self, event: events.Click) -> None:
        key = (event.style.meta or {}).get("key")
        if isinstance(key, str):
            event.stop()
            self.app.simulate_key(key)
