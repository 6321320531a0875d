"""The console's actions come from one registry: a key and its palette entry run the same code
(the same confirmation, the same command), read-only mode hides the same actions everywhere,
and the palette understands a verb without its value."""

from __future__ import annotations

from typing import Any

import pytest
from textual.command import CommandPalette
from textual.pilot import Pilot
from textual.widgets import Input, Label

from daemon.command_table import console_uses
from tests.tui.demo_data import ENDPOINT, demo_store
from tui.actions import ACTIONS, allowed
from tui.app import CircusApp
from tui.palette import entries, parse
from tui.screens.dialogs import AskScreen, ConfirmScreen
from tui.values import question

SIZE = (120, 36)


class Recording(CircusApp):
    """The console on the demo data, keeping the commands it would send."""

    def __init__(self, **options: Any) -> None:
        super().__init__(
            ENDPOINT, connect=False, store=demo_store(), refresh_interval=3600, **options
        )
        self.sent: list[tuple[str, str, dict[str, Any]]] = []

    def send(self, label: str, command: str, **props: Any) -> None:
        self.sent.append((label, command, props))


async def palette(pilot: Pilot[Any], query: str) -> list[str]:
    """Open the palette, type `query`, and return the texts it offers."""
    app = pilot.app
    await pilot.press("ctrl+p")
    await pilot.pause()
    assert isinstance(app.screen, CommandPalette)
    await pilot.press(*query)
    await pilot.pause()  # the text box's change starts the search
    await app.workers.wait_for_complete()
    await pilot.pause()
    options = app.screen.query_one("CommandList")
    # The text of each, without the help line under it.
    return [
        str(options.get_option_at_index(i).prompt).split("\n")[0]
        for i in range(options.option_count)
    ]


async def choose_first(pilot: Pilot[Any], query: str) -> str:
    """Type `query` in the palette and choose what it offers first; returns its text."""
    offered = await palette(pilot, query)
    await pilot.press("enter")
    await pilot.pause()
    return offered[0]


SCALE_WEB_4 = ("set", {"name": "web", "options": {"numprocesses": 4}, "waiting": True})


def test_every_console_use_of_the_command_table_is_an_action_that_changes() -> None:
    for command, use in console_uses():
        action = ACTIONS[use.action]
        assert action.changes == command.changes and action.ask == use.ask
        assert not allowed(action, readonly=True)
    assert allowed(ACTIONS["copy"], readonly=True)


async def test_stop_key_and_stop_in_the_palette_ask_the_same_then_send_the_same() -> None:
    asked: list[tuple[str, str]] = []
    for how in ("key", "palette"):
        app = Recording()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            if how == "key":
                await pilot.press("x")
            else:
                offered = await palette(pilot, "stop web")
                assert offered[0] == "Stop web"
                await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, ConfirmScreen)
            asked.append((app.screen.question, app.screen.detail))
            await pilot.press("y")
            await pilot.pause()
            assert app.sent == [
                ("stop web", "stop", {"name": "web", "match": "simple", "waiting": True})
            ]
    assert asked[0] == asked[1] == ("Stop web?", ACTIONS["stop"].ask)


async def test_scale_without_a_number_asks_for_it_and_checks_it() -> None:
    app = Recording()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert await choose_first(pilot, "scale web") == "Scale web to …"
        assert isinstance(app.screen, AskScreen)
        for bad in ("many", "100001", "-1"):
            app.screen.query_one(Input).value = bad
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, AskScreen), bad
            assert str(app.screen.query_one("#ask-error", Label).render()), bad
        assert app.sent == []
        app.screen.query_one(Input).value = "4"
        await pilot.press("enter")
        await pilot.pause()
        assert app.sent == [("set web 4", *SCALE_WEB_4)]


async def test_escape_leaves_the_question_and_sends_nothing() -> None:
    app = Recording()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await choose_first(pilot, "scale web")
        assert isinstance(app.screen, AskScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "MainScreen" and app.sent == []


async def test_scale_with_a_number_offers_it_first() -> None:
    app = Recording()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert await choose_first(pilot, "scale web 4") == "Scale web to 4"
        assert app.sent == [("set web 4", *SCALE_WEB_4)]


@pytest.mark.parametrize("query", ["signal web", "send signal web", "sighup web"])
def test_signal_and_a_watcher_offer_each_signal_for_it(query: str) -> None:
    app = Recording()
    texts = {e.text for e in entries(app, parse(query))}
    assert {"Send SIGHUP to web", "Send SIGTERM to web", "Send SIGKILL to web"} <= texts


async def test_signal_web_in_the_palette_finds_the_signals() -> None:
    app = Recording()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        offered = await palette(pilot, "signal web hup")
        assert offered[0] == "Send SIGHUP to web"
        offered_all = set(await palette_again(pilot, "signal web"))
        assert {"Send SIGHUP to web", "Send SIGKILL to web"} <= offered_all


async def palette_again(pilot: Pilot[Any], query: str) -> list[str]:
    await pilot.press("escape")
    await pilot.pause()
    return await palette(pilot, query)


async def test_readonly_palette_offers_no_command_but_the_console_s_own() -> None:
    app = Recording(readonly=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        offered = await palette(pilot, "stop web")
        assert not [t for t in offered if t.startswith("Stop")]
        offered = await palette_again(pilot, "copy")
        assert "Copy the output to the clipboard" in offered
    texts = [e.text for e in entries(app, parse(""))]
    assert texts and not [t for t in texts if t.startswith(("Stop", "Start", "Scale"))]


async def test_the_console_s_own_actions_run_from_the_palette_as_from_their_keys() -> None:
    app = Recording()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert await choose_first(pilot, "sort watchers by cpu") == "Sort watchers by cpu%"
        assert app.store.sort_key == "cpu"
        assert await choose_first(pilot, "details of worker") == "Details of worker"
        assert type(app.screen).__name__ == "DetailsScreen"
        assert app.screen.watcher == "worker"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("needs", "typed", "values"),
    [
        (("n",), " 12 ", {"n": 12}),
        (("signal",), "hup", {"signal": "HUP"}),
        (("signal",), "SIGTERM", {"signal": "TERM"}),
        (("signal",), "9", {"signal": "KILL"}),
        (("name", "cmd"), "api python -m x", {"name": "api", "cmd": "python -m x"}),
    ],
)  # fmt: skip
def test_what_a_command_needs_is_read_by_the_daemon_s_rules(
    needs: tuple[str, ...], typed: str, values: dict[str, Any]
) -> None:
    assert question(needs).parse(typed) == values


@pytest.mark.parametrize(
    ("needs", "typed"),
    [(("n",), "100001"), (("n",), "2.5"), (("signal",), "NOPE"), (("name", "cmd"), "api"),
     (("name", "cmd"), "a.b sleep 1"), (("name", "cmd"), "circus sleep 1")],
)  # fmt: skip
def test_what_the_daemon_would_refuse_is_refused_before_sending(
    needs: tuple[str, ...], typed: str
) -> None:
    with pytest.raises(ValueError):
        question(needs).parse(typed)


async def test_the_palette_s_rolling_reload_sends_a_graceful_reload_without_asking() -> None:
    app = Recording()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert await choose_first(pilot, "rolling reload web") == "Rolling reload of web"
        assert type(app.screen).__name__ == "MainScreen"  # capacity never drops: no question
        assert app.sent == [
            ("reload web", "reload", {"name": "web", "graceful": True, "waiting": True})
        ]
    assert ACTIONS["reload"].command is not None and ACTIONS["reload"].command.name == "reload"
