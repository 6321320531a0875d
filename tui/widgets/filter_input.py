"""The log filter's text box: an Input that does not lay the screen out on every keystroke."""

from __future__ import annotations

from textual.geometry import Size
from textual.reactive import Reactive
from textual.widgets import Input


class FilterInput(Input):
    # Input sets its virtual size (its text's width) on every keystroke, and Widget declares
    # that reactive with layout=True: each key typed into the filter would lay out the whole
    # screen, then draw all of it. The box has a fixed size (styles/app.tcss), so its text's
    # width only concerns its own horizontal scrolling.
    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)
