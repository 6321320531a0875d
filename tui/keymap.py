"""The operator's keymap: `$XDG_CONFIG_HOME/circus-tui/keys.toml` (or `--keys FILE`), a
`[keys]` table of `action-id = "key"` or a list of keys, written as people type them ("=",
"+", "ctrl+u", "f5", "?") and translated to Textual's key names.

A key the keymap gives an action is taken from whichever action had it by default where both
are active (the main screen and the app's keys, for instance); two entries giving the same key
there are an error. So are an unknown id or key: `KeymapError`, naming the file, the line and
the id (with the nearest valid one).
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from textual.binding import Binding
from textual.keys import REPLACED_KEYS, _character_to_key, key_to_character

from tui.actions import ACTIONS, DEFAULT_KEYS, Keys, Where
from tui.widgets.row_table import RowTable

MODIFIERS = {"ctrl", "alt", "shift", "super", "meta", "hyper"}
_MODIFIER_ALIASES = {"control": "ctrl", "option": "alt"}
_NAME_ALIASES = {
    "esc": "escape",
    "return": "enter",
    "pgup": "pageup",
    "pgdn": "pagedown",
    "pgdown": "pagedown",
    "del": "delete",
    "ins": "insert",
    "bs": "backspace",
    "spacebar": "space",
}
NAMED_KEYS = {
    "escape", "enter", "tab", "space", "backspace", "up", "down", "left", "right", "home",
    "end", "insert", "delete", "pageup", "pagedown", *(f"f{i}" for i in range(1, 25)),
}  # fmt: skip

# The tables' navigation keys: Textual bindings with ids, moved by Textual's own keymap.
TABLE_IDS = {b.id for b in RowTable.BINDINGS if isinstance(b, Binding) and b.id}


class KeymapError(Exception):
    """A keymap file the console will not start with; the message is the whole story."""


class Keymap(NamedTuple):
    keys: Keys  # every action's keys in force
    table_keys: dict[str, str]  # for App.set_keymap: table binding id -> "key,key"


NO_KEYMAP = Keymap(DEFAULT_KEYS, {})


def default_path() -> Path:
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "circus-tui" / "keys.toml"


def translate(typed: str) -> str:
    """A key as people type it ("ctrl+U", "=", "f5", "shift+tab") to Textual's key name
    ("ctrl+u", "equals_sign", "f5", "shift+tab"); ValueError if there is no such key."""
    text = typed.strip()
    if not text:
        raise ValueError("an empty key")
    if text == "+" or text.endswith("++"):
        mods, base = (text[:-2].split("+") if len(text) > 1 else []), "+"
    else:
        *mods, base = text.split("+")
    if not base or not all(mods):
        raise ValueError("write keys as ctrl+u, f5, + or ctrl++")
    modifiers = [_MODIFIER_ALIASES.get(m.lower(), m.lower()) for m in mods]
    for m in modifiers:
        if m not in MODIFIERS:
            raise ValueError(f"{m!r} is not a modifier ({', '.join(sorted(MODIFIERS))})")
    if len(set(modifiers)) != len(modifiers):
        raise ValueError("a modifier given twice")
    if len(base) == 1:
        if not base.isprintable() or base.isspace():
            raise ValueError("not a key you can type (write space, tab...)")
        if "shift" in modifiers and base.isalpha() and modifiers == ["shift"]:
            return base.upper()  # what the terminal sends for shift+a: "A"
        if modifiers and base.isalpha():
            base = base.lower()  # ctrl+U is ctrl+u
        # Textual's own rule for a character's key name ("?" is question_mark).
        name = base if base.isalnum() else _character_to_key(base)
    else:
        name = _NAME_ALIASES.get(base.lower(), base.lower())
        known = name in NAMED_KEYS or name in REPLACED_KEYS  # REPLACED_KEYS: "slash"...
        if not known and key_to_character(name) is None:
            raise ValueError(f"no key is called {base!r}")
    # Textual names keys with their modifiers in alphabetical order.
    return "+".join([*sorted(modifiers), name])


def _line(text: str, ident: str) -> int:
    """The line (from 1) of the file where `ident` is given a value."""
    pattern = re.compile(rf"(^|[\s.]|[\"']){re.escape(ident)}[\"']?\s*=")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.search(line.split("#", 1)[0]):
            return number
    return 1


def _nearest(word: str) -> str:
    found = difflib.get_close_matches(word, [*ACTIONS, *TABLE_IDS], n=1, cutoff=0.5)
    return f" (did you mean {found[0]!r}?)" if found else ""


def _overlap(a: Where, b: Where) -> bool:
    # The app's keys are active on the main and details screens (not in the dialogs).
    return a == b or {a, b} in ({"app", "main"}, {"app", "details"})


def load(path: Path) -> Keymap:
    """The keymap of `path`; raises KeymapError."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KeymapError(f"{path}: cannot read the keymap: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise KeymapError(f"{path}: {exc}") from None
    return parse(data, text, path)


def parse(data: Mapping[str, Any], text: str, path: Path) -> Keymap:
    for table in data:
        if table != "keys":
            hint = " (did you mean 'keys'?)" if difflib.get_close_matches(table, ["keys"]) else ""
            raise KeymapError(
                f"{path}:{_line(text, table)}: {table}: unknown table{hint}: "
                "the keymap is one [keys] table"
            )
    entries = data.get("keys", {})
    if not isinstance(entries, Mapping):
        raise KeymapError(f"{path}:{_line(text, 'keys')}: keys: must be a table, [keys]")
    given: dict[str, tuple[str, ...]] = {}
    table_keys: dict[str, str] = {}
    for ident, value in entries.items():
        where = f"{path}:{_line(text, ident)}: {ident}"
        if ident not in ACTIONS and ident not in TABLE_IDS:
            raise KeymapError(f"{where}: unknown action{_nearest(ident)}")
        typed = [value] if isinstance(value, str) else value
        if not isinstance(typed, list) or not all(isinstance(k, str) for k in typed):
            raise KeymapError(f'{where}: give a key ("x") or a list of keys (["x", "f5"])')
        keys: list[str] = []
        for key in typed:
            try:
                keys.append(translate(key))
            except ValueError as exc:
                raise KeymapError(f"{where}: unknown key {key!r}: {exc}") from None
        if ident in TABLE_IDS:
            if keys:
                table_keys[ident] = ",".join(keys)
            continue
        for other, taken in given.items():
            same = set(keys) & set(taken)
            if same and _overlap(ACTIONS[ident].where, ACTIONS[other].where):
                raise KeymapError(
                    f"{where}: {sorted(same)[0]!r} is already given to {other!r} "
                    f"(line {_line(text, other)})"
                )
        given[ident] = tuple(dict.fromkeys(keys))
    return Keymap(resolve(given), table_keys)


def resolve(given: Mapping[str, tuple[str, ...]]) -> Keys:
    """Every action's keys with `given` applied: a key given to an action is taken from the
    actions that had it by default where both are active."""
    if not given:
        return DEFAULT_KEYS
    keys: dict[str, tuple[str, ...]] = {}
    for ident, default in DEFAULT_KEYS.items():
        if ident in given:
            keys[ident] = given[ident]
            continue
        where = ACTIONS[ident].where
        taken = {
            k for other, ks in given.items() if _overlap(where, ACTIONS[other].where) for k in ks
        }
        keys[ident] = tuple(k for k in default if k not in taken)
    return keys
