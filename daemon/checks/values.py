"""Rules for one value: switches, numbers and durations, text, paths, command lines,
environments, choices, hosts and umasks."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

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


# A time format of a log line prefix: longer is a mistake, and a control character would let a
# format forge line breaks in a file that other tools read line by line.
TIME_FORMAT_MAX = 200


def time_format(value: Any) -> str | None:
    """A strftime pattern (Circus's stream `time_format`), tried once here so that a bad one
    is refused before it is used for every line."""
    if value is None or value == "":
        return None
    text = string(value)
    if len(text) > TIME_FORMAT_MAX:
        raise ValueError(f"longer than {TIME_FORMAT_MAX} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise ValueError("must not contain control characters")
    if "%" not in text:
        raise ValueError("expected a strftime pattern, like %Y-%m-%d %H:%M:%S")
    try:
        datetime.now().strftime(text)
    except ValueError as exc:
        raise ValueError(f"not a strftime pattern: {exc}") from None
    return text


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


UNLIMITED_WORDS = frozenset({"unlimited", "infinity", ""})


def rlimit(value: Any) -> int | None:
    """A resource limit (both its soft and hard values, as circusd sets them): a count of
    at least 0, or "unlimited" (also Circus's empty value, and -1). None: the daemon's own."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip().lower()
        if text in UNLIMITED_WORDS:
            return -1
        if not text.lstrip("-").isdigit():
            raise ValueError('expected a number or "unlimited"')
        value = int(text)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError('expected a number or "unlimited"')
    if value < -1 or value >= 1 << 63:
        raise ValueError('expected 0 to 2**63 - 1, or "unlimited"')
    return value


_SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def byte_size(value: Any) -> int | None:
    """A size in bytes: a number, or a string with K, M, G or T (powers of 1024: "512M",
    "1.5G"; "MB" and "MiB" say the same). None: no limit."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError('expected a size, like "512M" or 536870912')
    if isinstance(value, int):
        number, unit = float(value), ""
    elif isinstance(value, str):
        text = value.strip().upper().removesuffix("IB").removesuffix("B")
        unit = text[-1:] if text[-1:] in "KMGT" else ""
        digits = text[: len(text) - len(unit)].strip()
        try:
            number = float(digits) if digits.replace(".", "", 1).isdigit() else -1.0
        except ValueError:
            number = -1.0
        if number < 0:
            raise ValueError('expected a size, like "512M", "2G" or a number of bytes')
    else:
        raise ValueError('expected a size, like "512M" or 536870912')
    size = int(number * _SIZE_UNITS[unit])
    if not 1 <= size < 1 << 62:
        raise ValueError("expected at least 1 byte")
    return size


LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


def log_level(value: Any) -> str:
    """Circus's loglevel, in any case; "warn" as Python's logging reads it."""
    text = string(value).strip().lower()
    text = "warning" if text == "warn" else text
    if text not in LOG_LEVELS:
        raise ValueError(f"{value!r} is not a log level ({', '.join(LOG_LEVELS)})")
    return text
