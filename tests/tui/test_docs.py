"""The console's documentation keeps up with the code: every key binding defined in tui/ is in
docs/keybindings.md with its id and keys, and every picture docs/console.md shows exists."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest
from textual.binding import Binding

import tui
from tui.actions import ACTIONS
from tui.keymap import load

DOCS = Path(__file__).resolve().parents[2] / "docs"


def tui_bindings() -> list[tuple[str, Binding | tuple[str, ...]]]:
    """(class, binding) for every BINDINGS entry of every class defined in tui/."""
    found: list[tuple[str, Binding | tuple[str, ...]]] = []
    for module_info in pkgutil.walk_packages(tui.__path__, prefix="tui."):
        module = importlib.import_module(module_info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            for binding in cls.__dict__.get("BINDINGS", []):
                found.append((f"{module.__name__}.{name}", binding))
    return found


BINDINGS = tui_bindings()


def keybindings_rows() -> dict[str, str]:
    """Table rows of docs/keybindings.md, by the binding id in their second column."""
    rows: dict[str, str] = {}
    for line in (DOCS / "keybindings.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 2:
            for binding_id in re.findall(r"`([^`]+)`", cells[1]):
                rows[binding_id] = cells[0]
    return rows


def test_bindings_are_found() -> None:
    owners = {owner for owner, _ in BINDINGS}
    assert {"tui.app.CircusApp", "tui.screens.main.MainScreen"} <= owners
    assert len(BINDINGS) >= 20


@pytest.mark.parametrize(("owner", "binding"), BINDINGS, ids=lambda v: getattr(v, "id", None))
def test_every_binding_has_an_id_and_is_documented_with_its_keys(
    owner: str, binding: Binding | tuple[str, ...]
) -> None:
    assert isinstance(binding, Binding) and binding.id, (
        f"{owner}: {binding!r} needs an id, so that users can remap it (docs/keybindings.md)"
    )
    rows = keybindings_rows()
    assert binding.id in rows, f"{owner}: binding id {binding.id!r} is not in docs/keybindings.md"
    documented = set(re.findall(r"`([^`]+)`", rows[binding.id]))
    for key in binding.key.split(","):
        assert key.strip() in documented, (
            f"{owner}: {binding.id!r} is bound to {key.strip()!r}, which its row in "
            f"docs/keybindings.md does not give ({rows[binding.id]})"
        )


def test_binding_ids_are_unique() -> None:
    ids = [b.id for _, b in BINDINGS if isinstance(b, Binding)]
    assert len(ids) == len(set(ids))


def test_pictures_of_console_md_exist() -> None:
    text = (DOCS / "console.md").read_text()
    pictures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert pictures
    missing = [p for p in pictures if not (DOCS / p).is_file()]
    assert not missing


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_every_action_of_the_registry_is_documented_with_its_keys(action: str) -> None:
    rows = keybindings_rows()
    assert action in rows, f"action {action!r} is not in docs/keybindings.md"
    documented = set(re.findall(r"`([^`]+)`", rows[action]))
    assert set(ACTIONS[action].keys) <= documented, (action, rows[action])
    if not ACTIONS[action].keys:
        assert rows[action] == "none", (action, rows[action])


def test_the_keymap_example_of_keybindings_md_is_one_the_console_takes(tmp_path: Path) -> None:
    text = (DOCS / "keybindings.md").read_text()
    example = re.search(r"```toml\n(.*?)```", text, re.S)
    assert example is not None
    path = tmp_path / "keys.toml"
    path.write_text(example.group(1))
    keymap = load(path)
    assert keymap.keys["stop"] == ("k",) and keymap.keys["follow"] == ()
