"""Loading a configuration file: every problem a ConfigError naming file, line and key."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import ParseError, TOMLKitError

from daemon import checks
from daemon.checks import CheckError, did_you_mean
from daemon.config.keylines import KeyLines, dotted
from daemon.config.schema import (
    TOP_LEVEL_KEYS,
    Config,
    DaemonSettings,
    SocketConfig,
    make_settings,
    make_socket_config,
    same_address,
    unknown_key,
)
from daemon.dependencies import dependency_order
from daemon.options import OPTIONS_BY_NAME, WatcherConfig, check_option, make_watcher_config
from daemon.plugin_probe import PluginProblem, check_plugin
from daemon.plugin_spec import PluginConfig, make_plugin_config
from daemon.substitute import variables


class ConfigError(ValueError):
    """A problem in a configuration file, located as precisely as the source allows.

    A ValueError, so callers that already report bad values report this one too."""

    def __init__(self, path: Path | None, line: int | None, key: str, message: str) -> None:
        self.path = path
        self.line = line
        self.key = key
        self.message = message
        super().__init__(self._render())

    def _render(self) -> str:
        where = str(self.path) if self.path is not None else "<config>"
        if self.line is not None:
            where += f":{self.line}"
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"

    def __str__(self) -> str:
        return self._render()


def load_config(path: str | Path) -> Config:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(path, None, "", f"cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(path, line, "", "not valid UTF-8") from None
    return parse_config_text(text, path)


def parse_config_text(text: str, path: Path | None = None) -> Config:
    doc = parse_toml(text, path)
    return _Loader(path, KeyLines(text)).load(doc.unwrap())


def parse_toml(text: str, path: Path | None) -> tomlkit.TOMLDocument:
    try:
        return tomlkit.parse(text)
    except TOMLKitError as exc:
        message = re.sub(r" at line \d+ col \d+$", "", str(exc))
        line: int | None = getattr(exc, "line", None) if isinstance(exc, ParseError) else None
        key = ""
        if "already exists" in message:
            # tomlkit reports a duplicate where it noticed it (or nowhere); point at the
            # second definition instead, which is what the user has to remove.
            duplicates = KeyLines(text).duplicates
            if duplicates:
                dup_path, line = duplicates[0]
                key = dotted(dup_path)
                message = "defined twice"
        raise ConfigError(path, line, key, message if key else f"invalid TOML: {message}") from None


class _Loader:
    def __init__(self, path: Path | None, lines: KeyLines) -> None:
        self.path = path
        self.lines = lines

    def fail(self, key_path: tuple[str, ...], message: str) -> ConfigError:
        return ConfigError(self.path, self.lines.line(key_path), dotted(key_path), message)

    def load(self, data: dict[str, Any]) -> Config:
        config = Config(path=self.path)
        for key, value in data.items():
            if key not in TOP_LEVEL_KEYS:
                raise self.fail((key,), unknown_key(key, TOP_LEVEL_KEYS))
            if not isinstance(value, dict):
                raise self.fail((key,), f"expected a table, like [{key}]")
        config.settings = self.settings(data.get("circus", {}))
        config.sockets = self.sockets(data.get("sockets", {}))
        config.watchers = self.watchers(data.get("watchers", {}), config.sockets)
        config.plugins = self.plugins(data.get("plugins", {}), config.watchers)
        return config

    def settings(self, table: dict[str, Any]) -> DaemonSettings:
        try:
            settings = make_settings(table)
        except CheckError as exc:
            raise self.fail(("circus", exc.key), exc.message) from None
        if settings.state_dir is not None:
            base = self.path.parent if self.path is not None else Path.cwd()
            problem = _not_a_directory(base / os.path.expanduser(settings.state_dir))
            if problem is not None:
                raise self.fail(("circus", "state_dir"), problem)
        return settings

    def sockets(self, table: dict[str, Any]) -> dict[str, SocketConfig]:
        sockets: dict[str, SocketConfig] = {}
        for name, values in self.named_tables("sockets", "socket", table):
            try:
                sockets[name] = make_socket_config(name, values)
            except CheckError as exc:
                raise self.fail(("sockets", name, exc.key), exc.message) from None
            other = next((s for s in sockets.values() if same_address(s, sockets[name])), None)
            if other is not None and other.name != name:
                key = "path" if sockets[name].path else "port"
                raise self.fail(("sockets", name, key), f"the same address as sockets.{other.name}")
        return sockets

    def watchers(
        self, table: dict[str, Any], sockets: dict[str, SocketConfig]
    ) -> dict[str, WatcherConfig]:
        watchers: dict[str, WatcherConfig] = {}
        for name, values in self.named_tables("watchers", "watcher", table):
            # One key at a time, so the error names the first bad key in the file.
            for key, value in values.items():
                if key not in OPTIONS_BY_NAME:
                    raise self.fail(("watchers", name, key), unknown_key(key, OPTIONS_BY_NAME))
                try:
                    check_option(key, value)
                except CheckError as exc:
                    # A key inside a table (`ready.timeout`) is named, and located, as written.
                    inner = exc.key.split(".") if exc.key.startswith(f"{key}.") else [key]
                    raise self.fail(("watchers", name, *inner), exc.message) from None
            try:
                config = make_watcher_config(name, values)
            except CheckError as exc:
                raise self.fail(("watchers", name, exc.key), exc.message) from None
            self.check_socket_references(name, values, sockets, config.use_sockets)
            if config.on_demand and not sockets:
                raise self.fail(
                    ("watchers", name, "on_demand"), "no socket in [sockets] to wait on"
                )
            watchers[name] = config
        self.check_dependencies(watchers)
        return watchers

    def plugins(
        self, table: dict[str, Any], watchers: dict[str, WatcherConfig]
    ) -> dict[str, PluginConfig]:
        plugins: dict[str, PluginConfig] = {}
        base = self.base_dir
        taken = {name.lower() for name in watchers}
        for name, values in self.named_tables("plugins", "plugin", table):
            try:
                plugin = make_plugin_config(name, values, base)
            except CheckError as exc:
                raise self.fail(("plugins", name, exc.key), exc.message) from None
            if plugin.watcher_name.lower() in taken:
                raise self.fail(
                    ("plugins", name),
                    f"its watcher would be {plugin.watcher_name!r}, the name of a watcher "
                    "in [watchers]",
                )
            try:
                check_plugin(plugin, base)
            except PluginProblem as exc:
                raise self.fail(("plugins", name, exc.key), exc.message) from None
            plugins[name] = plugin
        return plugins

    @property
    def base_dir(self) -> Path:
        """Where relative paths in the file start: its own directory."""
        return self.path.parent.resolve() if self.path is not None else Path.cwd()

    def check_dependencies(self, watchers: dict[str, WatcherConfig]) -> None:
        try:
            dependency_order(watchers.values())
        except CheckError as exc:
            name, _, other = exc.key.partition(".")
            raise self.fail(("watchers", name, "depends_on", other), exc.message) from None

    def check_socket_references(
        self, name: str, values: dict[str, Any], sockets: dict[str, SocketConfig], use: bool
    ) -> None:
        stdin = values.get("stdin_socket")
        if isinstance(stdin, str) and stdin.lower() not in {n.lower() for n in sockets}:
            raise self.fail(
                ("watchers", name, "stdin_socket"),
                f"names no socket in [sockets]{did_you_mean(stdin, sockets)}",
            )
        for key in ("cmd", "args"):
            value = values.get(key)
            texts = value if isinstance(value, list) else [value]
            for text in texts:
                if not isinstance(text, str):
                    continue
                for variable in variables(text):
                    wanted = variable.socket
                    if wanted is None:
                        continue
                    # Without regard to case, as the spawner (and Circus) looks it up.
                    if wanted.lower() not in {n.lower() for n in sockets}:
                        raise self.fail(
                            ("watchers", name, key),
                            f"{variable.text} names no socket in [sockets]"
                            + did_you_mean(wanted, sockets),
                        )
                    if not use:
                        # The number would be substituted but the descriptor not passed.
                        raise self.fail(
                            ("watchers", name, key),
                            f"uses {variable.text} but use_sockets is not true",
                        )

    def named_tables(
        self, section: str, kind: str, table: dict[str, Any]
    ) -> Iterable[tuple[str, dict[str, Any]]]:
        seen: dict[str, str] = {}
        for name, values in table.items():
            try:
                checks.name(name, kind)
            except ValueError as exc:
                raise self.fail((section, name), str(exc)) from None
            if name.lower() in seen:
                raise self.fail(
                    (section, name),
                    f"same name as {kind} {seen[name.lower()]!r} "
                    "(names are matched case-insensitively)",
                )
            seen[name.lower()] = name
            if not isinstance(values, dict):
                raise self.fail((section, name), f"expected a table, like [{section}.{name}]")
            yield name, values


def _not_a_directory(path: Path) -> str | None:
    """Why `path` cannot be a directory the daemon makes or uses (None: it can)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            return f"{path} is a symbolic link to {os.readlink(path)}, which does not exist"
        return None  # made at start
    except OSError as exc:
        return f"{path}: {exc.strerror}"
    return None if stat.S_ISDIR(info.st_mode) else f"{path} is not a directory"
