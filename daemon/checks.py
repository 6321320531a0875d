"""Every rule a value must pass, written once: the configuration file, `set` and `add` over the
wire and `convert` all check through here, so the same value is accepted or refused alike, with
the same message.

A rule takes the unchecked value and returns the checked one, or raises ValueError with a
message that does not name the key (the caller knows it: `check` adds it, the config loader adds
file and line too). The rules that compare several keys raise CheckError naming the key to fix.

Values that circusctl can send (watcher options, command properties) may also come as text,
since circusctl sends what the user typed; keys only a file sets ([circus], [sockets]) take
their TOML type (`typed=True`)."""

from __future__ import annotations

import difflib
import grp
import ipaddress
import os
import pwd
import re
import shlex
import signal
from collections.abc import Callable, Iterable, Mapping
from typing import Any

Rule = Callable[[Any], Any]


class CheckError(ValueError):
    """A refused value: `key` names it, `message` says why."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def check(key: str, rule: Rule, value: Any) -> Any:
    try:
        return rule(value)
    except CheckError:
        raise
    except ValueError as exc:
        raise CheckError(key, str(exc)) from None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {found[0]!r}?)" if found else ""


# -- booleans ----------------------------------------------------------------------------------

# One vocabulary everywhere, case and surrounding spaces ignored: circusctl sends JSON booleans
# for its flags and the user's text for `set` values ("true", "1"), and Circus's .ini reader
# (configparser's getboolean) also takes yes/no and on/off.
TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
FALSE_WORDS = frozenset({"false", "no", "off", "0"})


def is_true(text: str) -> bool:
    """Circus's reading of a switch: anything but a word for true is false."""
    return text.strip().lower() in TRUE_WORDS


def boolean(value: Any, *, typed: bool = False) -> bool:
    if isinstance(value, bool):
        return value
    if not typed:
        if isinstance(value, str) and value.strip().lower() in TRUE_WORDS:
            return True
        if isinstance(value, str) and value.strip().lower() in FALSE_WORDS:
            return False
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
    raise ValueError("expected true or false")


def typed_boolean(value: Any) -> bool:
    return boolean(value, typed=True)


# -- numbers -----------------------------------------------------------------------------------

# ASCII digits only: int() also takes "٣" and "1_0", which nobody means as a count.
_INTEGER = re.compile(r"[-+]?[0-9]+", re.ASCII)
# Past this many digits int() raises (and no bound here is anywhere near).
_MAX_DIGITS = 4000


def _spelled(number: float) -> str:
    return f"{number:g}" if isinstance(number, float) else str(number)


def _within(number: float, low: float | None, high: float | None, above: bool = False) -> None:
    if low is not None and above and number <= low:
        raise ValueError(f"must be more than {_spelled(low)}")
    if low is not None and number < low:
        raise ValueError(f"must be at least {_spelled(low)}")
    if high is not None and number > high:
        raise ValueError(f"must be at most {_spelled(high)}")


def integer(
    low: int | None = None, high: int | None = None, *, typed: bool = False
) -> Callable[[Any], int]:
    def rule(value: Any) -> int:
        if not typed and isinstance(value, str):
            text = value.strip()
            if _INTEGER.fullmatch(text) is None:
                raise ValueError("expected an integer")
            if len(text) > _MAX_DIGITS:
                raise ValueError("number too large")
            value = int(text)
        elif not typed and isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("expected an integer")
        _within(value, low, high)
        return value

    return rule


def seconds(
    low: float, high: float, *, above: bool = False, typed: bool = False
) -> Callable[[Any], float]:
    """A duration from `low` (excluded with `above`) to `high`; NaN and infinities refused."""

    def rule(value: Any) -> float:
        if not typed and isinstance(value, str):
            text = value.strip()
            try:
                value = float(text) if text.isascii() else None
            except ValueError:
                value = None
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            raise ValueError("expected a number")
        try:
            number = float(value)
        except OverflowError:
            # An int too large for a float: out of every range anyway.
            raise ValueError("number too large") from None
        _within(number, low, high, above)
        return number

    return rule


# -- text, paths and command lines -------------------------------------------------------------


def string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    return value


def path(value: Any) -> str:
    # Refused here, not when the file is opened: a `set` has replied by then, and opening it
    # raises in the middle of applying the change.
    text = string(value)
    if not text.strip():
        raise ValueError("expected a path")
    if "\0" in text:
        raise ValueError("must not contain a NUL character")
    try:
        os.fsencode(text)
    except UnicodeError:
        raise ValueError("cannot be encoded as a file name") from None
    return text


def optional_path(value: Any) -> str | None:
    return None if value is None or value == "" else path(value)


def command_line(value: Any) -> str:
    text = string(value).strip()
    if not text:
        raise ValueError("must not be empty")
    try:
        shlex.split(text)
    except ValueError as exc:
        raise ValueError(f"cannot be split like a command line: {exc}") from None
    return text


def arguments(value: Any) -> list[str]:
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


def environment(value: Any) -> dict[str, str]:
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


def choice(choices: Iterable[str]) -> Callable[[Any], str]:
    """One of `choices`, in any case; returned as spelled in `choices`."""
    allowed = tuple(choices)

    def rule(value: Any) -> str:
        text = value.strip().upper() if isinstance(value, str) else None
        for option in allowed:
            if option.upper() == text:
                return option
        raise ValueError("expected one of " + ", ".join(allowed))

    return rule


def host(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a host name or address")
    return value.strip()


def umask(value: Any) -> int:
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
        raise ValueError(f"{value!r} is reserved")
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
