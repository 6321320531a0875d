"""Draw the screenshots of docs/console.md: `.venv/bin/python docs/screenshots/make_screenshots.py`.

Each picture is the console on the fixed demo data of the snapshot tests
(tests/tui/demo_data.py, and tests/tui/readiness_data.py for probes and dependencies),
exported by Textual as SVG. The output is deterministic: the random id Textual puts in every
SVG is replaced by the picture's name, so an unchanged console redraws byte-identical files.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from textual.pilot import Pilot  # noqa: E402
from textual.widgets import Input  # noqa: E402

from tests.tui.demo_data import ENDPOINT, apply_output, demo_store, utc  # noqa: E402
from tests.tui.readiness_data import readiness_store  # noqa: E402
from tui.app import CircusApp  # noqa: E402

SIZE = (120, 36)
Steps = Callable[[Pilot[Any]], Awaitable[None]]


async def nothing(pilot: Pilot[Any]) -> None:
    return None


def keys(*pressed: str) -> Steps:
    async def steps(pilot: Pilot[Any]) -> None:
        await pilot.press(*pressed)

    return steps


async def all_logs(pilot: Pilot[Any]) -> None:
    await pilot.press("a")
    app = pilot.app
    assert isinstance(app, CircusApp)
    apply_output(app.store)  # what the link fetches when the view opens
    app.refresh_from_store()
    await pilot.pause()


async def filter_error(pilot: Pilot[Any]) -> None:
    pilot.app.screen.query_one("#filter", Input).cursor_blink = False
    await pilot.press("slash", *"error")


async def details(pilot: Pilot[Any]) -> None:
    await pilot.press("enter")
    await pilot.pause()
    # Without a daemon the options and per-process history cannot be fetched; the warning
    # that says so is not part of the picture.
    await pilot.app.workers.wait_for_complete()
    pilot.app.clear_notifications()


async def palette(pilot: Pilot[Any]) -> None:
    await pilot.press("ctrl+p")
    await pilot.pause()
    for box in pilot.app.screen.query(Input):
        box.cursor_blink = False
    await pilot.press(*"restart w")
    await pilot.pause(1.0)  # the palette searches in the background


# name: (store options, app options, steps)
SHOTS: dict[str, tuple[dict[str, Any], dict[str, Any], Steps]] = {
    "main": ({}, {}, nothing),
    "filter": ({"selected": "worker"}, {}, filter_error),
    "all-logs": ({}, {}, all_logs),
    "details": ({"selected": "worker"}, {}, details),
    "help": ({}, {}, keys("question_mark")),
    "confirm": ({}, {}, keys("x")),
    "palette": ({}, {}, palette),
    "readonly": ({}, {"readonly": True}, nothing),
    "disconnected": ({"connected": False}, {}, nothing),
    "circusd": ({"daemon_kind": "circusd"}, {}, nothing),
    "readiness": ({"factory": readiness_store}, {}, nothing),
    "readiness-details": ({"factory": readiness_store, "selected": "web"}, {}, details),
}


async def shoot(name: str, store: dict[str, Any], options: dict[str, Any], steps: Steps) -> str:
    store = dict(store)
    factory = store.pop("factory", demo_store)
    app = CircusApp(
        ENDPOINT, connect=False, store=factory(**store), refresh_interval=3600, **options
    )
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.refresh_from_store()
        await pilot.pause()
        await steps(pilot)
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()
        svg = app.export_screenshot(title="circus-tui")
    return re.sub(r"\bterminal-\d+-", f"terminal-{name}-", svg)


def main(names: list[str]) -> int:
    with utc():
        for name in names or list(SHOTS):
            svg = asyncio.run(shoot(name, *SHOTS[name]))
            path = HERE / f"{name}.svg"
            path.write_text(svg)
            print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
