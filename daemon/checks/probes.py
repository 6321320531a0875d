"""Rules for a watcher's readiness and liveness tables (`[watchers.NAME.ready]`,
`[watchers.NAME.alive]`): one kind of probe, its target, and its timing."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from daemon.checks.base import CheckError, did_you_mean
from daemon.checks.values import boolean, integer, seconds
from daemon.probe_spec import ALIVE_KINDS, READY_KINDS, Probe

# Longer patterns are refused: the pattern runs on every line a starting process writes.
MAX_PATTERN = 1000

_TIMING = {
    "ready": {"interval": 1.0, "timeout": 2.0, "start_timeout": 60.0},
    "alive": {"interval": 5.0, "timeout": 2.0, "failures": 3},
}


def http_url(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a URL, like http://127.0.0.1:8000/healthz")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected an http:// or https:// URL with a host")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ValueError("bad port in the URL") from None
    return value.strip()


def host_port(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected HOST:PORT, like 127.0.0.1:6379")
    host, sep, port = value.strip().rpartition(":")
    if not sep or not host or not port.isascii() or not port.isdigit():
        raise ValueError("expected HOST:PORT, like 127.0.0.1:6379")
    if not 1 <= int(port) <= 65535:
        raise ValueError(f"bad port {port!r}: expected 1 to 65535")
    return value.strip()


def probe_command(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a command line")
    try:
        shlex.split(value)
    except ValueError as exc:
        raise ValueError(f"cannot be split like a command line: {exc}") from None
    return value.strip()


def pattern(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("expected a regular expression")
    if len(value) > MAX_PATTERN:
        raise ValueError(f"a pattern of at most {MAX_PATTERN} characters")
    try:
        re.compile(value.encode())
    except (re.error, UnicodeEncodeError) as exc:
        raise ValueError(f"not a regular expression: {exc}") from None
    return value


def _notify(value: Any) -> str:
    if not boolean(value):
        raise ValueError("notify = true is the only way to write it (leave it out otherwise)")
    return ""


_TARGETS: dict[str, Callable[[Any], str]] = {
    "http": http_url,
    "tcp": host_port,
    "exec": probe_command,
    "log": pattern,
    "notify": _notify,
}

_NUMBERS: dict[str, Callable[[Any], Any]] = {
    "interval": seconds(0, 3600, above=True),
    "timeout": seconds(0, 3600, above=True),
    "start_timeout": seconds(0, 86400, above=True),
    "failures": integer(1, 1000),
    "watchdog": seconds(0, 86400, above=True),
}


def probe(table: str) -> Callable[[Any], Probe | None]:
    """The rule of the `table` ("ready" or "alive") option. A Probe passes as it is (a
    configuration already checked); a dict is checked key by key; None or {} is no probe."""
    kinds = READY_KINDS if table == "ready" else ALIVE_KINDS
    timing = _TIMING[table]
    allowed = (*kinds, *timing)

    def rule(value: Any) -> Probe | None:
        if value is None or isinstance(value, Probe):
            return value
        if not isinstance(value, dict):
            raise ValueError(f"expected a table, like [watchers.NAME.{table}]")
        if not value:
            return None
        for key in value:
            if key not in allowed:
                raise CheckError(f"{table}.{key}", "unknown key" + did_you_mean(str(key), allowed))
        given = [k for k in kinds if k in value]
        if len(given) != 1:
            raise CheckError(
                table,
                ("one of " if not given else "only one of ")
                + ", ".join(kinds)
                + (f" (given: {', '.join(given)})" if given else ""),
            )
        kind = given[0]
        checked: dict[str, Any] = dict(timing)
        for key in timing:
            if key in value:
                checked[key] = _check(table, key, _NUMBERS[key], value[key])
        if kind == "watchdog":
            return Probe(
                "watchdog",
                "",
                interval=checked["interval"],
                timeout=checked["timeout"],
                failures=1,
                watchdog=_check(table, kind, _NUMBERS["watchdog"], value[kind]),
            )
        return Probe(kind, _check(table, kind, _TARGETS[kind], value[kind]), **checked)

    return rule


def _check(table: str, key: str, rule: Callable[[Any], Any], value: Any) -> Any:
    try:
        return rule(value)
    except CheckError:
        raise
    except ValueError as exc:
        raise CheckError(f"{table}.{key}", str(exc)) from None
