"""What a configuration is: the daemon's settings, its sockets and the whole Config, with
the checks each value must pass (the watchers' own options are in daemon.options)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from daemon.options import (
    OptionError,
    WatcherConfig,
    suggest,
)

TOP_LEVEL_KEYS = ("circus", "watchers", "sockets")


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
            raise OptionError(key, unknown_key(key, SETTINGS_CHECKS))
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
            raise OptionError(key, unknown_key(key, SOCKET_CHECKS))
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


@dataclass
class Config:
    path: Path | None
    settings: DaemonSettings = field(default_factory=DaemonSettings)
    watchers: dict[str, WatcherConfig] = field(default_factory=dict)
    sockets: dict[str, SocketConfig] = field(default_factory=dict)


WILDCARDS = ("", "0.0.0.0", "::", "*")


def same_address(a: SocketConfig, b: SocketConfig) -> bool:
    """Two sockets the second of which could not be bound: one path, or one port on hosts
    that overlap. Port 0 is a different free port for each."""
    if a.name == b.name:
        return False
    if a.path or b.path:
        return a.path is not None and a.path == b.path
    if a.port == 0 or a.port != b.port or a.type != b.type:
        return False
    return a.host == b.host or a.host in WILDCARDS or b.host in WILDCARDS


def unknown_key(key: str, choices: Iterable[str]) -> str:
    hint = suggest(key, choices)
    return f"unknown key {key!r}" + (f" (did you mean {hint!r}?)" if hint else "")
