"""The operator's keymap (keys.toml): keys as people type them, errors that name the file, the
line and the id, and a console whose keys, key bar and help follow it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.conftest import CIRCUS_TUI
from tests.tui.demo_data import ENDPOINT, demo_store
from tui.actions import DEFAULT_KEYS
from tui.app import CircusApp
from tui.keymap import Keymap, KeymapError, default_path, load, translate
from tui.screens.dialogs import AskScreen, ConfirmScreen, HelpScreen
from tui.widgets.key_bar import KeyBar

SIZE = (120, 36)


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("=", "equals_sign"),
        ("+", "plus"),
        ("-", "minus"),
        ("?", "question_mark"),
        ("/", "slash"),
        (",", "comma"),
        ("ctrl+u", "ctrl+u"),
        ("Ctrl+U", "ctrl+u"),
        ("ctrl++", "ctrl+plus"),
        ("f5", "f5"),
        ("F12", "f12"),
        ("k", "k"),
        ("K", "K"),
        ("shift+k", "K"),
        ("shift+tab", "shift+tab"),
        ("shift+ctrl+up", "ctrl+shift+up"),
        ("esc", "escape"),
        ("pgdn", "pagedown"),
        ("plus", "plus"),
        ("question_mark", "question_mark"),
        ("space", "space"),
    ],
)
def test_keys_as_people_type_them_become_textual_names(typed: str, name: str) -> None:
    assert translate(typed) == name


@pytest.mark.parametrize("typed", ["", "ctrl+", "+a", "foo", "ctrl+foo", "hyperctrl+a", "\x07"])
def test_what_is_no_key_is_refused(typed: str) -> None:
    with pytest.raises(ValueError):
        translate(typed)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "keys.toml"
    path.write_text(text)
    return path


def test_a_keymap_moves_keys_and_takes_them_from_their_default_owner(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '# mine\n[keys]\nstop = "s"\nscale-up = ["+", "="]\nhelp = "f1"\n'
        'reload = "ctrl+r"\nfollow = []\nrow-down = "j"\n',
    )
    keymap = load(path)
    keys = keymap.keys
    assert keys["stop"] == ("s",) and keys["start"] == ()  # s was start's
    assert keys["scale-up"] == ("plus", "equals_sign")
    assert keys["help"] == ("f1",) and keys["reload"] == ("ctrl+r",)
    assert keys["follow"] == ()
    assert keys["confirm-yes"] == DEFAULT_KEYS["confirm-yes"]
    assert keymap.table_keys == {"row-down": "j"}


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('[keys]\nquit = "q"\nstpo = "k"\n', 3, ["stpo", "unknown action", "'stop'"]),
        ('[keys]\n\nstop = "ctrl+nope"\n', 3, ["stop", "unknown key 'ctrl+nope'"]),
        ("[keys]\nstop = 5\n", 2, ["stop", "a list of keys"]),
        ('[key]\nstop = "k"\n', 1, ["key", "unknown table", "'keys'"]),
        ('[keys]\nstop = "k"\nstart = "k"\n', 3, ["start", "'k' is already given to 'stop'"]),
        ('[keys]\nstop = "k\n', 2, ["Illegal character"]),
    ],
)
def test_a_bad_keymap_names_the_file_the_line_and_the_id(
    tmp_path: Path, text: str, line: int, words: list[str]
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(KeymapError) as error:
        load(path)
    message = str(error.value)
    assert message.startswith(f"{path}:{line}: ") or f"line {line}" in message, message
    for word in words:
        assert word in message, message


def test_the_default_file_is_under_xdg_config_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", "/somewhere")
    assert default_path() == Path("/somewhere/circus-tui/keys.toml")
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert default_path() == Path.home() / ".config" / "circus-tui" / "keys.toml"


def circus_tui(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CIRCUS_TUI, "--endpoint", "ipc:///nonexistent/control.sock", *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )


def test_the_command_line_refuses_a_bad_keymap_with_status_2(tmp_path: Path) -> None:
    path = write(tmp_path, '[keys]\nstop = "x"\nscale_up = "="\n')
    run = circus_tui("--keys", str(path))
    assert run.returncode == 2, run.stderr
    assert run.stdout == "" and "Traceback" not in run.stderr
    assert run.stderr == (
        f"circus-tui: {path}:3: scale_up: unknown action (did you mean 'scale-up'?)\n"
    )


def test_the_command_line_reads_the_default_keymap(tmp_path: Path) -> None:
    (tmp_path / "circus-tui").mkdir()
    write(tmp_path / "circus-tui", '[keys]\nstop = "ctrl+nope"\n')
    run = circus_tui(env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert run.returncode == 2, run.stderr
    assert "keys.toml:2: stop: unknown key 'ctrl+nope'" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_keymap_given_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    run = circus_tui("--keys", str(tmp_path / "nope.toml"))
    assert run.returncode == 2 and "nope.toml: cannot read the keymap" in run.stderr


# -- a console with a keymap ---------------------------------------------------------------


def console(tmp_path: Path, text: str) -> CircusApp:
    keymap: Keymap = load(write(tmp_path, text))
    return CircusApp(
        ENDPOINT,
        connect=False,
        store=demo_store(),
        refresh_interval=3600,
        keys=keymap.keys,
        table_keys=keymap.table_keys,
    )


def bar(pilot: Pilot[Any]) -> str:
    return "".join(s.text for s in pilot.app.screen.query_one(KeyBar).render_line(0))


async def test_a_remapped_key_runs_the_action_and_the_old_one_no_longer_does(
    tmp_path: Path,
) -> None:
    app = console(tmp_path, '[keys]\nstop = "k"\nhelp = ["f1", "?"]\nscale-to = "="\n')
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("x")
        await pilot.pause()
        assert type(app.screen).__name__ == "MainScreen"
        await pilot.press("k")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and app.screen.question == "Stop web?"
        await pilot.press("n")
        await pilot.pause()
        # An action without a default key, given one.
        await pilot.press("equals_sign")
        await pilot.pause()
        assert isinstance(app.screen, AskScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert " k Stop " in bar(pilot) and " x Stop " not in bar(pilot)
        assert " f1 Help " in bar(pilot)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        rows = dict(app.screen.rows)
        assert rows["k"].startswith("Stop") and rows["f1/?"] == "Every key"
        assert rows["="] == "Set the number of processes"
        assert "x" not in rows


async def test_a_table_key_moves_with_textual_s_keymap(tmp_path: Path) -> None:
    app = console(tmp_path, '[keys]\nrow-down = "j"\n')
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        first = app.store.selected
        await pilot.press("j")
        await pilot.pause()
        assert app.store.selected != first
