"""RowTable on its own, in a headless app: cursor bookkeeping across `set_rows`, keys, mouse,
what the lines say, and how few strips an update or a cursor move costs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.style import Style
from textual.app import App, ComposeResult
from textual.pilot import Pilot

from tests.conftest import until
from tui.stylesheets import stylesheet
from tui.widgets.row_table import Column, RowTable

SIZE = (60, 12)
VISIBLE_ROWS = SIZE[1] - 1  # the header takes the first line, no border, no horizontal bar

COLUMNS = (
    Column("name", "Name"),
    Column("state", "State"),
    Column("cpu", "CPU%", right=True),
)

Row = tuple[str, tuple[str, ...]]
Event = tuple[str, str]


def make_rows(count: int) -> list[Row]:
    return [(f"w{i:02}", (f"w{i:02}", "active", f"{i}.5")) for i in range(count)]


class TableApp(App[None]):
    CSS_PATH = [stylesheet("tables.tcss")]
    # A border would shift the header off y=0, which the click offsets rely on.
    CSS = "RowTable { height: 1fr; border: none; }"

    def __init__(self, rows: Iterable[Row], table: RowTable | None = None) -> None:
        super().__init__()
        self.initial_rows = list(rows)
        self.table = table if table is not None else RowTable(COLUMNS)
        self.events: list[Event] = []

    def compose(self) -> ComposeResult:
        yield self.table

    def on_mount(self) -> None:
        self.table.set_rows(self.initial_rows)
        self.table.focus()

    def on_row_table_row_highlighted(self, message: RowTable.RowHighlighted) -> None:
        self.events.append(("highlighted", message.key))

    def on_row_table_row_selected(self, message: RowTable.RowSelected) -> None:
        self.events.append(("selected", message.key))

    def on_row_table_header_selected(self, message: RowTable.HeaderSelected) -> None:
        self.events.append(("header", message.column))


async def settle(pilot: Pilot[Any], app: TableApp) -> list[Event]:
    """Every message the table has posted so far, then a clean slate.

    A message posted last is a barrier: messages from one widget arrive in order, so once it is
    in, anything posted before it is too, and an absent message really was never posted.
    """
    barrier = ("header", "-barrier-")
    app.table.post_message(RowTable.HeaderSelected(app.table, barrier[1]))
    await until(pilot, lambda: barrier in app.events)
    *events, last = app.events
    assert last == barrier
    app.events.clear()
    return events


def line_text(table: RowTable, y: int) -> str:
    return "".join(segment.text for segment in table.render_line(y))


def render_visible(table: RowTable) -> list[str]:
    """Every visible line, as the compositor asks for them after a full repaint."""
    height = table.scrollable_content_region.height
    return ["".join(s.text for s in table.render_line(y)) for y in range(height)]


def row_line(name: str, state: str, cpu: str, widths: tuple[int, int, int] = (4, 6, 4)) -> str:
    return f" {name:<{widths[0]}}  {state:<{widths[1]}}  {cpu:>{widths[2]}} "


def cell_styles(table: RowTable, y: int) -> list[Style]:
    return [segment.style or Style() for segment in table.render_line(y) if segment.text.strip()]


# -- the cursor across set_rows ---------------------------------------------------------


async def test_cursor_follows_its_key_across_a_reorder() -> None:
    rows = make_rows(6)
    app = TableApp(rows)
    async with app.run_test(size=SIZE) as pilot:
        table = app.table
        assert await settle(pilot, app) == [("highlighted", "w00")]
        table.move_cursor_to("w02")
        assert await settle(pilot, app) == [("highlighted", "w02")]

        table.set_rows(list(reversed(rows)))
        assert table.keys == [f"w{i:02}" for i in reversed(range(6))]
        assert table.current_key() == "w02"
        assert table.cursor_row == 3
        # Same row under the cursor: the detail panes must not reload.
        assert await settle(pilot, app) == []

        table.set_rows(rows, keep="w05")
        assert table.current_key() == "w05"
        assert table.cursor_row == 5
        assert await settle(pilot, app) == [("highlighted", "w05")]

        # A `keep` that is not in the rows falls back to the cursor's own key.
        table.set_rows(list(reversed(rows)), keep="gone")
        assert table.current_key() == "w05"
        assert await settle(pilot, app) == []


async def test_removing_the_cursor_row_keeps_the_position() -> None:
    rows = make_rows(6)
    app = TableApp(rows)
    async with app.run_test(size=SIZE) as pilot:
        table = app.table
        table.move_cursor_to("w03")
        await settle(pilot, app)

        table.set_rows([row for row in rows if row[0] != "w03"])
        assert table.cursor_row == 3
        assert table.current_key() == "w04"
        assert await settle(pilot, app) == [("highlighted", "w04")]

        # Removing the last rows clamps the cursor to the new last one.
        table.move_cursor_to("w05")
        await settle(pilot, app)
        table.set_rows(rows[:2])
        assert table.cursor_row == 1
        assert table.current_key() == "w01"
        assert await settle(pilot, app) == [("highlighted", "w01")]


async def test_no_rows_no_key_and_no_message() -> None:
    app = TableApp(make_rows(3))
    async with app.run_test(size=SIZE) as pilot:
        table = app.table
        await settle(pilot, app)
        table.set_rows([])
        assert table.current_key() is None
        assert table.row_count == 0
        assert table.keys == []
        await pilot.press("down", "end", "enter")
        assert await settle(pilot, app) == []
        assert line_text(table, 1).strip() == ""

        # Rows coming back are announced afresh, even under the key last announced.
        table.set_rows(make_rows(3))
        assert await settle(pilot, app) == [("highlighted", "w00")]


async def test_update_row_of_an_unknown_key_is_ignored() -> None:
    app = TableApp(make_rows(3))
    async with app.run_test(size=SIZE) as pilot:
        table = app.table
        await settle(pilot, app)
        before = render_visible(table)
        table.update_row("nope", ("a-very-long-name-indeed", "failed", "99.9"))
        assert table.keys == ["w00", "w01", "w02"]
        assert table.cells("nope") is None
        # An unknown row must not widen the columns either.
        assert render_visible(table) == before
        assert await settle(pilot, app) == []


# -- keys ---------------------------------------------------------------------------------


async def test_keys_move_the_cursor_and_post_highlights() -> None:
    app = TableApp(make_rows(30))
    async with app.run_test(size=SIZE) as pilot:
        table = app.table
        await settle(pilot, app)

        await pilot.press("up")  # already at the top
        assert table.cursor_row == 0
        assert await settle(pilot, app) == []

        await pilot.press("down", "down")
        assert table.cursor_row == 2
        assert await settle(pilot, app) == [("highlighted", "w01"), ("highlighted", "w02")]

        await pilot.press("up")
        assert await settle(pilot, app) == [("highlighted", "w01")]

        await pilot.press("pagedown")
        assert table.cursor_row == 1 + VISIBLE_ROWS
        assert await settle(pilot, app) == [("highlighted", f"w{1 + VISIBLE_ROWS:02}")]

        await pilot.press("pageup")
        assert await settle(pilot, app) == [("highlighted", "w01")]
        await pilot.press("pageup")  # clamped at the first row
        assert await settle(pilot, app) == [("highlighted", "w00")]

        await pilot.press("end")
        assert table.cursor_row == 29
        assert await settle(pilot, app) == [("highlighted", "w29")]
        await pilot.press("down", "pagedown", "end")
        assert table.cursor_row == 29
        assert await settle(pilot, app) == []

        await pilot.press("home")
        assert await settle(pilot, app) == [("highlighted", "w00")]

        await pilot.press("down", "enter")
        assert await settle(pilot, app) == [("highlighted", "w01"), ("selected", "w01")]


async def test_the_view_follows_the_cursor() -> None:
    app = TableApp(make_rows(30))
    async with app.run_test(size=SIZE) as pilot:
        table = app.table
        await pilot.pause()
        assert table.scrollable_content_region.height == SIZE[1]

        table.move_cursor_to(f"w{VISIBLE_ROWS - 2:02}")
        await pilot.press("down")
        assert table.scroll_y == 0  # the cursor is on the last visible line
        assert line_text(table, VISIBLE_ROWS).startswith(" w10 ")

        await pilot.press("down")
        assert table.scroll_y == 1
        assert line_text(table, VISIBLE_ROWS).startswith(" w11 ")
        assert line_text(table, 0).startswith(" Name ")  # the header stays put

        await pilot.press("end")
        assert table.scroll_y == 30 - VISIBLE_ROWS
        assert line_text(table, VISIBLE_ROWS).startswith(" w29 ")
        assert line_text(table, 1).startswith(f" w{30 - VISIBLE_ROWS:02} ")

        await pilot.press("up")
        assert table.scroll_y == 30 - VISIBLE_ROWS  # still visible: no scroll

        await pilot.press("home")
        assert table.scroll_y == 0
        assert line_text(table, 1).startswith(" w00 ")

        # The cursor moved from code scrolls too, and so does a re-order that carries it.
        table.move_cursor_to("w20")
        assert table.scroll_y == 20 - VISIBLE_ROWS + 1
        table.set_rows(list(reversed(make_rows(30))))
        assert table.cursor_row == 9
        assert table.scroll_y == 9


# -- mouse ------------------------------------------------------------------------------


async def test_clicks_on_rows_and_header() -> None:
    app = TableApp(make_rows(30))
    async with app.run_test(size=SIZE) as pilot:
        table = app.table
        await settle(pilot, app)

        await pilot.click(RowTable, offset=(2, 4))  # y=1 is the first row
        assert table.current_key() == "w03"
        assert await settle(pilot, app) == [("highlighted", "w03")]

        await pilot.click(RowTable, offset=(10, 4))
        assert table.current_key() == "w03"
        assert await settle(pilot, app) == [("selected", "w03")]

        # Columns are " Name " (0-5), " State  " (6-13), " CPU% " (14-19).
        for x, column in ((0, "name"), (5, "name"), (6, "state"), (13, "state"), (14, "cpu")):
            await pilot.click(RowTable, offset=(x, 0))
            assert await settle(pilot, app) == [("header", column)], x
        await pilot.click(RowTable, offset=(30, 0))  # right of the last column
        assert await settle(pilot, app) == []

        # Rows are counted from the top of the view, not of the table.
        await pilot.press("end")
        await settle(pilot, app)
        await pilot.click(RowTable, offset=(2, 1))
        assert table.current_key() == f"w{30 - VISIBLE_ROWS:02}"
        assert await settle(pilot, app) == [("highlighted", table.current_key())]


async def test_clicks_below_the_last_row_do_nothing() -> None:
    app = TableApp(make_rows(3))
    async with app.run_test(size=SIZE) as pilot:
        table = app.table
        await settle(pilot, app)
        await pilot.click(RowTable, offset=(2, 6))
        assert table.current_key() == "w00"
        assert await settle(pilot, app) == []


# -- rendering --------------------------------------------------------------------------


async def test_header_and_rows_line_up() -> None:
    rows = [
        ("a", ("a", "active", "1.5")),
        ("b", ("bb", "stopped", "12.25")),
    ]
    app = TableApp(rows)
    async with app.run_test(size=SIZE) as pilot:
        table = app.table
        await pilot.pause()
        width = table.scrollable_content_region.width
        lines = render_visible(table)
        assert all(len(line) == width for line in lines)
        widths = (4, 7, 5)
        # Labels line up with their column's text, right-aligned over numbers.
        assert lines[0] == row_line("Name", "State", "CPU%", widths).ljust(width)
        assert lines[1] == row_line("a", "active", "1.5", widths).ljust(width)
        assert lines[2] == row_line("bb", "stopped", "12.25", widths).ljust(width)
        assert lines[3] == " " * width


async def test_sort_marker() -> None:
    app = TableApp(make_rows(3))
    async with app.run_test(size=SIZE) as pilot:
        table = app.table
        await pilot.pause()
        assert "▲" not in line_text(table, 0) and "▼" not in line_text(table, 0)

        table.set_sort_marker("cpu", descending=True)
        header = line_text(table, 0)
        assert header.startswith(" Name  State   CPU% ▼ ")
        # The column grows by the marker's width; its numbers stay right-aligned under it.
        assert line_text(table, 2).startswith(row_line("w01", "active", "1.5", (4, 6, 6)))
        sorted_style = table.get_component_rich_style("row-table--sorted")
        header_style = table.get_component_rich_style("row-table--header")
        styles = cell_styles(table, 0)
        assert styles[2].color == sorted_style.color
        assert styles[0].color == header_style.color

        table.set_sort_marker("name")
        header = line_text(table, 0)
        assert header.startswith(" Name ▲  State   CPU% ")
        assert "▼" not in header

        table.set_sort_marker(None)
        assert line_text(table, 0).startswith(" Name  State   CPU% ")
        assert "▲" not in line_text(table, 0)


async def test_update_row_widens_its_column() -> None:
    app = TableApp(make_rows(3))
    async with app.run_test(size=SIZE) as pilot:
        table = app.table
        await pilot.pause()
        assert line_text(table, 0).startswith(" Name  State   CPU% ")

        table.update_row("w01", ("w01", "backoff (3s)", "1.5"))
        assert table.cells("w01") == ("w01", "backoff (3s)", "1.5")
        widths = (4, 12, 4)
        assert line_text(table, 0).startswith(row_line("Name", "State", "CPU%", widths))
        # Every row moves with the wider column, not only the one that changed.
        assert line_text(table, 1).startswith(row_line("w00", "active", "0.5", widths))
        assert line_text(table, 2).startswith(row_line("w01", "backoff (3s)", "1.5", widths))

        # A shorter text keeps the width: columns do not jitter once a second.
        table.update_row("w01", ("w01", "active", "1.5"))
        assert line_text(table, 2).startswith(row_line("w01", "active", "1.5", widths))


async def test_cursor_and_cell_classes_are_styled() -> None:
    class StateTable(RowTable):
        def cell_class(self, column: str, text: str) -> str | None:
            return "row-table--bad" if column == "state" and text == "failed" else None

    rows = [("a", ("a", "failed", "1")), ("b", ("b", "failed", "2"))]
    app = TableApp(rows, StateTable(COLUMNS))
    async with app.run_test(size=SIZE) as pilot:
        table = app.table
        await pilot.pause()
        assert table.has_focus
        cursor = table.get_component_rich_style("row-table--cursor")
        bad = table.get_component_rich_style("row-table--bad")
        assert cursor.bgcolor is not None and bad.color is not None

        assert {style.bgcolor for style in cell_styles(table, 1)} == {cursor.bgcolor}
        plain, state, _ = cell_styles(table, 2)
        assert state.color == bad.color
        assert plain.color != bad.color

        table.blur()
        await pilot.pause()
        blurred = table.get_component_rich_style("row-table--cursor-blurred")
        assert {style.bgcolor for style in cell_styles(table, 1)} == {blurred.bgcolor}


# -- the strip cache ----------------------------------------------------------------------


async def test_an_update_redraws_one_row_and_a_move_two() -> None:
    app = TableApp(make_rows(30))
    async with app.run_test(size=SIZE) as pilot:
        table = app.table
        await pilot.pause()
        first = render_visible(table)
        built = table.rows_rendered
        assert render_visible(table) == first
        assert table.rows_rendered == built  # header and rows alike come from the cache

        # The compositor gets its turn (pilot.pause) before the full repaint, so the count is
        # what the screen costs, whoever asks for the line first.
        table.update_row("w04", ("w04", "active", "9.9"))
        await pilot.pause()
        lines = render_visible(table)
        assert table.rows_rendered == built + 1
        assert lines[5].startswith(row_line("w04", "active", "9.9"))
        assert [line for y, line in enumerate(lines) if y != 5] == first[:5] + first[6:]

        built = table.rows_rendered
        await pilot.press("down")
        render_visible(table)
        assert table.rows_rendered == built + 2

        # A stats tick on rows out of view costs nothing until they scroll in.
        built = table.rows_rendered
        table.update_row("w25", ("w25", "active", "0.1"))
        await pilot.pause()
        render_visible(table)
        assert table.rows_rendered == built


async def test_the_screen_shows_partial_redraws() -> None:
    """The cache is keyed right only if the refreshed region is the row's line on screen: a
    wrong one leaves Textual's own line cache serving the old text."""
    app = TableApp(make_rows(30))
    async with app.run_test(size=SIZE) as pilot:
        table = app.table
        await pilot.pause()
        await pilot.press("down", "down", "down")  # scroll nowhere, cursor on line 4
        await pilot.pause()

        def screen() -> list[str]:
            strips = app.screen._compositor.render_strips()
            return ["".join(segment.text for segment in strip) for strip in strips]

        assert screen()[3].startswith(" w02 ")
        table.update_row("w02", ("w02", "failed", "7.5"))
        await pilot.pause()
        assert screen()[3].startswith(row_line("w02", "failed", "7.5"))

        cursor = table.get_component_rich_style("row-table--cursor").bgcolor
        await pilot.press("up")
        await pilot.pause()
        strips = app.screen._compositor.render_strips()
        assert {s.style.bgcolor for s in strips[3] if s.style and s.text.strip()} == {cursor}
        assert cursor not in {s.style.bgcolor for s in strips[4] if s.style and s.text.strip()}


async def test_focus_redraws_the_cursor_row_and_a_theme_everything() -> None:
    app = TableApp(make_rows(30))
    async with app.run_test(size=SIZE) as pilot:
        table = app.table
        await pilot.pause()
        render_visible(table)
        focused = cell_styles(table, 1)

        # Blur: only the cursor row changes (to the blurred cursor); the rest are cached.
        built = table.rows_rendered
        app.set_focus(None)
        await pilot.pause()
        render_visible(table)
        assert table.rows_rendered == built + 1
        assert cell_styles(table, 1) != focused

        # A new theme changes every colour: nothing cached may survive it.
        plain = cell_styles(table, 3)
        built = table.rows_rendered
        app.theme = "textual-light" if app.theme != "textual-light" else "nord"
        await pilot.pause()
        render_visible(table)
        assert table.rows_rendered >= built + VISIBLE_ROWS + 1  # every row and the header
        assert cell_styles(table, 3) != plain


def cursor_lines(app: TableApp) -> list[int]:
    """Screen lines drawn with the cursor's background, as the compositor has them."""
    cursor = app.table.get_component_rich_style("row-table--cursor").bgcolor
    return [
        y
        for y, strip in enumerate(app.screen._compositor.render_strips())
        if any(s.style and s.style.bgcolor == cursor and s.text.strip() for s in strip)
    ]


async def test_set_rows_moving_only_the_cursor_redraws_it() -> None:
    rows = make_rows(6)
    app = TableApp(rows)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.pause()
        assert cursor_lines(app) == [1]
        app.table.set_rows(rows, keep="w03")  # same rows, the cursor elsewhere
        await pilot.pause()
        assert app.table.cursor_row == 3 and cursor_lines(app) == [4]


async def test_the_header_scrolls_sideways_with_the_rows_and_clicks_follow() -> None:
    rows = [(f"k{i}", (f"name-{'x' * 40}-{i}", "active", "1.0")) for i in range(3)]
    app = TableApp(rows)
    async with app.run_test(size=(30, 12)) as pilot:
        await settle(pilot, app)
        header = line_text(app.table, 0)
        assert header.startswith(" Name")
        for _ in range(10):
            await pilot.press("right")
        await pilot.pause()
        assert app.table.scroll_x > 0
        scrolled = line_text(app.table, 0)
        assert scrolled != header and "State" in scrolled  # not the cached unscrolled line
        await pilot.click(RowTable, offset=(scrolled.index("State"), 0))
        assert await settle(pilot, app) == [("header", "state")]
