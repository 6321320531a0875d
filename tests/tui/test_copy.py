"""`y` copies output to the operator's clipboard with OSC 52: what the terminal receives decodes
to the lines as the programs wrote them, safe to paste, and bounded in size."""

from __future__ import annotations

import base64
import re
from typing import Any

from textual.pilot import Pilot

from daemon.printable import printable
from tests.tui.demo_data import ENDPOINT, demo_store
from tui.app import CircusApp
from tui.clipboard import MAX_BYTES, clipboard_text, summary
from tui.logbuffer import LogEntry
from tui.widgets.log_view import LogView

SIZE = (120, 36)
OSC52 = re.compile(r"\x1b\]52;c;([A-Za-z0-9+/=]*)\x07")


def console() -> CircusApp:
    return CircusApp(ENDPOINT, connect=False, store=demo_store(), refresh_interval=3600)


def capture(app: CircusApp) -> list[str]:
    """What the app writes to the terminal from now on."""
    written: list[str] = []
    driver = app._driver
    assert driver is not None
    write = driver.write

    def spy(data: str) -> None:
        written.append(data)
        write(data)

    driver.write = spy  # type: ignore[method-assign]
    return written


def copied(written: list[str]) -> str:
    payloads = [m.group(1) for data in written for m in OSC52.finditer(data)]
    assert len(payloads) == 1, payloads
    return base64.b64decode(payloads[0]).decode("utf-8")


def shown(app: CircusApp) -> list[str]:
    """The lines of the output pane, as the operator reads them (without their colours)."""
    log = app.store.log
    return [printable(log.visible(i).text) for i in range(len(log))]


def add_line(app: CircusApp, text: str) -> None:
    log = app.store.log
    log.extend([LogEntry(10_000 + len(log), 0.0, "web", 4101, "stdout", text)])
    app.store.log_changed = True
    app.refresh_from_store()


async def press_y(pilot: Pilot[Any]) -> list[str]:
    written = capture(pilot.app)  # type: ignore[arg-type]
    await pilot.press("y")
    await pilot.pause()
    return written


async def test_y_copies_the_line_at_the_bottom_of_the_output() -> None:
    app = console()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        assert app.screen.query_one(LogView).follow
        written = await press_y(pilot)
        assert copied(written) == shown(app)[-1]
        assert [n.message for n in app._notifications] == ["copied 1 line"]


async def test_y_copies_every_line_the_filter_shows() -> None:
    app = console()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        app.store.set_filter("GET")
        app.refresh_from_store()
        await pilot.pause()
        lines = shown(app)
        assert len(lines) > 1 and all("GET" in line for line in lines)
        written = await press_y(pilot)
        assert copied(written).split("\n") == lines
        assert [n.message for n in app._notifications] == [f"copied {len(lines)} lines"]


async def test_what_is_copied_is_safe_to_paste_and_keeps_tabs() -> None:
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        add_line(app, "\x1b[31mred\x1b[0m\tplain\x07 \x1b]0;title\x07end")
        await pilot.pause()
        text = copied(await press_y(pilot))
        assert text.startswith("red\tplain") and text.endswith("end")
        assert not re.search(r"[\x00-\x08\x0a-\x1f\x7f\x80-\x9f]", text), repr(text)


def test_the_copy_is_bounded_keeping_the_newest_lines() -> None:
    lines = [f"{i:09d}" for i in range(20_000)]  # 10 bytes a line with its newline
    result = clipboard_text(lines)
    assert len(result.text.encode()) <= MAX_BYTES and result.cut
    assert result.text.split("\n") == lines[-result.lines :]
    assert result.lines == MAX_BYTES // 10
    assert "7,500 lines of 20,000" in summary(result)
    one = clipboard_text(["é" * MAX_BYTES])  # 2 bytes each: cut on a character
    assert one.lines == 1 and one.cut and one.text == "é" * (MAX_BYTES // 2)
    assert not clipboard_text(["a", "b"]).cut
