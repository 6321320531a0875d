"""The TOML text of a converted configuration: [circus], then the watchers in the order of
WATCHER_OPTIONS, then the sockets, then the plugins."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import tomlkit
from tomlkit.items import Integer, Table, Trivia

from daemon.config import SOCKET_CHECKS, toml_value
from daemon.options import WATCHER_OPTIONS

# More environment variables than this read better as their own [watchers.NAME.env] table.
INLINE_ENV_MAX = 3


@dataclass
class WatcherDraft:
    name: str
    # The name in the .ini, which [env:PATTERN] sections match against.
    original: str
    values: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    # TOML spellings that read better than the checked values (args as written, "QUIT").
    spelled: dict[str, Any] = field(default_factory=dict)
    # hooks.NAME values as written, checked together once the section is read.
    hooks: dict[str, str] = field(default_factory=dict)


def render(
    source: str,
    included: list[str],
    settings: dict[str, Any],
    watchers: list[WatcherDraft],
    sockets: dict[str, dict[str, Any]],
    plugins: dict[str, dict[str, Any]],
) -> str:
    doc = tomlkit.document()
    doc.add(tomlkit.comment(f"Converted from {source} by `circus-tui convert`."))
    for name in included:
        doc.add(tomlkit.comment(f"Includes merged: {name}"))
    doc.add(tomlkit.nl())
    if settings:
        circus = tomlkit.table()
        for key, value in settings.items():
            circus[key] = value
        doc["circus"] = circus
    if watchers:
        tables = tomlkit.table(is_super_table=True)
        for watcher in watchers:
            tables[watcher.name] = _watcher_table(watcher)
        doc["watchers"] = tables
    if sockets:
        socket_tables = tomlkit.table(is_super_table=True)
        for name, values in sockets.items():
            table = tomlkit.table()
            for key in SOCKET_CHECKS:
                if key in values:
                    table[key] = _socket_toml(key, values[key])
            socket_tables[name] = table
        doc["sockets"] = socket_tables
    if plugins:
        plugin_tables = tomlkit.table(is_super_table=True)
        for name, values in plugins.items():
            table = tomlkit.table()
            table.update(values)
            plugin_tables[name] = table
        doc["plugins"] = plugin_tables
    return doc.as_string()


def _watcher_table(watcher: WatcherDraft) -> Table:
    table = tomlkit.table()
    for option in WATCHER_OPTIONS:
        if option.name not in watcher.values or option.name == "env":
            continue
        if option.name in watcher.spelled:
            table[option.name] = watcher.spelled[option.name]
        elif option.name == "umask":
            table[option.name] = _socket_toml("umask", watcher.values["umask"])
        else:
            table[option.name] = toml_value(option.name, watcher.values[option.name])
    env = watcher.values.get("env")
    if env:
        if len(env) <= INLINE_ENV_MAX:
            table["env"] = toml_value("env", env)
        else:
            sub = tomlkit.table()
            for key, value in env.items():
                sub[key] = value
            table["env"] = sub
    return table


def _socket_toml(key: str, value: Any) -> Any:  # a watcher's umask too
    if key == "umask":
        # Spelled in octal, as every umask is read.
        return Integer(value, Trivia(), f"0o{value:03o}")
    return value
