"""Turning a Circus .ini (read by convert.ini) into this daemon's configuration: the values
that carry over, checked by the same rules as the TOML file, and a warning for each loss."""

from __future__ import annotations

import os
import re
import shlex
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from daemon import checks
from daemon.checks import CheckError
from daemon.checks.identity import RESERVED_NAMES
from daemon.config import (
    SETTINGS_CHECKS,
    SOCKET_CHECKS,
    ConfigError,
    make_socket_config,
    parse_config_text,
)
from daemon.convert.circus_options import (
    CIRCUS_ENDPOINTS,
    CIRCUS_HARMLESS,
    CIRCUS_NOTES,
    SHARED_OPTIONS,
    SOCKET_NOTES,
    SWITCHES,
    UNKNOWN_WATCHER_OPTION,
    WATCHER_NOTES,
)
from daemon.convert.ini import CircusIni
from daemon.convert.plugins import convert_plugins
from daemon.convert.render import WatcherDraft, render
from daemon.convert.streams import convert_streams
from daemon.options import check_option, make_watcher_config
from daemon.substitute import PATTERN, from_circus_env_value, lower_socket_names, variables

# What a shell reads other than as plain words (its expansions, operators, globs, quotes).
_SHELL_SYNTAX = re.compile(r"[$`*?\[\]|&;<>(){}~!#'\"\\]")


class Converter:
    def __init__(self, path: Path) -> None:
        self.path = path
        # What runs differently after the conversion (`convert --check` fails on one), and
        # what has no equivalent but needs none.
        self.warnings: list[str] = []
        self.notes: list[str] = []
        self._uncaptured: dict[tuple[str, ...], list[str]] = {}  # see say_uncaptured
        self.ini = CircusIni(path, self.warn)
        self.umask: int | None = None

    def warn(self, message: str) -> None:
        """Something that runs differently, or not at all, after the conversion."""
        if message not in self.warnings:
            self.warnings.append(message)

    def note(self, message: str) -> None:
        """Something that has no equivalent and needs none."""
        if message not in self.notes:
            self.notes.append(message)

    def convert(self) -> tuple[str, list[str]]:
        settings = self.settings()
        sockets = self.sockets()
        watchers = self.watchers()
        self.say_uncaptured()
        self.apply_env(watchers)
        plugins = convert_plugins(self.ini, self.path.parent, self.warn, self.note)
        for section in self.ini.sections():
            if section in ("circus", "env") or section.startswith(
                ("watcher:", "socket:", "env:", "plugin:")
            ):
                continue
            else:
                self.warn(f"[{section}]: not a Circus section; ignored")
        for watcher in watchers:
            self.check_socket_references(watcher, sockets)
        text = render(self.path.name, self.ini.included, settings, watchers, sockets, plugins)
        try:
            parse_config_text(text, self.path.with_suffix(".toml"))
        except ConfigError as exc:
            self.warn(f"the converted file needs a fix by hand: {exc.key}: {exc.message}")
        return text, self.warnings

    # -- [circus] --------------------------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        values = self.ini.items("circus")
        for key, value in values.items():
            if key in CIRCUS_ENDPOINTS:
                try:
                    out[key] = checks.endpoint(value)
                except ValueError as exc:
                    self.warn(f"circus: {key} = {value!r} left out: {exc}")
            elif key in ("pidfile", "loglevel", "warmup_delay"):
                check = SETTINGS_CHECKS[key]
                try:
                    out[key] = check(value)
                except ValueError as exc:
                    self.warn(f"circus: {key} = {value!r} left out: {exc}")
                    continue
                if key == "pidfile" and not os.path.isabs(os.path.expanduser(out[key])):
                    self.warn(
                        f"circus: pidfile {out[key]!r} was relative to circusd's working "
                        "directory; here it is relative to the configuration file's"
                    )
            elif key == "umask":
                # circusd sets it on itself, so every process has it: here, each watcher's.
                try:
                    self.umask = checks.umask(value)
                except ValueError as exc:
                    self.warn(f"circus: umask = {value!r} left out: {exc}")
            elif key in ("include", "include_dir") or (
                key in SWITCHES and not checks.is_true(value)
            ):
                continue
            elif key in CIRCUS_NOTES:
                report = self.note if key in CIRCUS_HARMLESS else self.warn
                report(f"circus: {key} {CIRCUS_NOTES[key]}")
            else:
                self.warn(f"circus: {key} is not a Circus option; left out")
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
        for section in self.ini.sections():
            if not section.startswith("socket:"):
                continue
            # Circus lower-cases socket names, and so their $(circus.sockets.NAME) lookups.
            name = section.split(":", 1)[1].strip().lower()
            try:
                checks.name(name, "socket")
            except ValueError as exc:
                self.warn(f"socket {name!r} left out: {exc}")
                continue
            values: dict[str, Any] = {}
            raw = self.ini.items(section)
            for key, value in raw.items():
                if key not in SOCKET_CHECKS:
                    reason = SOCKET_NOTES.get(key, "is not a Circus socket option; left out")
                    self.warn(f"socket {name}: {key} {reason}")
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
            except CheckError as exc:
                self.warn(f"socket {name} left out: {exc.key}: {exc.message}")
                continue
            out[name] = values
        return out

    # -- [watcher:NAME] --------------------------------------------------------------------

    def watchers(self) -> list[WatcherDraft]:
        watchers: list[WatcherDraft] = []
        seen: set[str] = set()
        for section in self.ini.sections():
            if not section.startswith("watcher:"):
                continue
            original = section.split(":", 1)[1]
            name = self.watcher_name(original, seen)
            if name is None:
                continue
            seen.add(name.lower())
            watcher = WatcherDraft(name, original)
            streams: dict[str, dict[str, str]] = {}
            for key, value in self.ini.items(section).items():
                self.watcher_option(watcher, key, value, streams)
            pairs = convert_streams(watcher, streams, self.warn, self.note, self.uncaptured)
            for option, text in pairs:
                self.watcher_option(watcher, option, text, {}, shared=True)
            if watcher.hooks:
                self.watcher_hooks(watcher)
            if watcher.values.get("shell") and isinstance(watcher.values.get("cmd"), str):
                self.shell_quoting(watcher)
            # circusd's defaults where they differ from ours: the stop signal to the process
            # alone, and [circus] umask for every process.
            watcher.values.setdefault("stop_children", False)
            if watcher.values.get("on_demand") and watcher.values.get("respawn", True):
                self.on_demand_restarts(watcher)
            if self.umask is not None:
                watcher.values.setdefault("umask", self.umask)
            if "cmd" not in watcher.values:
                self.warn(f"watcher {original}: no cmd; left out")
                continue
            self.check_watcher(watcher)
            watchers.append(watcher)
        return watchers

    def watcher_name(self, original: str, seen: set[str]) -> str | None:
        name = original.strip()
        try:
            checks.name(name)
        except ValueError:
            name = re.sub(r"[.\s]+", "_", name)
            if name.lower() in RESERVED_NAMES:
                name += "_"
            try:
                checks.name(name)
            except ValueError as exc:
                self.warn(f"watcher {original!r} left out: {exc}")
                return None
            self.warn(
                f"watcher {original!r} renamed {name!r} (names cannot contain '.', which "
                "would make event topics watcher.NAME.EVENT ambiguous, nor spaces, and "
                "'circus' and 'sockets' name the daemon's own figures in the stats stream): "
                "circusctl and hooks use the new name"
            )
        if name.lower() in seen:
            self.warn(f"watcher {original!r} left out: same name as another watcher")
            return None
        return name

    def watcher_option(
        self,
        watcher: WatcherDraft,
        key: str,
        value: str,
        streams: dict[str, dict[str, str]],
        shared: bool = False,
    ) -> None:
        name = watcher.name
        if key in SHARED_OPTIONS or shared:
            try:
                checked = check_option(key, value)
            except CheckError as exc:
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
        elif key.startswith("hooks."):
            watcher.hooks[key.removeprefix("hooks.")] = value.strip()
        elif key in ("close_child_stdout", "close_child_stderr"):
            if checks.is_true(value):
                watcher.values[key.removeprefix("close_child_")] = "discard"
        elif key in WATCHER_NOTES:
            self.warn(f"watcher {name}: {key} {WATCHER_NOTES[key]}")
        else:
            self.warn(f"watcher {name}: {key} {UNKNOWN_WATCHER_OPTION}")

    def uncaptured(self, name: str, streams: list[str]) -> None:
        self._uncaptured.setdefault(tuple(streams), []).append(name)

    def say_uncaptured(self) -> None:
        """One note for all the watchers whose output circusd left on its own stdout."""
        for streams, names in self._uncaptured.items():
            options = "/".join(f"{s}_stream" for s in streams)
            self.note(
                f"watcher{'s' if len(names) > 1 else ''} {', '.join(names)}: without "
                f"{options}, circusd left the {' and '.join(streams)} of the processes on its "
                "own; here captured (`tail`, the console) and written to "
                f'state_dir/logs/NAME.log or the stdout_file set ({streams[0]} = "inherit" '
                "keeps circusd's way)"
            )

    def shell_quoting(self, watcher: WatcherDraft) -> None:
        """circusd splits a shell watcher's cmd into words and quotes each before the shell
        sees it, so `$HOME`, `|` or `*` reached the program as written. Written that way."""
        cmd: str = watcher.values["cmd"]
        if not _SHELL_SYNTAX.search(PATTERN.sub("", cmd)):
            return  # nothing the shell would read differently
        try:
            words = shlex.split(cmd)
        except ValueError:
            return  # circusd could not have run it either; check_watcher says so
        quoted = " ".join(shlex.quote(w) for w in words)
        if quoted == cmd:
            return
        watcher.values["cmd"] = quoted
        self.note(
            f"watcher {watcher.name}: shell: circusd quoted every word of cmd, so the shell "
            f"did not expand or interpret any of it; written quoted as circusd ran it: {quoted}"
        )

    def on_demand_restarts(self, watcher: WatcherDraft) -> None:
        """circusd respawns a process of an on_demand watcher only at the next connection:
        restart = "never" does that here (a stop, completion or failure waits for one)."""
        watcher.values.setdefault("restart", "never")
        message = (
            f'watcher {watcher.name}: on_demand: restart = "never" written, since circusd '
            "starts a process that died again only at the next connection"
        )
        if watcher.values.get("numprocesses", 1) > 1:
            self.warn(
                message + "; here the places of dead processes stay empty until all have died"
            )
        else:
            self.note(message)

    def watcher_hooks(self, watcher: WatcherDraft) -> None:
        """Circus's hooks carry over as they are ("module.function" and its ", true"); one
        this daemon cannot take is left out with the reason."""
        kept: dict[str, str] = {}
        for hook, value in watcher.hooks.items():
            try:
                check_option("hooks", {hook: value})
            except CheckError as exc:
                self.warn(f"watcher {watcher.name}: {exc.key} = {value!r} left out: {exc.message}")
                continue
            kept[hook] = value
        if kept:
            watcher.values["hooks"] = check_option("hooks", kept)

    def check_watcher(self, watcher: WatcherDraft) -> None:
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
            except CheckError as exc:
                if exc.key not in values or exc.key == "cmd":
                    self.warn(f"watcher {watcher.name}: {exc.key}: {exc.message}")
                    return
                self.warn(f"watcher {watcher.name}: {exc.key} left out: {exc.message}")
                del values[exc.key]
                del watcher.values[exc.key]
                watcher.spelled.pop(exc.key, None)

    def check_socket_references(self, watcher: WatcherDraft, sockets: dict[str, Any]) -> None:
        for key in ("cmd", "args"):
            text = watcher.spelled.get(key, watcher.values.get(key))
            if not isinstance(text, str):
                continue
            fixed = lower_socket_names(text)
            for variable in variables(fixed):
                if variable.socket is not None and variable.socket not in sockets:
                    self.warn(f"watcher {watcher.name}: {variable.text} names no [socket:...]")
            if fixed != text:
                if key in watcher.spelled:
                    watcher.spelled[key] = fixed
                watcher.values[key] = check_option(key, fixed)

    # -- [env] and [env:NAMES] -------------------------------------------------------------

    def apply_env(self, watchers: list[WatcherDraft]) -> None:
        # `$PATH:/opt/extra` as circusd expands it, and any other `$` kept as it was.
        if self.ini.has("env"):
            # circusd replaces $(circus.env.…) in [env] as it reads the file; so does this
            # daemon (from its environment too).
            common = {k: from_circus_env_value(v) for k, v in self.ini.items("env").items()}
            for watcher in watchers:
                watcher.env.update(common)
        for section in self.ini.sections():
            if not section.startswith("env:"):
                continue
            values = self.ini.items(section)
            for key, value in values.items():
                if any(True for _ in variables(value)):
                    self.warn(
                        f"[{section}] {key}: circusd passes $(circus.…) in an [env:...] value "
                        "as written; this daemon replaces it"
                    )
                values[key] = from_circus_env_value(value)
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
                except CheckError as exc:
                    self.warn(f"watcher {watcher.name}: env left out: {exc.message}")


def _socket_value(key: str, value: str) -> Any:
    """The typed value of a Circus socket option, as Circus reads it (the bounds are the
    config's, checked after)."""
    if key in ("port", "backlog"):
        return checks.integer()(value)
    if key in ("so_reuseport", "replace", "blocking"):
        return checks.boolean(value)
    # umask stays a string: Circus's documentation means octal ("umask = 000" gives a 777
    # socket), which is how the config check reads a string of digits.
    return value.strip()
