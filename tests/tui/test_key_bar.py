"""The key bar at the bottom: the screen's keys as text, kept up to date without mounting."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from tests.tui.demo_data import ENDPOINT, demo_store
from tui.app import CircusApp
from tui.widgets.key_bar import KeyBar


def console(**options: Any) -> CircusApp:
    return CircusApp(ENDPOINT, connect=False, store=demo_store(), refresh_interval=3600, **options)


def shown(pilot: Pilot[Any]) -> str:
    bar = pilot.app.screen.query_one(KeyBar)
    return "".join(segment.text for segment in bar.render_line(0))


async def test_main_keys_then_only_those_a_text_box_leaves() -> None:
    app = console()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        text = shown(pilot)
        for part in (" + +1 ", " s Start ", " / Filter ", " ? Help ", " ^p palette "):
            assert part in text
        assert text.rstrip().endswith("^p palette")  # on the right
        await pilot.press("slash")  # into the filter box: letters are typed, not keys
        await pilot.pause()
        assert " s Start " not in shown(pilot) and " / Filter " in shown(pilot)
        await pilot.press("escape")
        await pilot.pause()
        assert " s Start " in shown(pilot)


async def test_readonly_shows_no_key_that_changes_anything() -> None:
    app = console(readonly=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        text = shown(pilot)
        for gone in ("+1", "-1", "Start", "Stop", "Restart"):
            assert gone not in text
        assert " / Filter " in text and " q Quit " in text


async def test_a_click_on_a_key_presses_it() -> None:
    app = console()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        text = shown(pilot)
        x = text.index(" ? Help ") + 1
        await pilot.click(KeyBar, offset=(x, 0))
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"
