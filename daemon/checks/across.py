"""Rules across keys: a value that is fine alone but not beside another (backoff bounds,
a singleton's count, the process cap, a socket's family and address)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from daemon.checks.base import CheckError

# -- rules across keys ---------------------------------------------------------------------------

NUMPROCESSES_MAX = 100_000


def backoff_order(backoff_min: float, backoff_max: float, changed: Iterable[str] = ()) -> None:
    """Blames backoff_max when only it was given, backoff_min otherwise."""
    if backoff_min > backoff_max:
        given = set(changed)
        key = "backoff_max" if "backoff_max" in given and "backoff_min" not in given else ""
        raise CheckError(
            key or "backoff_min",
            f"backoff_min ({backoff_min:g}) must not exceed backoff_max ({backoff_max:g})",
        )


def singleton_count(singleton: bool, numprocesses: int) -> None:
    if singleton and numprocesses > 1:
        raise CheckError("numprocesses", "a singleton watcher runs at most one process")


def log_format_needs(log_format: str, time_format: str | None, changed: Iterable[str] = ()) -> None:
    """Circus's prefixed lines need the time format they start with; a time format means
    nothing to the other formats."""
    given = set(changed)
    if log_format == "circus" and time_format is None:
        blamed = "log_format" if "log_format" in given else "log_time_format"
        raise CheckError(blamed, 'log_format = "circus" needs log_time_format')
    if time_format is not None and log_format != "circus":
        blamed = "log_format" if "log_format" in given else "log_time_format"
        raise CheckError(blamed, 'log_time_format is used only with log_format = "circus"')


def scaled(current: int, delta: int) -> int:
    """The target `incr`/`decr` asks for: never below 0; above the cap it is refused."""
    if current + delta > NUMPROCESSES_MAX:
        raise CheckError("nb", f"numprocesses would exceed {NUMPROCESSES_MAX}")
    return max(0, current + delta)


def bounded_target(target: int, singleton: bool) -> int:
    """A target as the watcher applies it (two `incr` racing past the cap stop at it)."""
    return max(0, min(target, 1 if singleton else NUMPROCESSES_MAX))


def socket_keys(given: Iterable[str]) -> None:
    keys = set(given)
    if "path" in keys:
        for key in ("host", "port"):
            if key in keys:
                raise CheckError(key, "does not apply to a unix socket (path is set)")


def socket_shape(family: str, unix_path: str | None, host: str) -> None:
    if family == "AF_UNIX" and unix_path is None:
        raise CheckError("path", "an AF_UNIX socket needs a path")
    if unix_path is not None and family != "AF_UNIX":
        raise CheckError("family", "a socket with a path is AF_UNIX")
    if family != "AF_UNIX":
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return  # a host name: resolved when the socket is bound
        if (address.version == 6) != (family == "AF_INET6"):
            raise CheckError("host", f"{host} is not an {family} address")


def python_path_needs(
    copy_env: bool, copy_path: bool, virtualenv: str | None, changed: Iterable[str] = ()
) -> None:
    """copy_path and virtualenv build on the daemon's environment, as circusd requires."""
    given = set(changed)
    for key, used in (("copy_path", copy_path), ("virtualenv", virtualenv)):
        if used and not copy_env:
            blamed = "copy_env" if "copy_env" in given and key not in given else key
            raise CheckError(blamed, f"{key} needs copy_env = true (as in Circus)")
