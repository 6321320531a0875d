"""The log pane: a LogBuffer drawn one visible line at a time.

Only the lines on screen are ever rendered (`render_line`), each once: strips are kept in an
LRU cache keyed by the entry's absolute number, the width and the buffer's generation. A flood
of 10,000 lines a second therefore costs one `refresh_lines` per UI tick plus the few lines
that scrolled into view, whatever the size of the scrollback.

Follow mode keeps the newest line at the bottom. Any scroll up (keys, wheel, scrollbar)
turns it off and the view then stays on the lines being read, even as old lines are trimmed
or the filter changes; reaching the bottom, `end` or `action_toggle_follow` turn it back on.
Scrolling never animates: over a slow SSH link every animation frame is a screenful of bytes.
"""

from __future__ import annotations

import time
import zlib
from functools import lru_cache

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.actions import SkipAction
from textual.cache import LRUCache
from textual.events import Resize
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import var
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.logbuffer import LogBuffer, LogEntry
from tui.sanitize import to_text

STDERR_MARKER = "▍"
NAME_COLOURS = 8  # log-view--name-0 ... log-view--name-7 in styles/log_view.tcss
MAX_NAME_WIDTH = 16
CACHED_LINES = 1_024


@lru_cache(maxsize=4_096)
def _clock(second: int) -> str:
    return time.strftime("%H:%M:%S", time.localtime(second))


def name_colour(watcher: str) -> int:
    """A palette slot per watcher name, the same in every session (unlike `hash`)."""
    return zlib.crc32(watcher.encode("utf-8", "replace")) % NAME_COLOURS


def _fit(name: str, width: int) -> str:
    """`name` in exactly `width` cells: padded, or cut with a `…`."""
    if cell_len(name) > width:
        return set_cell_size(name, width - 1) + "…"
    return set_cell_size(name, width)


class LogView(ScrollView, can_focus=True):
    """Watcher output from a LogBuffer: time, optional watcher name, sanitised coloured text."""

    ALLOW_SELECT = False

    # Behaviour, not looks: there is no horizontal scrolling, lines are cut at the width. The
    # scrollbar is always there: one that came and went with the amount of output (switching
    # from a quiet watcher to a busy one) would lay the whole screen out again each time.
    DEFAULT_CSS = """
    LogView {
        overflow-x: hidden;
        overflow-y: scroll;
    }
    """

    COMPONENT_CLASSES = {
        "log-view--time",
        "log-view--stderr",
        "log-view--stderr-marker",
        "log-view--match",
        "log-view--note",
        *(f"log-view--name-{slot}" for slot in range(NAME_COLOURS)),
    }

    follow: var[bool] = var(True, init=False)
    """When True, new lines keep the view at the bottom."""

    class FollowChanged(Message):
        """Follow mode went on or off (by a scroll, `end`, or `action_toggle_follow`)."""

        def __init__(self, log_view: LogView, follow: bool) -> None:
            super().__init__()
            self.log_view = log_view
            self.follow = follow

        @property
        def control(self) -> LogView:
            return self.log_view

        def can_replace(self, message: Message) -> bool:
            # Only the latest state matters: a queue of these collapses to one.
            return isinstance(message, LogView.FollowChanged) and message.log_view is self.log_view

    def __init__(
        self,
        buffer: LogBuffer,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.buffer = buffer
        self._show_watcher = False
        self._placing = False
        self._show_time = True
        self._name_width = 0
        self._cache: LRUCache[tuple[int, int, int], Strip] = LRUCache(CACHED_LINES)
        self._top: int | None = None  # absolute number of the entry at the top of the view
        # `rich_style` walks every ancestor (tens of microseconds); Textual calls
        # notify_style_update whenever it could change (theme, classes, focus).
        self._base_style: Style | None = None
        self._frame_width: int | None = None  # set while a frame's lines are rendered
        self.lines_rendered = 0  # lines built (cache misses): what the flood benchmark watches

    # -- options ------------------------------------------------------------------------

    @property
    def show_watcher(self) -> bool:
        """Prefix each line with its watcher's name, in a colour of its own."""
        return self._show_watcher

    @show_watcher.setter
    def show_watcher(self, value: bool) -> None:
        if value != self._show_watcher:
            self._show_watcher = value
            self._invalidate()

    @property
    def show_time(self) -> bool:
        """Start each line with the time it was read (HH:MM:SS)."""
        return self._show_time

    @show_time.setter
    def show_time(self, value: bool) -> None:
        if value != self._show_time:
            self._show_time = value
            self._invalidate()

    # -- updates ------------------------------------------------------------------------

    def set_buffer(self, buffer: LogBuffer) -> None:
        """Show another buffer (another watcher's output), from its newest line."""
        if buffer is self.buffer:
            return
        self.buffer = buffer
        self._cache.clear()
        self._top = None
        self.refresh_lines()  # its size, before following it to the end
        self.follow = True

    def refresh_lines(self, y_start: int | None = None, line_count: int = 1) -> None:
        """Take in what changed in the buffer: call once per UI tick.

        With arguments, ScrollView's meaning (repaint those lines) is kept.
        """
        if y_start is not None:
            super().refresh_lines(y_start, line_count)
            return
        buffer = self.buffer
        if self._show_watcher:
            width = min(MAX_NAME_WIDTH, max(map(cell_len, buffer.watchers), default=0))
            if width != self._name_width:
                self._name_width = width
                self._cache.clear()
        size = Size(0, len(buffer))
        if size != self.virtual_size:
            # Assigning virtual_size lays out the whole screen, every tick of a flood; a new
            # height only concerns this widget's scrollbar and lines. (_scroll_update also
            # decides the scrollbar now: scrolling is refused while it is hidden.)
            self.set_reactive(LogView.virtual_size, size)
            self._scroll_update(size)
        if self.follow:
            self._scroll_to_end()
        elif self._top is not None:
            # Keep the lines being read in place while old ones are trimmed above them or
            # the scope or filter changes around them. This scroll is ours, not the
            # operator's: it must not switch following back on at the bottom.
            target = buffer.position(self._top)
            if target != round(self.scroll_y):
                self._placing = True
                try:
                    self.scroll_to(y=target, animate=False, force=True, immediate=True)
                finally:
                    self._placing = False
        self._remember_top()
        self.refresh()

    def _scroll_to_end(self) -> None:
        self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow

    def watch_follow(self, follow: bool) -> None:
        if follow:
            self._scroll_to_end()
        self._remember_top()
        self.post_message(self.FollowChanged(self, follow))

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(old_value) == round(new_value) or self._placing:
            return
        if round(new_value) >= self.max_scroll_y:
            self.follow = True
        elif new_value < old_value:
            self.follow = False
        self._remember_top()

    def _remember_top(self) -> None:
        top = round(self.scroll_y)
        self._top = self.buffer.visible_number(top) if top < len(self.buffer) else None

    def _on_resize(self, event: Resize) -> None:
        # A shorter pane moves the bottom down; the newest line must stay in sight.
        if self.follow:
            self._scroll_to_end()

    def on_mount(self) -> None:
        super().on_mount()
        self.refresh_lines()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._base_style = None
        self._cache.clear()

    @property
    def _base(self) -> Style:
        if self._base_style is None:
            self._base_style = self.rich_style
        return self._base_style

    def _invalidate(self) -> None:
        self._cache.clear()
        if self.is_mounted:
            self.refresh_lines()

    # -- copying ----------------------------------------------------------------------------

    def copy_lines(self) -> list[str]:
        """The lines `y` copies, as the programs wrote them: with a filter, every line it
        shows; without, the line at the bottom of the view (the view has no cursor: that is
        the newest line while following, the last one read when scrolled up). The console's
        own notes ("lines skipped") are not program output and are left out."""
        buffer = self.buffer
        if buffer.pattern:
            candidates = range(len(buffer))
        else:
            bottom = min(len(buffer), round(self.scroll_y) + self.scrollable_content_region.height)
            candidates = range(bottom - 1, -1, -1)
        lines: list[str] = []
        for index in candidates:
            entry = buffer.visible(index)
            if entry.stream != "note":
                lines.append(entry.text)
                if not buffer.pattern:
                    break
        return lines

    # -- scrolling without animation ----------------------------------------------------

    def action_scroll_up(self) -> None:
        if not self.allow_vertical_scroll:
            raise SkipAction()
        self.scroll_up(animate=False)

    def action_scroll_down(self) -> None:
        if not self.allow_vertical_scroll:
            raise SkipAction()
        self.scroll_down(animate=False)

    def action_page_up(self) -> None:
        if not self.allow_vertical_scroll:
            raise SkipAction()
        self.scroll_page_up(animate=False)

    def action_page_down(self) -> None:
        if not self.allow_vertical_scroll:
            raise SkipAction()
        self.scroll_page_down(animate=False)

    def action_scroll_home(self) -> None:
        if not self.allow_vertical_scroll:
            raise SkipAction()
        self.scroll_home(animate=False, x_axis=False)

    def action_scroll_end(self) -> None:
        self.follow = True
        self._scroll_to_end()

    # -- rendering ----------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        # The width without the scrollbar takes a few microseconds to work out: once a frame.
        self._frame_width = self.scrollable_content_region.width
        try:
            return super().render_lines(crop)
        finally:
            self._frame_width = None

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self._frame_width
        if width is None:
            width = self.scrollable_content_region.width
        buffer = self.buffer
        if index >= len(buffer) or width <= 0:
            return Strip.blank(width, self._base)
        key = (buffer.visible_number(index), width, buffer.generation)
        strip = self._cache.get(key)
        if strip is None:
            strip = self._render_entry(buffer.visible(index), width)
            self._cache.set(key, strip)
            self.lines_rendered += 1
        return strip

    def _render_entry(self, entry: LogEntry, width: int) -> Strip:
        # Segments are built directly: going through one Rich Text for the whole line costs
        # about twice as much, and this runs for every line that scrolls into view.
        style = self.get_component_rich_style
        base = self._base
        if entry.stream == "note":
            # The console's own words (lines skipped), not the program's: set apart, with
            # the watcher's name in the all-watchers view (whose log file has the lines).
            segments = [Segment(" ", base)]
            if self._show_watcher and self._name_width and entry.watcher:
                name_style = style(f"log-view--name-{name_colour(entry.watcher)}")
                segments.append(Segment(_fit(entry.watcher, self._name_width) + " ", name_style))
            segments.append(Segment(entry.text, base + style("log-view--note")))
            return Strip(segments).crop_extend(0, width, base)
        stderr = entry.stream == "stderr"
        segments = [
            Segment(STDERR_MARKER, style("log-view--stderr-marker"))
            if stderr
            else Segment(" ", base)
        ]
        used = 1
        if self._show_time:
            segments.append(Segment(_clock(int(entry.time)) + " ", style("log-view--time")))
            used += 9
        if self._show_watcher and self._name_width:
            name_style = style(f"log-view--name-{name_colour(entry.watcher)}")
            segments.append(Segment(_fit(entry.watcher, self._name_width), name_style))
            segments.append(Segment(" ", base))
            used += self._name_width + 1
        room = width - used
        if room > 0:
            content = to_text(entry.text, room)
            # The program's own colours go on top of the stream's style.
            under = base + style("log-view--stderr") if stderr else base
            if self.buffer.pattern:
                match_style = style("log-view--match")
                for start, end in self.buffer.spans(content.plain):
                    content.stylize(match_style, start, end)
            if content.spans:
                segments.extend(
                    Segment(text, under + text_style if text_style else under)
                    for text, text_style, _ in content.render(self.app.console)
                )
            else:
                segments.append(Segment(content.plain, under))
            # to_text kept the content within `room` cells: pad without measuring again.
            pad = room - cell_len(content.plain)
            if pad:
                segments.append(Segment(" " * pad, under))  # stderr: a band across the row
            return Strip(segments, width)
        return Strip(segments).adjust_cell_length(width, base)
