"""Watcher options: names, types, defaults and checks, shared by the config file and the
`add`, `set`, `get` and `options` commands so both paths accept exactly the same values."""

from __future__ import annotations

import grp
import os
import pwd
import shlex
import signal
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any


class OptionError(ValueError):
    """A bad option value; `key` names the option."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def parse_signal(value: Any) -> int:
    """Accept 15, "15", "TERM", "SIGTERM" or "sigterm"."""
    if isinstance(value, bool):
        raise ValueError("expected a signal name or number")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = value.strip().upper()
        if text.isdigit():
            number = int(text)
        else:
            if not text.startswith("SIG"):
                text = "SIG" + text
            try:
                number = int(signal.Signals[text])
            except KeyError:
                raise ValueError(f"unknown signal {value!r}") from None
    else:
        raise ValueError("expected a signal name or number")
    try:
        signal.Signals(number)
    except ValueError:
        raise ValueError(f"unknown signal number {number}") from None
    return number


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "on"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0", "no", "off"):
        return False
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ValueError("expected true or false")


def _int(low: int | None = None, high: int | None = None) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError("expected an integer")
        if isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                raise ValueError("expected an integer") from None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int):
            raise ValueError("expected an integer")
        if low is not None and value < low:
            raise ValueError(f"must be at least {low}")
        if high is not None and value > high:
            raise ValueError(f"must be at most {high}")
        return value

    return check


def _float(low: float | None = None, high: float | None = None) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        if isinstance(value, bool):
            raise ValueError("expected a number")
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise ValueError("expected a number") from None
        if not isinstance(value, int | float) or value != value:  # NaN
            raise ValueError("expected a number")
        try:
            value = float(value)
        except OverflowError:
            # An int too large for a float: out of every range below anyway.
            raise ValueError("number too large") from None
        if low is not None and value < low:
            raise ValueError(f"must be at least {low:g}")
        if high is not None and value > high:
            raise ValueError(f"must be at most {high:g}")
        return value

    return check


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    return value


def _opt_str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return _str(value)


def _opt_path(value: Any) -> str | None:
    # Refused here, not when the file is opened: a `set` has replied by then, and opening it
    # raises in the middle of applying the change.
    text = _opt_str(value)
    if text is None:
        return None
    if "\0" in text:
        raise ValueError("must not contain a NUL character")
    try:
        os.fsencode(text)
    except UnicodeError:
        raise ValueError("cannot be encoded as a file name") from None
    return text


def _cmd(value: Any) -> str:
    text = _str(value).strip()
    if not text:
        raise ValueError("must not be empty")
    try:
        shlex.split(text)
    except ValueError as exc:
        raise ValueError(f"cannot be split like a command line: {exc}") from None
    return text


def _args(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as exc:
            raise ValueError(f"cannot be split like a command line: {exc}") from None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ValueError("expected a string or a list of strings")


def _env(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValueError("expected a table of NAME = value")
    env: dict[str, str] = {}
    for k, v in value.items():
        if not isinstance(k, str) or not k or "=" in k or "\0" in k:
            raise ValueError(f"bad variable name {k!r}")
        if isinstance(v, bool):
            v = "true" if v else "false"
        if isinstance(v, int | float):
            v = str(v)
        if not isinstance(v, str) or "\0" in v:
            raise ValueError(f"{k}: expected a string")
        env[str(k)] = v
    return env


# 4294967295 is (uid_t)-1, which setuid() takes as "leave as it is": the program would run as
# the daemon's own user, often root.
MAX_ID = 2**32 - 2


def _identity(kind: str, lookup: Callable[[str], Any]) -> Callable[[Any], str | int | None]:
    """A user or group, by name (which must exist here) or by number (which need not: ids
    without a name are common in containers)."""

    def check(value: Any) -> str | int | None:
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError("expected a name or a number")
        if isinstance(value, str) and value.isascii() and value.isdigit():
            value = int(value)
        if isinstance(value, int):
            if not 0 <= value <= MAX_ID:
                raise ValueError(f"a {kind} id is 0 to {MAX_ID}")
            return value
        try:
            lookup(value)
        except (KeyError, ValueError):
            raise ValueError(f"no such {kind} {value!r} on this machine") from None
        return value

    return check


_user = _identity("user", pwd.getpwnam)
_group = _identity("group", grp.getgrnam)


def _stream_mode(value: Any) -> str:
    text = _str(value).strip().lower()
    if text not in ("pipe", "inherit", "discard"):
        raise ValueError("expected one of pipe, inherit, discard")
    return text


@dataclass(frozen=True)
class Option:
    name: str
    check: Callable[[Any], Any]
    default: Any
    doc: str
    # False: changing it takes effect without restarting the processes.
    restart: bool = True


# The order here is the order `options` and `convert` present them.
WATCHER_OPTIONS: tuple[Option, ...] = (
    Option("cmd", _cmd, None, "command line to run, split like a shell would"),
    Option("args", _args, [], "extra arguments appended to cmd"),
    Option("numprocesses", _int(0, 100_000), 1, "how many processes to run", restart=False),
    Option("working_dir", _opt_path, None, "directory the processes start in"),
    Option("env", _env, {}, "environment variables added for the processes"),
    Option("copy_env", _bool, False, "start from the daemon's whole environment"),
    Option("shell", _bool, False, "run cmd through /bin/sh -c"),
    Option("uid", _user, None, "user to run as (daemon must be root)"),
    Option("gid", _group, None, "group to run as (daemon must be root)"),
    Option("stop_signal", parse_signal, int(signal.SIGTERM), "signal sent to stop", False),
    Option("graceful_timeout", _float(0, 86400), 30.0, "seconds before SIGKILL", False),
    Option("respawn", _bool, True, "replace processes that exit", restart=False),
    Option("autostart", _bool, True, "start with the daemon", restart=False),
    Option("priority", _int(), 0, "higher starts first, stops last", restart=False),
    Option("singleton", _bool, False, "never more than one process", restart=False),
    Option("warmup_delay", _float(0, 3600), 0.0, "seconds between spawns", restart=False),
    Option("max_age", _int(0), 0, "restart a process after this many seconds", False),
    Option("max_age_variance", _int(0), 30, "random extra seconds added to max_age", False),
    Option("max_retry", _int(-1), 5, "quick deaths in a row before failed; -1 never", False),
    Option("backoff_min", _float(0, 3600), 0.5, "first delay after a quick death", False),
    Option("backoff_max", _float(0, 86400), 60.0, "longest delay between retries", False),
    Option(
        "stable_after", _float(0, 86400), 10.0, "uptime after which a death is not quick", False
    ),
    Option("stdout", _stream_mode, "pipe", "pipe (captured), inherit or discard"),
    Option("stderr", _stream_mode, "pipe", "pipe (captured), inherit or discard"),
    Option("use_sockets", _bool, False, "inherit the daemon's sockets"),
    Option("stdout_file", _opt_path, None, "log file (default: <state_dir>/logs/<name>.log)"),
    Option("stderr_file", _opt_path, None, "separate file for stderr (default: with stdout)"),
    Option("max_bytes", _int(0), 10 * 1024 * 1024, "rotate the log file at this size; 0 never"),
    Option("backup_count", _int(0, 1000), 5, "rotated files kept"),
    Option("output_buffer", _int(0, 10_000_000), 10_000, "lines kept in memory for tail"),
    Option(
        "output_buffer_bytes",
        _int(0, 1 << 36),
        16 * 1024 * 1024,
        "bytes of output kept in memory for tail (each line counts 160 more)",
        restart=False,
    ),
    Option("max_line_length", _int(80, 64 * 1024 * 1024), 65536, "longer lines are split"),
)

OPTIONS_BY_NAME: dict[str, Option] = {o.name: o for o in WATCHER_OPTIONS}


@dataclass(frozen=True)
class WatcherConfig:
    name: str
    cmd: str
    args: list[str] = field(default_factory=list)
    numprocesses: int = 1
    working_dir: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    copy_env: bool = False
    shell: bool = False
    uid: str | int | None = None
    gid: str | int | None = None
    stop_signal: int = int(signal.SIGTERM)
    graceful_timeout: float = 30.0
    respawn: bool = True
    autostart: bool = True
    priority: int = 0
    singleton: bool = False
    warmup_delay: float = 0.0
    max_age: int = 0
    max_age_variance: int = 30
    max_retry: int = 5
    backoff_min: float = 0.5
    backoff_max: float = 60.0
    stable_after: float = 10.0
    stdout: str = "pipe"
    stderr: str = "pipe"
    use_sockets: bool = False
    stdout_file: str | None = None
    stderr_file: str | None = None
    max_bytes: int = 10 * 1024 * 1024
    backup_count: int = 5
    output_buffer: int = 10_000
    output_buffer_bytes: int = 16 * 1024 * 1024
    max_line_length: int = 65536

    def argv(self) -> list[str]:
        if self.shell:
            line = " ".join([self.cmd, *(shlex.quote(a) for a in self.args)])
            return ["/bin/sh", "-c", line]
        return [*shlex.split(self.cmd), *self.args]

    def as_options(self) -> dict[str, Any]:
        # Circus reports stop_signal as its number; circusctl prints it as such.
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "name"}

    def with_options(self, changes: dict[str, Any]) -> WatcherConfig:
        return replace(self, **check_options(changes))

    def differs_for_processes(self, other: WatcherConfig) -> bool:
        """True when running processes must be restarted to apply `other`."""
        return any(
            o.restart and getattr(self, o.name) != getattr(other, o.name) for o in WATCHER_OPTIONS
        )


def check_option(key: str, value: Any) -> Any:
    option = OPTIONS_BY_NAME.get(key)
    if option is None:
        hint = suggest(key, OPTIONS_BY_NAME)
        raise OptionError(key, "unknown option" + (f" (did you mean {hint!r}?)" if hint else ""))
    try:
        return option.check(value)
    except ValueError as exc:
        raise OptionError(key, str(exc)) from None


def check_options(values: dict[str, Any]) -> dict[str, Any]:
    out = {k: check_option(k, v) for k, v in values.items()}
    if "backoff_min" in out and "backoff_max" in out and out["backoff_min"] > out["backoff_max"]:
        raise OptionError("backoff_min", "must not exceed backoff_max")
    if out.get("singleton") and out.get("numprocesses", 1) > 1:
        raise OptionError("numprocesses", "a singleton watcher runs at most one process")
    return out


def make_watcher_config(name: str, values: dict[str, Any]) -> WatcherConfig:
    """Build a WatcherConfig from unchecked values; raises OptionError."""
    if "cmd" not in values:
        raise OptionError("cmd", "is required")
    return WatcherConfig(name=name, **check_options(values))


# "circus" is the daemon's pseudo-watcher and "sockets" the socket stats in `stat.` topics.
RESERVED_NAMES = frozenset({"circus", "sockets"})


def check_name(name: Any, kind: str = "watcher") -> str:
    """Refuse names that would break topics (`watcher.<name>.<event>`, `stat.<name>.<pid>`)
    or collide with the `circus` pseudo-watcher of the stats stream; raises ValueError."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a {kind} name must not be empty")
    if "." in name:
        raise ValueError(f"a {kind} name must not contain '.' (it separates topic parts)")
    if any(c.isspace() or not c.isprintable() for c in name):
        raise ValueError(f"a {kind} name must not contain spaces or control characters")
    if "/" in name or "\\" in name or name.startswith("-"):
        # It names the log file and appears on command lines.
        raise ValueError(f"a {kind} name must not contain '/' or start with '-'")
    if len(name) > 100:
        raise ValueError(f"a {kind} name must be at most 100 characters")
    if kind == "watcher" and name.lower() in RESERVED_NAMES:
        raise ValueError(f"{name!r} is reserved")
    return name


def suggest(word: str, choices: Any) -> str | None:
    import difflib

    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None
