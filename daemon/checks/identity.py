"""Rules for what names something: users and groups, signals, watcher and socket names,
the daemon's endpoints."""

from __future__ import annotations

import grp
import ipaddress
import pwd
import signal
from collections.abc import Callable, Mapping
from typing import Any

from daemon.checks.base import CheckError
from daemon.checks.values import string

# -- users, groups and signals ------------------------------------------------------------------

# 4294967295 is (uid_t)-1, which setuid() takes as "leave as it is": the program would run as
# the daemon's own user, often root.
MAX_ID = 2**32 - 2


def _identity(kind: str, lookup: Callable[[str], Any]) -> Callable[[Any], str | int | None]:
    """A user or group, by name (which must exist here) or by number (which need not: ids
    without a name are common in containers)."""

    def rule(value: Any) -> str | int | None:
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

    return rule


user = _identity("user", pwd.getpwnam)
group = _identity("group", grp.getgrnam)


def signal_number(value: Any) -> int:
    """15, "15", "TERM", "SIGTERM" or "sigterm"."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("expected a signal name or number")
    if isinstance(value, int):
        number = value
    else:
        text = value.strip().upper()
        if text.isascii() and text.isdigit():
            number = int(text)
        else:
            try:
                number = int(signal.Signals[text if text.startswith("SIG") else "SIG" + text])
            except KeyError:
                raise ValueError(f"unknown signal {value!r}") from None
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


# -- names and endpoints -------------------------------------------------------------------------

# "circus" is the daemon's pseudo-watcher and "sockets" the socket stats in `stat.` topics.
RESERVED_NAMES = frozenset({"circus", "sockets"})


def name(value: Any, kind: str = "watcher") -> str:
    """Refuse names that would break topics (`watcher.<name>.<event>`, `stat.<name>.<pid>`)
    or collide with the `circus` pseudo-watcher of the stats stream."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"a {kind} name must not be empty")
    if "." in value:
        raise ValueError(f"a {kind} name must not contain '.' (it separates topic parts)")
    if any(c.isspace() or not c.isprintable() for c in value):
        raise ValueError(f"a {kind} name must not contain spaces or control characters")
    if "/" in value or "\\" in value or value.startswith("-"):
        # It names the log file and appears on command lines.
        raise ValueError(f"a {kind} name must not contain '/' or start with '-'")
    if len(value) > 100:
        raise ValueError(f"a {kind} name must be at most 100 characters")
    if kind == "watcher" and value.lower() in RESERVED_NAMES:
        # Circus's stats stream names the daemon's own figures and the sockets' so.
        raise ValueError(f"{value!r} is reserved (the stats stream uses it)")
    return value


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def endpoint(value: Any) -> str:
    """An ipc:// path, or tcp:// on a loopback address: the control endpoint has no
    authentication, so it must never be reachable from another machine."""
    text = string(value).strip()
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
        if not is_loopback(bare):
            raise ValueError(
                f"{host} is not a loopback address: the control protocol has no "
                "authentication, so TCP endpoints must use 127.0.0.1, ::1 or localhost "
                "(or use ipc://)"
            )
        return text
    raise ValueError("expected ipc://PATH or tcp://127.0.0.1:PORT")


def distinct(values: Mapping[str, Any]) -> None:
    """No two keys with one value (the daemon's three endpoints)."""
    seen: dict[Any, str] = {}
    for key, value in values.items():
        if value in seen:
            raise CheckError(key, f"must differ from {seen[value]}")
        seen[value] = key
