"""The TOML configuration file: loading with errors that name file, line and key, and saving
the running state back into the same file without disturbing its comments or layout."""

from __future__ import annotations

import bisect
import contextlib
import ipaddress
import json
import os
import re
import stat
import tempfile
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import ParseError, TOMLKitError
from tomlkit.items import InlineTable, Table

from daemon.options import (
    OPTIONS_BY_NAME,
    WATCHER_OPTIONS,
    OptionError,
    WatcherConfig,
    check_name,
    check_option,
    make_watcher_config,
    signal_name,
    suggest,
)

TOP_LEVEL_KEYS = ("circus", "watchers", "sockets")


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


# ---------------------------------------------------------------------------------------------
# [circus]


@dataclass(frozen=True)
class DaemonSettings:
    endpoint: str | None = None
    pubsub_endpoint: str | None = None
    stats_endpoint: str | None = None
    state_dir: str | None = None
    stats_interval: float = 1.0
    history_seconds: float = 900.0


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_endpoint(value: Any) -> str:
    """An ipc:// path, or tcp:// on a loopback address: the control endpoint has no
    authentication, so it must never be reachable from another machine."""
    if not isinstance(value, str):
        raise ValueError("expected a string")
    text = value.strip()
    if text.startswith("ipc://"):
        if len(text) == len("ipc://"):
            raise ValueError("an ipc:// endpoint needs a path, like ipc:///run/circus/control.sock")
        if len(text[len("ipc://") :].encode()) > 100:
            # sun_path holds 108 bytes; ZeroMQ needs a few of them.
            raise ValueError("the ipc path is longer than the 100 bytes a unix socket allows")
        return text
    if text.startswith("tcp://"):
        host, sep, port = text[len("tcp://") :].rpartition(":")
        if not sep or not host:
            raise ValueError("expected tcp://HOST:PORT")
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError(f"bad port {port!r}: expected 1 to 65535")
        bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        if not _is_loopback(bare):
            raise ValueError(
                f"{host} is not a loopback address: the control protocol has no "
                "authentication, so TCP endpoints must use 127.0.0.1, ::1 or localhost "
                "(or use ipc://)"
            )
        return text
    raise ValueError("expected ipc://PATH or tcp://127.0.0.1:PORT")


def _number(low: float, high: float, low_inclusive: bool = True) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            raise ValueError("expected a number")
        try:
            number = float(value)
        except OverflowError:
            raise ValueError("number too large") from None
        if low_inclusive and number < low:
            raise ValueError(f"must be at least {low:g}")
        if not low_inclusive and number <= low:
            raise ValueError(f"must be more than {low:g}")
        if number > high:
            raise ValueError(f"must be at most {high:g}")
        return number

    return check


def _path_string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    if not value.strip() or "\0" in value:
        raise ValueError("expected a path")
    return value


SETTINGS_CHECKS: dict[str, Callable[[Any], Any]] = {
    "endpoint": check_endpoint,
    "pubsub_endpoint": check_endpoint,
    "stats_endpoint": check_endpoint,
    "state_dir": _path_string,
    "stats_interval": _number(0, 3600, low_inclusive=False),
    # Below ten minutes the console's sparklines would start empty; a day bounds memory.
    "history_seconds": _number(600, 86400),
}


def make_settings(values: Mapping[str, Any]) -> DaemonSettings:
    """Build DaemonSettings from unchecked values; raises OptionError naming the key."""
    checked: dict[str, Any] = {}
    for key, value in values.items():
        check = SETTINGS_CHECKS.get(key)
        if check is None:
            raise OptionError(key, _unknown(key, SETTINGS_CHECKS))
        try:
            checked[key] = check(value)
        except ValueError as exc:
            raise OptionError(key, str(exc)) from None
    seen: dict[str, str] = {}
    for key in ("endpoint", "pubsub_endpoint", "stats_endpoint"):
        if key in checked:
            if checked[key] in seen:
                raise OptionError(key, f"must differ from {seen[checked[key]]}")
            seen[checked[key]] = key
    return DaemonSettings(**checked)


# ---------------------------------------------------------------------------------------------
# [sockets.NAME]

SOCKET_FAMILIES = ("AF_INET", "AF_INET6", "AF_UNIX")
SOCKET_TYPES = ("SOCK_STREAM", "SOCK_DGRAM")


@dataclass(frozen=True)
class SocketConfig:
    name: str
    host: str = "127.0.0.1"
    port: int = 0
    path: str | None = None
    family: str = "AF_INET"
    type: str = "SOCK_STREAM"
    backlog: int = 2048
    so_reuseport: bool = False
    umask: int = 0o022
    replace: bool = False
    blocking: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise OptionError("port", "expected 0 to 65535")
        if not 0 <= self.umask <= 0o777:
            raise OptionError("umask", "expected 0o000 to 0o777")
        if self.family not in SOCKET_FAMILIES:
            raise OptionError("family", "expected one of " + ", ".join(SOCKET_FAMILIES))
        if self.type not in SOCKET_TYPES:
            raise OptionError("type", "expected one of " + ", ".join(SOCKET_TYPES))
        if self.family == "AF_UNIX" and self.path is None:
            raise OptionError("path", "an AF_UNIX socket needs a path")
        if self.path is not None and self.family != "AF_UNIX":
            raise OptionError("family", "a socket with a path is AF_UNIX")
        if self.family != "AF_UNIX":
            try:
                address = ipaddress.ip_address(self.host)
            except ValueError:
                return  # a host name: resolved when the socket is bound
            if (address.version == 6) != (self.family == "AF_INET6"):
                raise OptionError("host", f"{self.host} is not an {self.family} address")


def _strict_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("expected true or false")
    return value


def _strict_int(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("expected an integer")
        if not low <= value <= high:
            raise ValueError(f"expected {low} to {high}")
        return value

    return check


def _umask(value: Any) -> int:
    # Circus files spell it as a string of octal digits; TOML has 0o022.
    if isinstance(value, str):
        text = value.strip().lower().removeprefix("0o")
        if not text or any(c not in "01234567" for c in text):
            raise ValueError('expected octal digits, like 0o022 or "022"')
        value = int(text, 8)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("expected an octal number, like 0o022")
    if not 0 <= value <= 0o777:
        raise ValueError("expected 0o000 to 0o777")
    return value


def _host(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a host name or address")
    return value.strip()


def _choice(choices: Iterable[str]) -> Callable[[Any], str]:
    allowed = tuple(choices)

    def check(value: Any) -> str:
        if not isinstance(value, str) or value.strip().upper() not in allowed:
            raise ValueError("expected one of " + ", ".join(allowed))
        return value.strip().upper()

    return check


SOCKET_CHECKS: dict[str, Callable[[Any], Any]] = {
    "host": _host,
    "port": _strict_int(0, 65535),
    "path": _path_string,
    "family": _choice(SOCKET_FAMILIES),
    "type": _choice(SOCKET_TYPES),
    "backlog": _strict_int(0, 1 << 16),
    "so_reuseport": _strict_bool,
    "umask": _umask,
    "replace": _strict_bool,
    "blocking": _strict_bool,
}


def make_socket_config(name: str, values: Mapping[str, Any]) -> SocketConfig:
    """Build a SocketConfig from unchecked values; raises OptionError naming the key."""
    checked: dict[str, Any] = {}
    for key, value in values.items():
        check = SOCKET_CHECKS.get(key)
        if check is None:
            raise OptionError(key, _unknown(key, SOCKET_CHECKS))
        try:
            checked[key] = check(value)
        except ValueError as exc:
            raise OptionError(key, str(exc)) from None
    if "path" in checked:
        for key in ("host", "port"):
            if key in checked:
                raise OptionError(key, "does not apply to a unix socket (path is set)")
        checked.setdefault("family", "AF_UNIX")
    return SocketConfig(name=name, **checked)


# ---------------------------------------------------------------------------------------------
# Loading


@dataclass
class Config:
    path: Path | None
    settings: DaemonSettings = field(default_factory=DaemonSettings)
    watchers: dict[str, WatcherConfig] = field(default_factory=dict)
    sockets: dict[str, SocketConfig] = field(default_factory=dict)


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
    doc = _parse_toml(text, path)
    return _Loader(path, _KeyLines(text)).load(doc.unwrap())


def _parse_toml(text: str, path: Path | None) -> tomlkit.TOMLDocument:
    try:
        return tomlkit.parse(text)
    except TOMLKitError as exc:
        message = re.sub(r" at line \d+ col \d+$", "", str(exc))
        line: int | None = getattr(exc, "line", None) if isinstance(exc, ParseError) else None
        key = ""
        if "already exists" in message:
            # tomlkit reports a duplicate where it noticed it (or nowhere); point at the
            # second definition instead, which is what the user has to remove.
            duplicates = _KeyLines(text).duplicates
            if duplicates:
                dup_path, line = duplicates[0]
                key = dotted(dup_path)
                message = "defined twice"
        raise ConfigError(path, line, key, message if key else f"invalid TOML: {message}") from None


_SOCKET_REFERENCE = re.compile(
    r"\$\(circus\.sockets\.([\w.-]+)\)|\(\(circus\.sockets\.([\w.-]+)\)\)", re.IGNORECASE
)


class _Loader:
    def __init__(self, path: Path | None, lines: _KeyLines) -> None:
        self.path = path
        self.lines = lines

    def fail(self, key_path: tuple[str, ...], message: str) -> ConfigError:
        return ConfigError(self.path, self.lines.line(key_path), dotted(key_path), message)

    def load(self, data: dict[str, Any]) -> Config:
        config = Config(path=self.path)
        for key, value in data.items():
            if key not in TOP_LEVEL_KEYS:
                raise self.fail((key,), _unknown(key, TOP_LEVEL_KEYS))
            if not isinstance(value, dict):
                raise self.fail((key,), f"expected a table, like [{key}]")
        config.settings = self.settings(data.get("circus", {}))
        config.sockets = self.sockets(data.get("sockets", {}))
        config.watchers = self.watchers(data.get("watchers", {}), config.sockets)
        return config

    def settings(self, table: dict[str, Any]) -> DaemonSettings:
        try:
            settings = make_settings(table)
        except OptionError as exc:
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
            except OptionError as exc:
                raise self.fail(("sockets", name, exc.key), exc.message) from None
            other = next((s for s in sockets.values() if _same_address(s, sockets[name])), None)
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
                    raise self.fail(("watchers", name, key), _unknown(key, OPTIONS_BY_NAME))
                try:
                    check_option(key, value)
                except OptionError as exc:
                    raise self.fail(("watchers", name, key), exc.message) from None
            try:
                config = make_watcher_config(name, values)
            except OptionError as exc:
                raise self.fail(("watchers", name, exc.key), exc.message) from None
            # check_options compares only the keys it is given; the defaults count too.
            if config.backoff_min > config.backoff_max:
                key = "backoff_min" if "backoff_min" in values else "backoff_max"
                raise self.fail(
                    ("watchers", name, key),
                    f"backoff_min ({config.backoff_min:g}) must not exceed "
                    f"backoff_max ({config.backoff_max:g})",
                )
            self.check_socket_references(name, values, sockets, config.use_sockets)
            watchers[name] = config
        return watchers

    def check_socket_references(
        self, name: str, values: dict[str, Any], sockets: dict[str, SocketConfig], use: bool
    ) -> None:
        for key in ("cmd", "args"):
            value = values.get(key)
            texts = value if isinstance(value, list) else [value]
            for text in texts:
                if not isinstance(text, str):
                    continue
                for match in _SOCKET_REFERENCE.finditer(text):
                    wanted = match.group(1) or match.group(2)
                    # Without regard to case, as the spawner (and Circus) looks it up.
                    if wanted.lower() not in {n.lower() for n in sockets}:
                        hint = suggest(wanted, sockets)
                        raise self.fail(
                            ("watchers", name, key),
                            f"{match.group(0)} names no socket in [sockets]"
                            + (f" (did you mean {hint!r}?)" if hint else ""),
                        )
                    if not use:
                        # The number would be substituted but the descriptor not passed.
                        raise self.fail(
                            ("watchers", name, key),
                            f"uses {match.group(0)} but use_sockets is not true",
                        )

    def named_tables(
        self, section: str, kind: str, table: dict[str, Any]
    ) -> Iterable[tuple[str, dict[str, Any]]]:
        seen: dict[str, str] = {}
        for name, values in table.items():
            try:
                check_name(name, kind)
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


WILDCARDS = ("", "0.0.0.0", "::", "*")


def _same_address(a: SocketConfig, b: SocketConfig) -> bool:
    """Two sockets the second of which could not be bound: one path, or one port on hosts
    that overlap. Port 0 is a different free port for each."""
    if a.name == b.name:
        return False
    if a.path or b.path:
        return a.path is not None and a.path == b.path
    if a.port == 0 or a.port != b.port or a.type != b.type:
        return False
    return a.host == b.host or a.host in WILDCARDS or b.host in WILDCARDS


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


def _unknown(key: str, choices: Iterable[str]) -> str:
    hint = suggest(key, choices)
    return f"unknown key {key!r}" + (f" (did you mean {hint!r}?)" if hint else "")


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def dotted(key_path: Iterable[str]) -> str:
    """A key path as TOML would spell it: watchers.web.numprocesses, watchers."a.b"."""
    return ".".join(
        part if _BARE_KEY.fullmatch(part) else json.dumps(part, ensure_ascii=False)
        for part in key_path
    )


# ---------------------------------------------------------------------------------------------
# Line numbers of keys


class _Stop(Exception):
    pass


# A number, boolean or date: runs to the next separator (dates may contain a space).
_SCALAR = re.compile(r"[^,\]}\n#]+")


class _KeyLines:
    """Line numbers of table headers and keys in TOML text.

    tomlkit keeps no positions, so this re-reads the text with a small scanner that knows
    only what it needs: headers, dotted and quoted keys, inline tables, and the strings and
    arrays (possibly multi-line) it has to step over. A lookup falls back to the nearest
    enclosing key, so an error inside an inline table points at its line.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.found: dict[tuple[str, ...], int] = {}
        self.defined: set[tuple[str, ...]] = set()
        self.duplicates: list[tuple[tuple[str, ...], int]] = []
        self.newlines = [i for i, c in enumerate(text) if c == "\n"]
        # Best effort: whatever was indexed before any confusion still helps.
        with contextlib.suppress(_Stop, IndexError, ValueError):
            self.document()

    def line(self, key_path: tuple[str, ...]) -> int | None:
        while key_path:
            if key_path in self.found:
                return self.found[key_path]
            key_path = key_path[:-1]
        return None

    def line_at(self, pos: int) -> int:
        return bisect.bisect_left(self.newlines, pos) + 1

    def record(self, key_path: tuple[str, ...], line: int, definition: bool) -> None:
        for i in range(1, len(key_path) + 1):
            self.found.setdefault(key_path[:i], line)
        if definition:
            if key_path in self.defined:
                self.duplicates.append((key_path, line))
            self.defined.add(key_path)

    def peek(self, n: int = 1) -> str:
        return self.text[self.pos : self.pos + n]

    def skip_blank(self, newlines: bool) -> None:
        text = self.text
        while self.pos < len(text):
            c = text[self.pos]
            if c in " \t" or (newlines and c in "\r\n"):
                self.pos += 1
            elif c == "#" and newlines:
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            else:
                return

    def skip_line(self) -> None:
        end = self.text.find("\n", self.pos)
        self.pos = len(self.text) if end < 0 else end + 1

    def document(self) -> None:
        table: tuple[str, ...] = ()
        while True:
            self.skip_blank(newlines=True)
            if self.pos >= len(self.text):
                return
            line = self.line_at(self.pos)
            if self.peek() == "[":
                array = self.peek(2) == "[["
                self.pos += 2 if array else 1
                table = self.key()
                # Arrays of tables repeat their header by design.
                self.record(table, line, definition=not array)
            else:
                key = table + self.key()
                self.record(key, line, definition=True)
                self.skip_blank(newlines=False)
                if self.peek() != "=":
                    raise _Stop
                self.pos += 1
                self.value(key)
            self.skip_line()

    def key(self) -> tuple[str, ...]:
        parts: list[str] = []
        while True:
            self.skip_blank(newlines=False)
            c = self.peek()
            if c == '"':
                start = self.pos
                self.basic_string()
                parts.append(tomllib.loads("k = " + self.text[start : self.pos])["k"])
            elif c == "'":
                end = self.text.index("'", self.pos + 1)
                parts.append(self.text[self.pos + 1 : end])
                self.pos = end + 1
            else:
                match = _BARE_KEY.match(self.text, self.pos)
                if not match:
                    raise _Stop
                parts.append(match.group())
                self.pos = match.end()
            self.skip_blank(newlines=False)
            if self.peek() != ".":
                return tuple(parts)
            self.pos += 1

    def basic_string(self) -> None:
        i = self.pos + 1
        while self.text[i] != '"':
            i += 2 if self.text[i] == "\\" else 1
        self.pos = i + 1

    def multiline_string(self, quote: str) -> None:
        i = self.pos + 3
        while not self.text.startswith(quote * 3, i):
            i += 2 if quote == '"' and self.text[i] == "\\" else 1
        i += 3
        # Up to two quotes of the content may sit right before the closing delimiter.
        extra = 0
        while extra < 2 and self.text.startswith(quote, i):
            i += 1
            extra += 1
        self.pos = i

    def value(self, key_path: tuple[str, ...] | None) -> None:
        self.skip_blank(newlines=False)
        c = self.peek()
        if self.peek(3) in ('"""', "'''"):
            self.multiline_string(c)
        elif c == '"':
            self.basic_string()
        elif c == "'":
            self.pos = self.text.index("'", self.pos + 1) + 1
        elif c == "[":
            self.pos += 1
            while True:
                self.skip_blank(newlines=True)
                if self.peek() == "]":
                    self.pos += 1
                    return
                if self.peek() == ",":
                    self.pos += 1
                    continue
                self.value(None)
        elif c == "{":
            self.pos += 1
            while True:
                self.skip_blank(newlines=False)
                if self.peek() == "}":
                    self.pos += 1
                    return
                if self.peek() == ",":
                    self.pos += 1
                    continue
                line = self.line_at(self.pos)
                key = self.key()
                if key_path is not None:
                    self.record(key_path + key, line, definition=False)
                self.skip_blank(newlines=False)
                if self.peek() != "=":
                    raise _Stop
                self.pos += 1
                self.value(None if key_path is None else key_path + key)
        else:
            match = _SCALAR.match(self.text, self.pos)
            if not match:
                raise _Stop
            self.pos = match.end()


# ---------------------------------------------------------------------------------------------
# Saving


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
    doc = _parse_toml(text, path)

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
