"""The log pane in a tiny app: only visible lines rendered, follow mode, filter, no escapes."""

from __future__ import annotations

import re

from textual import events
from textual.app import App, ComposeResult
from textual.strip import Strip

from tui.logbuffer import LogBuffer, LogEntry
from tui.stylesheets import stylesheet
from tui.widgets.log_view import STDERR_MARKER, LogView, name_colour

HEIGHT = 20
CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def entry(
    n: int, text: str | None = None, watcher: str = "web", stream: str = "stdout"
) -> LogEntry:
    return LogEntry(
        seq=n,
        time=1_700_000_000.0 + n,
        watcher=watcher,
        pid=100,
        stream=stream,
        text=f"line {n}" if text is None else text,
    )


class CountingLogView(LogView):
    def __init__(self, buffer: LogBuffer) -> None:
        super().__init__(buffer, id="log")
        self.render_calls = 0

    def render_line(self, y: int) -> Strip:
        self.render_calls += 1
        return super().render_line(y)


class LogApp(App[None]):
    CSS_PATH = [stylesheet("log_view.tcss")]

    def __init__(self, buffer: LogBuffer) -> None:
        super().__init__()
        self.buffer = buffer
        self.messages: list[LogView.FollowChanged] = []

    def compose(self) -> ComposeResult:
        yield CountingLogView(self.buffer)

    def on_log_view_follow_changed(self, message: LogView.FollowChanged) -> None:
        self.messages.append(message)

    @property
    def view(self) -> CountingLogView:
        return self.query_one(CountingLogView)


def follow_changes(app: LogApp) -> list[bool]:
    return [message.follow for message in app.messages]


def lines_on_screen(view: LogView) -> list[str]:
    return [view.render_line(y).text.rstrip() for y in range(view.size.height)]


async def test_only_visible_lines_are_rendered() -> None:
    buffer = LogBuffer(maxlen=200_000)
    app = LogApp(buffer)
    async with app.run_test(size=(80, HEIGHT)) as pilot:
        view = app.view
        view.render_calls = 0
        buffer.extend([entry(n) for n in range(100_000)])
        view.refresh_lines()
        await pilot.pause()
        assert view.virtual_size.height == 100_000
        assert view.show_vertical_scrollbar
        assert view.scroll_y == view.max_scroll_y == 100_000 - HEIGHT
        assert view.vertical_scrollbar.position == view.scroll_y
        assert view.vertical_scrollbar.window_virtual_size == 100_000
        # One repaint: about one call per screen row, not per entry.
        assert HEIGHT <= view.render_calls <= 3 * HEIGHT
        assert view.lines_rendered <= 2 * HEIGHT
        assert lines_on_screen(view)[-1].split()[-2:] == ["line", "99999"]

        # A second tick with a few more lines builds only the new ones.
        built = view.lines_rendered
        buffer.extend([entry(n) for n in range(100_000, 100_005)])
        view.refresh_lines()
        await pilot.pause()
        assert view.lines_rendered - built <= 5


async def test_scrolling_up_stops_following_and_end_resumes() -> None:
    buffer = LogBuffer()
    buffer.extend([entry(n) for n in range(200)])
    app = LogApp(buffer)
    async with app.run_test(size=(80, HEIGHT)) as pilot:
        view = app.view
        view.focus()
        await pilot.pause()
        assert view.follow and view.scroll_y == view.max_scroll_y

        await pilot.press("up")
        assert not view.follow
        await pilot.pause()
        assert follow_changes(app) == [False]
        top = lines_on_screen(view)[0]

        # New lines arrive: the view stays on what is being read.
        buffer.extend([entry(n) for n in range(200, 260)])
        view.refresh_lines()
        await pilot.pause()
        assert lines_on_screen(view)[0] == top
        assert view.scroll_y < view.max_scroll_y

        await pilot.press("end")
        await pilot.pause()
        assert view.follow and view.scroll_y == view.max_scroll_y
        assert lines_on_screen(view)[-1].endswith("line 259")

        await pilot.press("pageup")
        assert not view.follow
        # Moving back down to the bottom resumes following.
        await pilot.press("pagedown", "pagedown")
        assert view.follow
        await pilot.pause()
        assert follow_changes(app) == [False, True, False, True]


async def test_mouse_wheel_up_stops_following() -> None:
    buffer = LogBuffer()
    buffer.extend([entry(n) for n in range(200)])
    app = LogApp(buffer)
    async with app.run_test(size=(80, HEIGHT)) as pilot:
        view = app.view
        view.post_message(events.MouseScrollUp(view, 1, 1, 0, -1, 0, False, False, False))
        await pilot.pause()
        assert not view.follow


async def test_toggle_follow_jumps_to_the_end() -> None:
    buffer = LogBuffer()
    buffer.extend([entry(n) for n in range(200)])
    app = LogApp(buffer)
    async with app.run_test(size=(80, HEIGHT)) as pilot:
        view = app.view
        view.action_toggle_follow()
        assert not view.follow
        buffer.extend([entry(n) for n in range(200, 300)])
        view.refresh_lines()
        await pilot.pause()
        assert view.scroll_y < view.max_scroll_y  # paused where it was
        view.action_toggle_follow()
        await pilot.pause()
        assert view.follow and view.scroll_y == view.max_scroll_y


async def test_the_lines_being_read_stay_put_while_old_ones_are_trimmed() -> None:
    buffer = LogBuffer(maxlen=300)
    buffer.extend([entry(n) for n in range(300)])
    app = LogApp(buffer)
    async with app.run_test(size=(80, HEIGHT)) as pilot:
        view = app.view
        view.focus()
        await pilot.press("pageup", "pageup")
        top = lines_on_screen(view)[0]
        buffer.extend([entry(n) for n in range(300, 400)])  # trims 100 from the front
        view.refresh_lines()
        await pilot.pause()
        assert lines_on_screen(view)[0] == top
        assert not view.follow


async def test_filter_reduces_lines_highlights_and_keeps_the_place() -> None:
    buffer = LogBuffer()
    buffer.extend(
        [entry(n, f"request {n} failed with ERROR" if n % 10 == 0 else None) for n in range(200)]
    )
    app = LogApp(buffer)
    async with app.run_test(size=(80, HEIGHT)) as pilot:
        view = app.view
        buffer.set_filter("error")
        view.refresh_lines()
        await pilot.pause()
        assert view.virtual_size.height == 20
        shown = lines_on_screen(view)
        assert all("ERROR" in line for line in shown)

        match = view.get_component_rich_style("log-view--match")
        strip = view.render_line(0)
        highlighted = [
            seg.text for seg in strip if seg.style and seg.style.bgcolor == match.bgcolor
        ]
        assert highlighted == ["ERROR"]

        # Clearing the filter brings the context back around the same line when paused.
        view.follow = False
        await pilot.press("home")
        buffer.set_filter("")
        view.refresh_lines()
        await pilot.pause()
        assert view.virtual_size.height == 200
        assert lines_on_screen(view)[0].endswith("request 0 failed with ERROR")


async def test_stderr_and_watcher_names_are_distinct() -> None:
    buffer = LogBuffer()
    buffer.extend(
        [entry(1, "out", "web"), entry(2, "oops", "db", "stderr"), entry(3, "more", "webserver")]
    )
    app = LogApp(buffer)
    async with app.run_test(size=(80, HEIGHT)) as pilot:
        view = app.view
        view.show_watcher = True
        view.refresh_lines()
        await pilot.pause()
        lines = lines_on_screen(view)[:3]  # three entries: at the top, no scrolling
        assert lines[0].startswith(" ") and lines[1].startswith(STDERR_MARKER)
        assert [line[1:].split()[1:] for line in lines] == [
            ["web", "out"],
            ["db", "oops"],
            ["webserver", "more"],
        ]
        # Names are padded to one width, so the text lines up.
        assert lines[0].index("out") == lines[1].index("oops") == lines[2].index("more")

        marker = view.get_component_rich_style("log-view--stderr-marker")
        stderr = view.get_component_rich_style("log-view--stderr")
        segments = list(view.render_line(1))
        assert segments[0].text == STDERR_MARKER
        assert segments[0].style is not None and segments[0].style.color == marker.color
        oops = next(seg for seg in segments if seg.text == "oops")
        assert oops.style is not None and oops.style.bgcolor == stderr.bgcolor
        assert stderr.bgcolor != view.rich_style.bgcolor  # the tint shows

        web = view.get_component_rich_style(f"log-view--name-{name_colour('web')}")
        name = next(seg for seg in view.render_line(0) if seg.text.strip() == "web")
        assert name.style is not None and name.style.color == web.color


HOSTILE = [
    "\x1b]0;pwned title\x07after title",
    "\x1b]2;pwned\x1b\\after st title",
    "\x1b[2Jafter clear",
    "\x1b[?1049hafter alt screen\x1b[?1049l",
    "\x1b]52;c;cm0gLXJmIH4K\x07after clipboard",
    "\x1b[6n\x1b[cafter reports",
    "\x9b2Jafter 8-bit csi",
    "\x1bcafter reset\x07\x08\x7f",
    "\x1bP+q544e\x1b\\after dcs",
    "\x1b[1;31mred is fine\x1b[0m",
]


async def test_hostile_output_never_reaches_the_terminal() -> None:
    buffer = LogBuffer()
    buffer.extend(
        [entry(n, text, stream="stderr" if n % 2 else "stdout") for n, text in enumerate(HOSTILE)]
    )
    app = LogApp(buffer)
    async with app.run_test(size=(80, HEIGHT)) as pilot:
        view = app.view
        view.show_watcher = True
        await pilot.pause()
        texts = [line for line in lines_on_screen(view) if line.strip()]
        assert len(texts) == len(HOSTILE)
        for y in range(view.size.height):
            for segment in view.render_line(y):
                assert not CONTROLS.search(segment.text), repr(segment.text)
        assert any(line.endswith("red is fine") for line in texts)
        assert not any("pwned" in line for line in texts)

        # What the app would write to the terminal: only Textual's own cursor moves and SGR.
        output = app.screen._compositor.render_full_update().render_segments(app.console)
        for sequence in re.findall(r"\x1b[^a-zA-Z]*[a-zA-Z]?", output):
            assert re.fullmatch(r"\x1b\[[0-9;]*[mH]", sequence), repr(sequence)
        assert "\x07" not in output and "\x9b" not in output and "pwned" not in output
        assert app.title == "LogApp"
        svg = app.export_screenshot()
        assert "\x1b" not in svg and "pwned" not in svg


async def test_long_lines_are_cut_at_the_width() -> None:
    buffer = LogBuffer()
    buffer.extend([entry(1, "x" * 100_000)])
    app = LogApp(buffer)
    async with app.run_test(size=(40, HEIGHT)) as pilot:
        await pilot.pause()
        strip = app.view.render_line(0)
        assert strip.cell_length == app.view.scrollable_content_region.width
        assert strip.text.endswith("…")


async def test_another_buffer_is_shown_from_its_newest_line() -> None:
    buffer = LogBuffer()
    buffer.extend([entry(n) for n in range(300)])
    other = LogBuffer()
    other.extend([entry(n, watcher="db") for n in range(150)])
    app = LogApp(buffer)
    async with app.run_test(size=(80, HEIGHT)) as pilot:
        view = app.view
        await pilot.press("home")  # reading old lines: following is off
        await pilot.pause()
        assert not view.follow
        view.set_buffer(other)
        await pilot.pause()
        # Another watcher's output: its newest lines, not a position in the other's.
        assert view.follow and view.virtual_size.height == 150
        assert lines_on_screen(view)[-1].endswith("line 149")
        other.clear()
        view.refresh_lines()
        await pilot.pause()
        assert view.follow and view.virtual_size.height == 0
        assert all(not line.strip() for line in lines_on_screen(view))


async def test_the_consoles_notes_are_set_apart_from_program_output() -> None:
    buffer = LogBuffer()
    buffer.extend([entry(1), entry(2, "… 5 lines not fetched here", stream="note"), entry(3)])
    app = LogApp(buffer)
    async with app.run_test(size=(80, HEIGHT)) as pilot:
        await pilot.pause()
        view = app.view
        note = view.render_line(1)
        assert note.text.strip() == "… 5 lines not fetched here"  # no time, no marker
        assert note.cell_length == view.scrollable_content_region.width
        styles = {seg.style for seg in note if seg.text.strip()}
        assert styles == {view.rich_style + view.get_component_rich_style("log-view--note")}
        assert any(seg.style and seg.style.italic for seg in note)
        # Among all watchers' output, the note says whose lines (whose log file has them).
        view.show_watcher = True
        await pilot.pause()
        assert view.render_line(1).text.split() == [
            "web",
            "…",
            "5",
            "lines",
            "not",
            "fetched",
            "here",
        ]


async def test_a_smaller_pane_keeps_the_newest_line_in_sight() -> None:
    buffer = LogBuffer()
    buffer.extend([entry(n) for n in range(100)])
    app = LogApp(buffer)
    async with app.run_test(size=(80, HEIGHT)) as pilot:
        view = app.view
        await pilot.resize_terminal(80, 10)
        await pilot.pause()
        assert view.follow and view.scroll_y == view.max_scroll_y
        assert lines_on_screen(view)[-1].endswith("line 99")
        assert view.render_line(0).cell_length == view.scrollable_content_region.width


async def test_time_and_names_can_be_turned_off_and_on() -> None:
    buffer = LogBuffer()
    buffer.extend([entry(5, "hello")])
    app = LogApp(buffer)
    async with app.run_test(size=(80, HEIGHT)) as pilot:
        view = app.view
        view.show_time = False
        await pilot.pause()
        assert lines_on_screen(view)[0] == " hello"
        view.show_watcher = True
        await pilot.pause()
        assert lines_on_screen(view)[0] == " web hello"
