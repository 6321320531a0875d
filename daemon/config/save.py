"""Saving the running state back into the configuration file, touching only what differs:
comments and layout survive (tomlkit)."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import InlineTable, Table

from daemon.checks import signal_name
from daemon.config.load import ConfigError, parse_config_text, parse_toml
from daemon.options import OPTIONS_BY_NAME, WATCHER_OPTIONS, WatcherConfig


def save_config(path: str | Path, watchers: dict[str, WatcherConfig]) -> None:
    """Rewrite the file so its watchers match `watchers`, touching only what differs.

    The file is re-read first: a value the file already spells differently (SIGTERM for 15,
    "a b" for ["a", "b"]) is left alone, and comments and layout survive.
    Raises ConfigError if the file on disk no longer loads.
    """
    path = Path(path)
    # Writing through a symlink keeps the link and replaces its target.
    target = Path(os.path.realpath(path))
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, None, "", f"cannot read: {exc}") from None
    current = parse_config_text(text, path)
    doc = parse_toml(text, path)

    # The daemon matches names case-insensitively, so may the file.
    by_lower = {name.lower(): name for name in watchers}
    matched: set[str] = set()
    for file_name, file_config in current.watchers.items():
        running_name = file_name if file_name in watchers else by_lower.get(file_name.lower())
        tables: Any = doc["watchers"]
        if running_name is None or running_name in matched:
            del tables[file_name]
            continue
        matched.add(running_name)
        _update_watcher_table(tables[file_name], file_config, watchers[running_name])

    added = [config for name, config in watchers.items() if name not in matched]
    out = _append_watcher_tables(doc, added)
    # Never leave behind a file the daemon would refuse at its next start.
    parse_config_text(out, path)
    _write_atomic(target, out)


def toml_value(name: str, value: Any) -> Any:
    if name == "stop_signal":
        return signal_name(value)
    value = OPTIONS_BY_NAME[name].shown(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if name == "env":
        table = tomlkit.inline_table()
        table.update(value)
        return table
    return value


def _update_watcher_table(table: Any, old: WatcherConfig, new: WatcherConfig) -> None:
    for option in WATCHER_OPTIONS:
        before, after = getattr(old, option.name), getattr(new, option.name)
        if before == after:
            continue
        if after is None:
            if option.name in table:
                del table[option.name]
        elif option.name == "env" and isinstance(table.get("env"), Table):
            # A [watchers.NAME.env] table: edit its keys so its comments stay.
            env = table["env"]
            for var in [v for v in env if v not in after]:
                del env[var]
            for var, val in after.items():
                if env.get(var) != val:
                    env[var] = val
        else:
            table[option.name] = toml_value(option.name, after)


def new_watcher_table(config: WatcherConfig) -> Table:
    """cmd and every option that differs from its default, in the documented order."""
    table = tomlkit.table()
    for option in WATCHER_OPTIONS:
        value = getattr(config, option.name)
        if option.name != "cmd" and (value == option.default or value is None):
            continue
        table[option.name] = toml_value(option.name, value)
    return table


def _append_watcher_tables(doc: tomlkit.TOMLDocument, added: list[WatcherConfig]) -> str:
    text = doc.as_string()
    if not added:
        return text
    # New tables go at the end of the file, where a reader looks for what changed; tomlkit
    # alone would slip them into the middle of out-of-order tables.
    chunk = tomlkit.document()
    tables = tomlkit.table(is_super_table=True)
    for config in added:
        tables[config.name] = new_watcher_table(config)
    chunk["watchers"] = tables
    base = text
    if base and not base.endswith("\n"):
        base += "\n"
    if base.strip():
        base += "\n"
    out = base + chunk.as_string()
    try:
        tomlkit.parse(out)
        return out
    except TOMLKitError:
        pass
    # The file defines watchers in a way a new header cannot extend (an inline table):
    # let tomlkit place them inside that structure.
    watchers: Any = doc["watchers"]
    for config in added:
        table = new_watcher_table(config)
        watchers[config.name] = table.unwrap() if isinstance(watchers, InlineTable) else table
    return doc.as_string()


def _write_atomic(target: Path, text: str) -> None:
    try:
        info: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        info = None
    # A new file may hold secrets in env tables: private until the user says otherwise.
    mode = stat.S_IMODE(info.st_mode) if info else 0o600
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        if info is not None and (info.st_uid, info.st_gid) != (os.getuid(), os.getgid()):
            # Not root: the file becomes ours, which is all we can do.
            with contextlib.suppress(PermissionError):
                os.chown(tmp, info.st_uid, info.st_gid)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    try:
        dir_fd = os.open(target.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
