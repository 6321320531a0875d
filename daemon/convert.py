"""`circus-tui convert`: turn a Circus 0.19 .ini file into an equivalent TOML configuration,
with a warning for every option that cannot be carried over."""

from __future__ import annotations

import configparser
import glob
import os
import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import Integer, Table, Trivia

from daemon.config import (
    SOCKET_CHECKS,
    ConfigError,
    check_endpoint,
    make_socket_config,
    parse_config_text,
    toml_value,
)
from daemon.options import (
    WATCHER_OPTIONS,
    OptionError,
    check_name,
    check_option,
    make_watcher_config,
)

# Circus watcher options that mean the same here; their values go through check_option.
SHARED_OPTIONS = (
    "cmd",
    "args",
    "numprocesses",
    "working_dir",
    "copy_env",
    "shell",
    "uid",
    "gid",
    "stop_signal",
    "graceful_timeout",
    "respawn",
    "autostart",
    "priority",
    "singleton",
    "warmup_delay",
    "max_age",
    "max_age_variance",
    "max_retry",
    "use_sockets",
)

FLAPPING_HINT = "flapping is built in: see backoff_min, backoff_max, stable_after and max_retry"

# Watcher options with a known reason why they do not carry over.
WATCHER_NOTES = {
    "check_flapping": FLAPPING_HINT,
    "flapping_attempts": FLAPPING_HINT,
    "flapping_window": FLAPPING_HINT,
    "flapping_retry_in": FLAPPING_HINT,
    "flapping_max_retry": FLAPPING_HINT,
    "stop_children": "not needed: a stop always reaches the whole process tree",
    "send_hup": "is not supported: reload restarts the processes",
    "copy_path": "is not supported: set PYTHONPATH in env instead",
    "executable": "is not supported: put the program in cmd",
    "on_demand": "is not supported: processes start with the daemon or on `start`",
    "env": "is not read by Circus in a watcher section: use an [env:NAME] section",
    "close_child_stdin": "is not supported: stdin is always /dev/null",
}

CIRCUS_NOTES = {
    "check_delay": "has no equivalent (exits are noticed at once)",
    "endpoint_owner": "has no equivalent (ipc sockets are private to the daemon's user)",
    "multicast_endpoint": "has no equivalent (no discovery: no UDP port is ever opened)",
    "statsd": "is not needed (stats are always published on stats_endpoint)",
    "httpd": "is not supported (no web console: use the circus-tui console)",
    "httpd_host": "is not supported (no web console: use the circus-tui console)",
    "httpd_port": "is not supported (no web console: use the circus-tui console)",
    "debug": "has no equivalent",
    "debug_gc": "has no equivalent",
    "pidfile": "has no equivalent (the daemon keeps daemon.json in state_dir)",
    "loglevel": "has no equivalent",
    "logoutput": "has no equivalent (the daemon logs to stderr)",
    "loggerconfig": "has no equivalent",
    "fqdn_prefix": "has no equivalent",
    "umask": "has no equivalent",
    "warmup_delay": "has no equivalent (per-watcher warmup_delay is kept)",
    "papa_endpoint": "has no equivalent",
}

# [circus] switches that only matter when turned on.
SWITCHES = ("statsd", "httpd", "debug", "debug_gc")

CIRCUS_ENDPOINTS = {
    "endpoint": "tcp://127.0.0.1:5555",
    "pubsub_endpoint": "tcp://127.0.0.1:5556",
    "stats_endpoint": "tcp://127.0.0.1:5557",
}

SOCKET_KEYS = (
    "host",
    "port",
    "path",
    "family",
    "type",
    "backlog",
    "so_reuseport",
    "umask",
    "replace",
    "blocking",
)

FILE_STREAMS = ("FileStream", "WatchedFileStream", "TimedRotatingFileStream")
_FILE_OPTIONS = {"class", "filename", "max_bytes", "backup_count"}
# The options each stream class takes that carry over; the others get a warning.
STREAM_OPTIONS: dict[str, set[str]] = {
    "StdoutStream": {"class"},
    "FancyStdoutStream": {"class", "color"},
    "FileStream": _FILE_OPTIONS,
    "WatchedFileStream": {"class", "filename"},
    "TimedRotatingFileStream": {"class", "filename", "backup_count"},
}

# More environment variables than this read better as their own [watchers.NAME.env] table.
INLINE_ENV_MAX = 3

_SOCKET_REFERENCE = re.compile(r"(\$\(|\(\()(circus\.sockets\.)([\w.-]+)(\)\)|\))", re.IGNORECASE)


@dataclass
class _Watcher:
    name: str
    # The name in the .ini, which [env:PATTERN] sections match against.
    original: str
    values: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    # TOML spellings that read better than the checked values (args as written, "QUIT").
    spelled: dict[str, Any] = field(default_factory=dict)


def convert_ini(path: str | Path) -> tuple[str, list[str]]:
    """Return the TOML text for a Circus .ini file and the warnings about what was lost.

    Raises ConfigError when the file cannot be read or is not an ini file.
    """
    path = Path(path)
    return _Converter(path, _read_ini(path)).convert()


def _new_parser() -> configparser.RawConfigParser:
    # Circus's reader keeps option names' case, allows ';' comments after whitespace and
    # does no %-interpolation.
    parser = configparser.RawConfigParser(
        strict=False,
        inline_comment_prefixes=(";",),
        empty_lines_in_values=False,
        interpolation=None,
    )
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    return parser


def _read_ini(path: Path) -> configparser.RawConfigParser:
    parser = _new_parser()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, None, "", f"cannot read: {exc}") from None
    try:
        parser.read_string(text, source=str(path))
    except configparser.MissingSectionHeaderError as exc:
        raise ConfigError(path, exc.lineno, "", "expected a [section] header first") from None
    except configparser.ParsingError as exc:
        line = exc.errors[0][0] if exc.errors else None
        raise ConfigError(path, line, "", "cannot parse this line") from None
    except configparser.Error as exc:
        raise ConfigError(path, None, "", str(exc)) from None
    return parser


def _ini_value(value: str | None) -> str:
    if value is None:
        return ""
    # Circus writes an empty value as "".
    return "" if value == '""' else value


class _Converter:
    def __init__(self, path: Path, parser: configparser.RawConfigParser) -> None:
        self.path = path
        self.parser = parser
        self.warnings: list[str] = []
        self.included: list[str] = []

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def items(self, section: str) -> dict[str, str]:
        return {k: _ini_value(v) for k, v in self.parser.items(section)}

    def convert(self) -> tuple[str, list[str]]:
        self.read_includes()
        settings = self.settings()
        sockets = self.sockets()
        watchers = self.watchers()
        self.apply_env(watchers)
        for section in self.parser.sections():
            if section.startswith("plugin:"):
                use = self.parser.get(section, "use", fallback="")
                if "flapping" in use.lower():
                    self.warn(f"{section}: {FLAPPING_HINT}")
                else:
                    self.warn(f"{section}: plugins are not supported")
            elif section in ("circus", "env") or section.startswith(
                ("watcher:", "socket:", "env:")
            ):
                continue
            else:
                self.warn(f"[{section}]: not a Circus section; ignored")
        for watcher in watchers:
            self.check_socket_references(watcher, sockets)
        text = self.render(settings, watchers, sockets)
        try:
            parse_config_text(text)
        except ConfigError as exc:
            self.warn(f"the converted file needs a fix by hand: {exc.key}: {exc.message}")
        return text, self.warnings

    def read_includes(self) -> None:
        if not self.parser.has_section("circus"):
            return
        base = self.path.parent
        patterns = self.parser.get("circus", "include", fallback="").split()
        patterns += [
            str(Path(d) / "*.ini")
            for d in self.parser.get("circus", "include_dir", fallback="").split()
        ]
        for pattern in patterns:
            full = pattern if Path(pattern).is_absolute() else str(base / pattern)
            found = sorted(glob.glob(full))
            if not found:
                self.warn(f"circus: include {pattern!r} matches no file")
            for name in found:
                try:
                    self.parser.read(name, encoding="utf-8")
                except configparser.Error as exc:
                    self.warn(f"circus: include {name} could not be read: {exc}")
                    continue
                self.included.append(os.path.relpath(name, base))

    # -- [circus] --------------------------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        values = self.items("circus") if self.parser.has_section("circus") else {}
        for key, value in values.items():
            if key in CIRCUS_ENDPOINTS:
                try:
                    out[key] = check_endpoint(value)
                except ValueError as exc:
                    self.warn(f"circus: {key} = {value!r} left out: {exc}")
            elif key in ("include", "include_dir") or (key in SWITCHES and not _is_true(value)):
                continue
            elif key in CIRCUS_NOTES:
                self.warn(f"circus: {key} {CIRCUS_NOTES[key]}")
            else:
                self.warn(f"circus: {key} is not supported")
        missing = [k for k in CIRCUS_ENDPOINTS if k not in values]
        if missing:
            spelled = ", ".join(f"{k} = {CIRCUS_ENDPOINTS[k]!r}" for k in missing)
            self.warn(
                f"circus: Circus defaulted to {spelled}; circus-tui defaults to private ipc "
                "sockets instead (set them in [circus] to keep circusctl's defaults working)"
            )
        return out

    # -- [socket:NAME] ---------------------------------------------------------------------

    def sockets(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for section in self.parser.sections():
            if not section.startswith("socket:"):
                continue
            # Circus lower-cases socket names, and so their $(circus.sockets.NAME) lookups.
            name = section.split(":", 1)[1].strip().lower()
            try:
                check_name(name, "socket")
            except ValueError as exc:
                self.warn(f"socket {name!r} left out: {exc}")
                continue
            values: dict[str, Any] = {}
            raw = self.items(section)
            for key, value in raw.items():
                if key not in SOCKET_KEYS:  # interface, proto
                    self.warn(f"socket {name}: {key} is not supported")
                    continue
                try:
                    values[key] = SOCKET_CHECKS[key](_socket_value(key, value))
                except ValueError as exc:
                    self.warn(f"socket {name}: {key} = {value!r} left out: {exc}")
            if "path" in values:
                for key in ("host", "port"):
                    if values.pop(key, None) is not None:
                        self.warn(f"socket {name}: {key} left out (path makes it a unix socket)")
                if values.get("family") in ("AF_INET", "AF_INET6"):
                    self.warn(f"socket {name}: family left out (path makes it AF_UNIX)")
                    del values["family"]
            elif values.get("family") != "AF_UNIX" and "port" not in values:
                # Circus's default port; ours (0, any free port) would surprise.
                values["port"] = 8080
            try:
                make_socket_config(name, values)
            except OptionError as exc:
                self.warn(f"socket {name} left out: {exc.key}: {exc.message}")
                continue
            out[name] = values
        return out

    # -- [watcher:NAME] --------------------------------------------------------------------

    def watchers(self) -> list[_Watcher]:
        watchers: list[_Watcher] = []
        seen: set[str] = set()
        for section in self.parser.sections():
            if not section.startswith("watcher:"):
                continue
            original = section.split(":", 1)[1]
            name = self.watcher_name(original, seen)
            if name is None:
                continue
            seen.add(name.lower())
            watcher = _Watcher(name, original)
            streams: dict[str, dict[str, str]] = {}
            for key, value in self.items(section).items():
                self.watcher_option(watcher, key, value, streams)
            self.streams(watcher, streams)
            if "cmd" not in watcher.values:
                self.warn(f"watcher {original}: no cmd; left out")
                continue
            self.check_watcher(watcher)
            watchers.append(watcher)
        return watchers

    def watcher_name(self, original: str, seen: set[str]) -> str | None:
        name = original.strip()
        try:
            check_name(name)
        except ValueError:
            name = re.sub(r"[.\s]+", "_", name)
            if name.lower() == "circus":
                name = "circus_"
            try:
                check_name(name)
            except ValueError as exc:
                self.warn(f"watcher {original!r} left out: {exc}")
                return None
            self.warn(
                f"watcher {original!r} renamed {name!r} "
                "(names cannot contain '.' or spaces, and 'circus' is reserved)"
            )
        if name.lower() in seen:
            self.warn(f"watcher {original!r} left out: same name as another watcher")
            return None
        return name

    def watcher_option(
        self,
        watcher: _Watcher,
        key: str,
        value: str,
        streams: dict[str, dict[str, str]],
        shared: bool = False,
    ) -> None:
        name = watcher.name
        if key in SHARED_OPTIONS or shared:
            try:
                checked = check_option(key, value)
            except OptionError as exc:
                if key in ("uid", "gid") and exc.message.startswith("no such"):
                    # Left out, the program would run as the daemon's user (often root); the
                    # file may well be converted on another machine than it runs on.
                    self.warn(
                        f"watcher {name}: {key} = {value!r} kept, but {exc.message}: "
                        "the daemon refuses the file until it exists"
                    )
                    checked = value.strip()
                else:
                    self.warn(f"watcher {name}: {key} = {value!r} left out: {exc.message}")
                    return
            watcher.values[key] = checked
            if key == "args":
                watcher.spelled[key] = value
            elif key == "stop_signal":
                text = value.strip()
                watcher.spelled[key] = int(text) if text.isdigit() else text.upper()
            elif key in ("uid", "gid") and isinstance(checked, str):
                watcher.spelled[key] = checked
        elif key.startswith(("stdout_stream.", "stderr_stream.")):
            stream, option = key.split(".", 1)
            streams.setdefault(stream, {})[option] = value
        elif key in ("close_child_stdout", "close_child_stderr"):
            if _is_true(value):
                watcher.values[key.removeprefix("close_child_")] = "discard"
        elif key == "close_child_stdin" and _is_true(value):
            return  # what every process gets here anyway
        elif key in WATCHER_NOTES:
            self.warn(f"watcher {name}: {key} {WATCHER_NOTES[key]}")
        else:
            self.warn(f"watcher {name}: {key} is not supported")

    def streams(self, watcher: _Watcher, streams: dict[str, dict[str, str]]) -> None:
        """Circus's stdout_stream.* / stderr_stream.* options: the stream classes that write
        to the daemon's stdout become "inherit", the file streams become log file options."""
        sizes: dict[str, tuple[str, str]] = {}
        for stream in ("stdout_stream", "stderr_stream"):
            options = streams.get(stream)
            if options is None:
                continue
            prefix = f"watcher {watcher.name}: {stream}"
            kind = options.get("class", "").strip().rsplit(".", 1)[-1]
            target = stream.removesuffix("_stream")
            extra = sorted(set(options) - STREAM_OPTIONS.get(kind, {"class"}))
            for option in extra:
                self.warn(f"{prefix}.{option} is not supported")
            if kind in ("StdoutStream", "FancyStdoutStream"):
                watcher.values[target] = "inherit"
                if kind == "FancyStdoutStream":
                    self.warn(f"{prefix}: FancyStdoutStream's colours and prefixes are not kept")
            elif kind in FILE_STREAMS:
                filename = options.get("filename", "").strip()
                if not filename:
                    self.warn(f"{prefix}: {kind} without a filename; output goes to state_dir/logs")
                elif target == "stdout" or filename != watcher.values.get("stdout_file"):
                    watcher.values[f"{target}_file"] = filename
                if kind == "TimedRotatingFileStream":
                    self.warn(
                        f"{prefix}: TimedRotatingFileStream rotates by time; here files rotate "
                        "by size (max_bytes, 10 MiB by default)"
                    )
                    size = (options.get("max_bytes", ""), options.get("backup_count", ""))
                else:
                    # Circus's defaults: never rotate, and no backups once it does.
                    max_bytes = options.get("max_bytes", "0")
                    unset = "" if max_bytes.strip() == "0" else "0"
                    size = (max_bytes, options.get("backup_count", unset))
                sizes[stream] = size
            else:
                self.warn(f"{prefix}: class {kind or '(none)'} is not supported")
        if len(set(sizes.values())) > 1:
            self.warn(
                f"watcher {watcher.name}: stdout and stderr files rotate alike here; "
                "stdout_stream's max_bytes and backup_count are kept"
            )
        if sizes:
            max_bytes, backup_count = sizes.get("stdout_stream") or sizes["stderr_stream"]
            for key, value in (("max_bytes", max_bytes), ("backup_count", backup_count)):
                if value:
                    self.watcher_option(watcher, key, value, {}, shared=True)

    def check_watcher(self, watcher: _Watcher) -> None:
        """Drop what the two options check together refuses (a singleton with 3 processes),
        as Circus would have refused to start it."""
        unknown = {  # users and groups of another machine: kept (see watcher_option)
            key: watcher.values[key]
            for key in ("uid", "gid")
            if isinstance(watcher.values.get(key), str) and not str(watcher.values[key]).isdigit()
        }
        values = {k: v for k, v in watcher.values.items() if k not in unknown}
        for _ in range(len(values)):
            try:
                make_watcher_config(watcher.name, values)
                return
            except OptionError as exc:
                if exc.key not in values or exc.key == "cmd":
                    self.warn(f"watcher {watcher.name}: {exc.key}: {exc.message}")
                    return
                self.warn(f"watcher {watcher.name}: {exc.key} left out: {exc.message}")
                del values[exc.key]
                del watcher.values[exc.key]
                watcher.spelled.pop(exc.key, None)

    def check_socket_references(self, watcher: _Watcher, sockets: dict[str, Any]) -> None:
        for key in ("cmd", "args"):
            text = watcher.spelled.get(key, watcher.values.get(key))
            if not isinstance(text, str):
                continue

            def lower(match: re.Match[str]) -> str:
                return match.group(1) + "circus.sockets." + match.group(3).lower() + match.group(4)

            fixed = _SOCKET_REFERENCE.sub(lower, text)
            for match in _SOCKET_REFERENCE.finditer(fixed):
                if match.group(3) not in sockets:
                    self.warn(f"watcher {watcher.name}: {match.group(0)} names no [socket:...]")
            if fixed != text:
                if key in watcher.spelled:
                    watcher.spelled[key] = fixed
                watcher.values[key] = check_option(key, fixed)

    # -- [env] and [env:NAMES] -------------------------------------------------------------

    def apply_env(self, watchers: list[_Watcher]) -> None:
        if self.parser.has_section("env"):
            common = self.items("env")
            for watcher in watchers:
                watcher.env.update(common)
        for section in self.parser.sections():
            if not section.startswith("env:"):
                continue
            values = self.items(section)
            for pattern in (p.strip() for p in section.split(":", 1)[1].split(",")):
                matched = [w for w in watchers if fnmatchcase(w.original, pattern)]
                if not matched:
                    self.warn(f"[{section}]: {pattern!r} matches no watcher")
                for watcher in matched:
                    watcher.env.update(values)
        for watcher in watchers:
            if watcher.env:
                try:
                    watcher.values["env"] = check_option("env", watcher.env)
                except OptionError as exc:
                    self.warn(f"watcher {watcher.name}: env left out: {exc.message}")

    # -- output ----------------------------------------------------------------------------

    def render(
        self,
        settings: dict[str, Any],
        watchers: list[_Watcher],
        sockets: dict[str, dict[str, Any]],
    ) -> str:
        doc = tomlkit.document()
        doc.add(tomlkit.comment(f"Converted from {self.path.name} by `circus-tui convert`."))
        for name in self.included:
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
                tables[watcher.name] = self.watcher_table(watcher)
            doc["watchers"] = tables
        if sockets:
            socket_tables = tomlkit.table(is_super_table=True)
            for name, values in sockets.items():
                table = tomlkit.table()
                for key in SOCKET_KEYS:
                    if key in values:
                        table[key] = _socket_toml(key, values[key])
                socket_tables[name] = table
            doc["sockets"] = socket_tables
        return doc.as_string()

    def watcher_table(self, watcher: _Watcher) -> Table:
        table = tomlkit.table()
        for option in WATCHER_OPTIONS:
            if option.name not in watcher.values or option.name == "env":
                continue
            if option.name in watcher.spelled:
                table[option.name] = watcher.spelled[option.name]
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


def _is_true(value: str) -> bool:
    # Circus's own spellings of true; anything else counts as false, as a wrong
    # spelling would have stopped circusd instead.
    return value.strip().lower() in ("yes", "true", "on", "1")


def _socket_value(key: str, value: str) -> Any:
    """The typed value of a Circus socket option, as Circus reads it."""
    if key in ("port", "backlog"):
        text = value.strip()
        if not (text.isascii() and text.isdigit()):
            raise ValueError("expected an integer")
        return int(text)
    if key in ("so_reuseport", "replace", "blocking"):
        text = value.strip().lower()
        if text not in ("yes", "true", "on", "1", "no", "false", "off", "0"):
            raise ValueError("expected true or false")
        return _is_true(text)
    if key in ("family", "type"):
        return value.strip().upper()
    # umask stays a string: Circus's documentation means octal ("umask = 000" gives a 777
    # socket), which is how the config check reads a string of digits.
    return value.strip()


def _socket_toml(key: str, value: Any) -> Any:
    if key == "umask":
        # Spelled in octal, as every umask is read.
        return Integer(value, Trivia(), f"0o{value:03o}")
    return value
