"""A keyed table drawn one visible line at a time, for tables whose cells change every second.

Textual's DataTable keys its render cache on the cursor position and on a counter that every
cell update bumps, so a cursor move or one changed cell re-renders every visible row, cell by
cell through Rich. With 200 watchers updated once a second that was most of a keypress's
latency. Here each row's strip is cached under its own cells and cursor state: a cursor move
redraws two rows, a stats update redraws the rows whose text changed, and nothing in the table
ever lays the screen out again unless the columns or the number of rows change.

Rows are plain strings keyed by a string; the cursor follows its key across re-orders and
updates. Line 0 is the header, which stays put while the rows scroll under it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.widgets import row_cells
from tui.widgets.row_cells import PAD, Column

__all__ = ["Column", "RowMessage", "RowTable"]

CACHED_LINES = 512
ROW_BINDING_PREFIX = "row-"  # the ids of the table's navigation keys


class RowMessage(Message):
    """Something happened to one row of a RowTable, named by its key."""

    def __init__(self, table: RowTable, key: str) -> None:
        super().__init__()
        self.table = table
        self.key = key

    @property
    def control(self) -> RowTable:
        return self.table


class RowTable(ScrollView, can_focus=True):
    """Rows of text cells under a header, a row cursor, and keyboard and mouse selection."""

    ALLOW_SELECT = False

    # Behaviour, not looks (those are in styles/tables.tcss).
    DEFAULT_CSS = """
    RowTable {
        overflow-x: auto;
        overflow-y: auto;
    }
    """

    BINDINGS = [
        Binding("up", "cursor_up", "Up", show=False, id="row-up"),
        Binding("down", "cursor_down", "Down", show=False, id="row-down"),
        Binding("pageup", "page_up", "Page up", show=False, id="row-page-up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="row-page-down"),
        Binding("home,ctrl+home", "first_row", "First row", show=False, id="row-first"),
        Binding("end,ctrl+end", "last_row", "Last row", show=False, id="row-last"),
        Binding("left", "scroll_left", "Scroll left", show=False, id="row-scroll-left"),
        Binding("right", "scroll_right", "Scroll right", show=False, id="row-scroll-right"),
        Binding("enter", "select_row", "Select", show=False, id="row-select"),
    ]

    COMPONENT_CLASSES = {
        "row-table--header",
        "row-table--sorted",
        "row-table--cursor",
        "row-table--cursor-blurred",
        "row-table--warn",
        "row-table--bad",
        "row-table--muted",
    }

    class RowHighlighted(RowMessage):
        """The cursor is on another row (moved, or its row went away)."""

    class RowSelected(RowMessage):
        """`enter` on a row, or a click on the row under the cursor."""

    class HeaderSelected(Message):
        """A click on a column's header."""

        def __init__(self, table: RowTable, column: str) -> None:
            super().__init__()
            self.table = table
            self.column = column

        @property
        def control(self) -> RowTable:
            return self.table

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.columns = tuple(columns)
        self._order: list[str] = []  # row keys, top to bottom
        self._index: dict[str, int] = {}
        self._cells: dict[str, tuple[str, ...]] = {}
        self._widths = [cell_len(c.label) for c in self.columns]
        self._cursor = 0
        self._cursor_key: str | None = None  # the key last announced as highlighted
        self._sorted: tuple[str, bool] | None = None  # (column, descending) for the header
        self._generation = 0  # bumped when every strip is stale: widths, styles, header
        self._cache: LRUCache[tuple[object, ...], Strip] = LRUCache(CACHED_LINES)
        self._styles: dict[str, Style] = {}
        self._styles_stale = False
        self._frame_width: int | None = None
        self.rows_rendered = 0  # strips built (cache misses)

    # -- reading ------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self._order)

    @property
    def keys(self) -> list[str]:
        """Row keys, top to bottom."""
        return list(self._order)

    def cells(self, key: str) -> tuple[str, ...] | None:
        return self._cells.get(key)

    @property
    def column_widths(self) -> list[int]:
        """Each column's width in cells, without the padding around it."""
        return list(self._widths)

    @property
    def cursor_row(self) -> int:
        return self._cursor

    def current_key(self) -> str | None:
        return self._order[self._cursor] if self._order else None

    def cell_class(self, column: str, text: str) -> str | None:
        """A component class for one cell (`row-table--bad`, ...), or None: for subclasses."""
        return None

    # -- changing -----------------------------------------------------------------------

    def set_rows(
        self, rows: Iterable[tuple[str, tuple[str, ...]]], keep: str | None = None
    ) -> None:
        """Show exactly `rows`, in that order. The cursor stays on `keep` if given and present,
        else on its own row if still present, else at the same position."""
        rows = list(rows)
        before, old_cursor = self.current_key(), self._cursor
        order = [key for key, _ in rows]
        cells = dict(rows)
        changed = order != self._order or cells != self._cells
        self._order, self._cells = order, cells
        self._index = {key: i for i, key in enumerate(order)}
        self._measure()
        target = keep if keep in self._index else before
        if target in self._index:
            self._cursor = self._index[target]
        else:
            self._cursor = max(0, min(self._cursor, len(order) - 1))
        self._resize()
        if changed:
            # Rows whose cells did not change come from the cache.
            self.refresh()
        elif self._cursor != old_cursor:
            self._refresh_row(old_cursor)
            self._refresh_row(self._cursor)
        self._scroll_to_cursor()
        self._announce()

    def set_columns(self, columns: Sequence[Column]) -> None:
        """Other columns; `set_rows` with cells to match must follow before the next frame."""
        self.columns = tuple(columns)
        self._widths = [cell_len(c.label) for c in self.columns]
        self._generation += 1

    def update_row(self, key: str, cells: tuple[str, ...]) -> None:
        """New text for an existing row; only that row is drawn again."""
        old = self._cells.get(key)
        if old is None or old == cells:
            return
        self._cells[key] = cells
        grew = False
        for i, text in enumerate(cells):
            if text != old[i] and cell_len(text) > self._widths[i]:
                self._widths[i] = cell_len(text)
                grew = True
        if grew:
            self._generation += 1
            self._resize()
            self.refresh()
        else:
            self._refresh_row(self._index[key])

    def move_cursor_to(self, key: str) -> None:
        index = self._index.get(key)
        if index is not None:
            self._move(index)

    def set_sort_marker(self, column: str | None, descending: bool = False) -> None:
        """Mark the column the rows are sorted by in the header (▲ ascending, ▼ descending)."""
        marker = (column, descending) if column is not None else None
        if marker != self._sorted:
            self._sorted = marker
            self._generation += 1
            self._measure()
            self.refresh()

    def _measure(self) -> None:
        """Column widths from the header and every row (a pass over all cells: only when the
        rows are replaced; an update only ever widens a column)."""
        sorted_by = self._sorted[0] if self._sorted else None
        widths = [cell_len(c.label) + (2 if c.key == sorted_by else 0) for c in self.columns]
        for row in self._cells.values():
            for i, text in enumerate(row):
                if len(text) > widths[i] or not text.isascii():
                    widths[i] = max(widths[i], cell_len(text))
        if widths != self._widths:
            self._widths = widths
            self._generation += 1
            self._resize()

    # -- cursor ---------------------------------------------------------------------------

    @property
    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def action_cursor_up(self) -> None:
        self._move(self._cursor - 1)

    def action_cursor_down(self) -> None:
        self._move(self._cursor + 1)

    def action_page_up(self) -> None:
        self._move(self._cursor - self._page)

    def action_page_down(self) -> None:
        self._move(self._cursor + self._page)

    def action_first_row(self) -> None:
        self._move(0)

    def action_last_row(self) -> None:
        self._move(len(self._order) - 1)

    def action_scroll_left(self) -> None:
        self.scroll_to(x=self.scroll_x - 4, animate=False, immediate=True)

    def action_scroll_right(self) -> None:
        self.scroll_to(x=self.scroll_x + 4, animate=False, immediate=True)

    def action_select_row(self) -> None:
        key = self.current_key()
        if key is not None:
            self.post_message(self.RowSelected(self, key))

    def _move(self, index: int) -> None:
        if not self._order:
            return
        index = max(0, min(index, len(self._order) - 1))
        if index == self._cursor:
            return
        old, self._cursor = self._cursor, index
        self._refresh_row(old)
        self._refresh_row(index)
        self._scroll_to_cursor()
        self._announce()

    def _announce(self) -> None:
        key = self.current_key()
        if key is not None and key != self._cursor_key:
            self._cursor_key = key
            self.post_message(self.RowHighlighted(self, key))
        elif key is None:
            self._cursor_key = None

    def _scroll_to_cursor(self) -> None:
        if not self.is_mounted or not self._order:
            return
        top = round(self.scroll_y)
        page = self._page
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False, immediate=True, force=True)
        elif self._cursor >= top + page:
            self.scroll_to(y=self._cursor - page + 1, animate=False, immediate=True, force=True)

    # -- mouse ----------------------------------------------------------------------------

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        event.stop()
        if offset.y == 0:
            column = self._column_at(offset.x + round(self.scroll_x))
            if column is not None:
                self.post_message(self.HeaderSelected(self, column))
            return
        index = round(self.scroll_y) + offset.y - 1
        if not 0 <= index < len(self._order):
            return
        if index == self._cursor:
            self.action_select_row()
        else:
            self._move(index)

    def _column_at(self, x: int) -> str | None:
        for column, width in zip(self.columns, self._widths, strict=True):
            x -= width + 2 * PAD
            if x < 0:
                return column.key
        return None

    # -- sizes and refreshes --------------------------------------------------------------

    def _resize(self) -> None:
        size = Size(sum(self._widths) + 2 * PAD * len(self._widths), len(self._order) + 1)
        if size != self.virtual_size:
            # Assigning virtual_size lays out the whole screen; a new size only concerns this
            # widget's scrollbars and lines.
            self.set_reactive(RowTable.virtual_size, size)
            if self.is_mounted:
                self._scroll_update(size)
                self.refresh()

    def _refresh_row(self, index: int) -> None:
        line = index - round(self.scroll_y) + 1
        if 1 <= line < self.size.height:
            self.refresh(Region(0, line, self.size.width, 1))

    def on_focus(self) -> None:
        self._refresh_row(self._cursor)

    def on_blur(self) -> None:
        self._refresh_row(self._cursor)

    def notify_style_update(self) -> None:
        # Called on every focus change too (the :focus pseudo-class), which changes nothing
        # in the rows here: the styles are looked at again before the next frame, and the
        # cached strips are dropped only if one of them really changed (a new theme).
        super().notify_style_update()
        self._styles_stale = True

    def _check_styles(self) -> None:
        if self._styles_stale:
            self._styles_stale = False
            fresh = {name: self._compute_style(name) for name in self._styles}
            if fresh != self._styles:
                self._styles = fresh
                self._generation += 1

    def _compute_style(self, name: str) -> Style:
        base = self.rich_style
        return base if name == "" else base + self.get_component_rich_style(name)

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self._compute_style(name)
        return style

    # -- rendering ------------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        self._check_styles()
        self._frame_width = self.scrollable_content_region.width
        try:
            return super().render_lines(crop)
        finally:
            self._frame_width = None

    def render_line(self, y: int) -> Strip:
        width = self._frame_width
        if width is None:
            width = self.scrollable_content_region.width
        scroll_x, scroll_y = self.scroll_offset
        if y == 0:
            key: tuple[object, ...] = ("", None, 0, scroll_x, width, self._generation)
        else:
            index = scroll_y + y - 1
            if index >= len(self._order):
                return Strip.blank(width, self._style(""))
            row = self._order[index]
            state = 0 if index != self._cursor else 1 if self.has_focus else 2
            key = (row, self._cells[row], state, scroll_x, width, self._generation)
        strip = self._cache.get(key)
        if strip is None:
            if y == 0:
                segments, fill = self._render_header()
            else:
                segments, fill = self._render_row(self._cells[row], state)
            # The row's own style fills what is right of the last column.
            strip = Strip(segments).crop_extend(scroll_x, scroll_x + width, fill)
            self._cache.set(key, strip)
            self.rows_rendered += 1
        return strip

    def _render_header(self) -> tuple[list[Segment], Style]:
        sorted_by = None
        if self._sorted is not None:
            sorted_by = (self._sorted[0], self._sorted[1], self._style("row-table--sorted"))
        style = self._style("row-table--header")
        return row_cells.header(self.columns, self._widths, style, sorted_by), style

    def _render_row(self, cells: tuple[str, ...], state: int) -> tuple[list[Segment], Style]:
        style = self._style(("", "row-table--cursor", "row-table--cursor-blurred")[state])
        # Cell classes colour a cell only on rows the cursor is not on.
        classes = (
            [self.cell_class(c.key, text) for c, text in zip(self.columns, cells, strict=True)]
            if state == 0
            else [None] * len(cells)
        )
        styles = [style if c is None else self._style(c) for c in classes]
        return row_cells.row(self.columns, self._widths, cells, styles), style
