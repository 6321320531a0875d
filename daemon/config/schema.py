"""What a configuration is: the daemon's settings, its sockets and the whole Config, with
the checks each value must pass (the watchers' own options are in daemon.options, the
plugins' in daemon.plugin_spec)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from daemon import checks
from daemon.checks import CheckError
from daemon.options import WatcherConfig
from daemon.plugin_spec import PluginConfig

TOP_LEVEL_KEYS = ("circus", "watchers", "sockets", "plugins")


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
    # Circus's names; `circus-tui daemon --pidfile/--log-level` win over them.
    pidfile: str | None = None
    loglevel: str | None = None
    warmup_delay: float = 0.0


SETTINGS_CHECKS: dict[str, Callable[[Any], Any]] = {
    "endpoint": checks.endpoint,
    "pubsub_endpoint": checks.endpoint,
    "stats_endpoint": checks.endpoint,
    "state_dir": checks.path,
    "stats_interval": checks.seconds(0, 3600, above=True, typed=True),
    # Below ten minutes the console's sparklines would start empty; a day bounds memory.
    "history_seconds": checks.seconds(600, 86400, typed=True),
    "pidfile": checks.path,
    "loglevel": checks.log_level,
    "warmup_delay": checks.seconds(0, 3600),
}


def make_settings(values: Mapping[str, Any]) -> DaemonSettings:
    """Build DaemonSettings from unchecked values; raises CheckError naming the key."""
    checked = _checked(values, SETTINGS_CHECKS)
    checks.distinct({k: checked[k] for k in ENDPOINT_KEYS if k in checked})
    return DaemonSettings(**checked)


ENDPOINT_KEYS = ("endpoint", "pubsub_endpoint", "stats_endpoint")


def _checked(
    values: Mapping[str, Any], rules: Mapping[str, Callable[[Any], Any]]
) -> dict[str, Any]:
    checked: dict[str, Any] = {}
    for key, value in values.items():
        if key not in rules:
            raise CheckError(key, unknown_key(key, rules))
        checked[key] = checks.check(key, rules[key], value)
    return checked


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
        # Built directly (not through make_socket_config), it is checked all the same.
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in SOCKET_CHECKS and value is not None:
                checks.check(f.name, SOCKET_CHECKS[f.name], value)
        checks.socket_shape(self.family, self.path, self.host)


SOCKET_CHECKS: dict[str, Callable[[Any], Any]] = {
    "host": checks.host,
    "port": checks.integer(0, 65535, typed=True),
    "path": checks.path,
    "family": checks.choice(SOCKET_FAMILIES),
    "type": checks.choice(SOCKET_TYPES),
    "backlog": checks.integer(0, 1 << 16, typed=True),
    "so_reuseport": checks.typed_boolean,
    "umask": checks.umask,
    "replace": checks.typed_boolean,
    "blocking": checks.typed_boolean,
}


def make_socket_config(name: str, values: Mapping[str, Any]) -> SocketConfig:
    """Build a SocketConfig from unchecked values; raises CheckError naming the key."""
    checked = _checked(values, SOCKET_CHECKS)
    checks.socket_keys(checked)
    if "path" in checked:
        checked.setdefault("family", "AF_UNIX")
    return SocketConfig(name=name, **checked)


@dataclass
class Config:
    path: Path | None
    settings: DaemonSettings = field(default_factory=DaemonSettings)
    watchers: dict[str, WatcherConfig] = field(default_factory=dict)
    sockets: dict[str, SocketConfig] = field(default_factory=dict)
    # Each runs as the watcher `plugin:NAME` (daemon.plugins), which is not in `watchers`.
    plugins: dict[str, PluginConfig] = field(default_factory=dict)


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
    return f"unknown key {key!r}" + checks.did_you_mean(key, choices)
