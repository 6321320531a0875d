"""The watchers table on the demo data: the CPU trend takes the room the terminal gives it."""

from __future__ import annotations

import pytest

from tests.tui.demo_data import ENDPOINT, demo_store
from tui.app import CircusApp
from tui.widgets.tables import MAX_SPARK, MIN_SPARK, WatchersTable


@pytest.mark.parametrize(("size", "trend"), [((80, 24), MIN_SPARK), ((200, 60), MAX_SPARK)])
async def test_cpu_trend_widens_with_the_terminal(size: tuple[int, int], trend: int) -> None:
    app = CircusApp(ENDPOINT, connect=False, store=demo_store(), refresh_interval=3600)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        app.refresh_from_store()
        await pilot.pause()
        table = app.screen.query_one(WatchersTable)
        cells = table.cells("worker")
        assert cells is not None and len(cells[-1]) == trend
        if trend > MIN_SPARK:
            # Every column fits: no sideways scrolling needed to see the trend. (At 80
            # columns nothing fits: the trend keeps its least, left and right scroll.)
            assert table.virtual_size.width <= table.scrollable_content_region.width


async def test_cpu_trend_follows_a_resize() -> None:
    app = CircusApp(ENDPOINT, connect=False, store=demo_store(), refresh_interval=3600)
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.pause()
        app.refresh_from_store()
        await pilot.pause()
        table = app.screen.query_one(WatchersTable)
        await pilot.resize_terminal(120, 36)
        await pilot.pause()
        cells = table.cells("worker")
        assert cells is not None and MIN_SPARK < len(cells[-1]) < MAX_SPARK
        assert table.virtual_size.width <= table.scrollable_content_region.width
