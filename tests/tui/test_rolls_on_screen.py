"""A rolling reload on screen: its progress in the status line as the events come, and an
aborted roll told once, whether the event or the command's reply says it first."""

from __future__ import annotations

from typing import Any

from textual.widgets import Static

from daemon.client import CallError
from tests.tui.demo_data import ENDPOINT
from tests.tui.readiness_data import readiness_store
from tui.app import CircusApp

SIZE = (120, 36)


def console() -> CircusApp:
    return CircusApp(ENDPOINT, connect=False, store=readiness_store(), refresh_interval=3600)


def status_line(app: CircusApp) -> str:
    return str(app.screen.query_one("#status", Static).render())


def said(app: CircusApp) -> list[str]:
    return [n.message for n in app._notifications]


async def settle(app: CircusApp, pilot: Any) -> None:
    app.refresh_from_store()
    await pilot.pause()


async def test_the_status_line_follows_the_roll() -> None:
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert "reloading web: 2/4 replaced" in status_line(app)
        app.store.apply_event("web", "roll", {"phase": "progress", "replaced": 3, "total": 4})
        await settle(app, pilot)
        assert "reloading web: 3/4 replaced" in status_line(app)
        app.store.apply_event("web", "roll", {"phase": "done", "replaced": 4, "total": 4})
        await settle(app, pilot)
        assert "reloading" not in status_line(app) and "● connected" in status_line(app)
        assert said(app) == []


async def test_an_aborted_roll_is_told_once_with_its_reason_as_text() -> None:
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        reason = "pid 4203 not ready after 60.0 s [bold]x[/bold]\x1b]0;t\x07"
        body = {"phase": "aborted", "replaced": 2, "total": 4, "reason": reason}
        app.store.apply_event("web", "roll", body)
        await settle(app, pilot)
        # The reply to the console's own `reload web` says the same: not told again.
        app.notify_once(("roll-aborted", "web"), f"reload web: {reason}", "error")
        await pilot.pause()
        assert said(app) == ["reload web aborted: pid 4203 not ready after 60.0 s [bold]x[/bold]"]
        assert not any(n.markup for n in app._notifications)  # `[bold]` is text, not a style
        assert "reloading" not in status_line(app)


async def test_a_refused_reload_is_told_once_even_when_its_event_comes_after() -> None:
    app = console()

    async def refuse(command: str, **props: Any) -> dict[str, Any]:
        raise CallError("pid 4203 not ready after 60.0 s \x1b[2J[red]!")

    app.link.call = refuse  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await app._send("reload web", "reload", {"name": "web", "graceful": True})
        body = {"phase": "aborted", "replaced": 2, "total": 4, "reason": "not ready"}
        app.store.apply_event("web", "roll", body)
        await settle(app, pilot)
        assert said(app) == ["reload web: pid 4203 not ready after 60.0 s [red]!"]
        # Any other command's refusal is told as text too.
        await app._send("stop web", "stop", {"name": "web"})
        await pilot.pause()
        assert said(app)[-1] == "stop web: pid 4203 not ready after 60.0 s [red]!"
        assert not any(n.markup for n in app._notifications)
