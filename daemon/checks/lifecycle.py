"""Rules for how a watcher's processes end and what it waits for: the restart policy, the
exit codes that count as success, `depends_on`, and how its sockets are handed down."""

from __future__ import annotations

from typing import Any

from daemon.checks.identity import name
from daemon.checks.values import integer

RESTART_POLICIES = ("always", "on-failure", "never")
CONDITIONS = ("started", "ready", "completed")
SOCKETS_ENV = ("circus", "systemd")

_exit_code = integer(0, 255)


def restart_policy(value: Any) -> str:
    text = value.strip().lower() if isinstance(value, str) else None
    if text not in RESTART_POLICIES:
        raise ValueError("expected one of " + ", ".join(f'"{p}"' for p in RESTART_POLICIES))
    return text


def exit_codes(value: Any) -> tuple[int, ...]:
    """A list of exit codes, 0 to 255 (a signal is never a success)."""
    if isinstance(value, int | str) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list | tuple) or not value:
        raise ValueError("expected a list of exit codes, like [0, 3]")
    codes = []
    for item in value:
        try:
            codes.append(_exit_code(item))
        except ValueError as exc:
            raise ValueError(f"{item!r}: {exc} (an exit code is 0 to 255)") from None
    return tuple(sorted(set(codes)))


def dependencies(value: Any) -> dict[str, str]:
    """`{ migrate = "completed", redis = "ready" }`; a list of names means "started"."""
    if value is None:
        return {}
    if isinstance(value, list):
        value = dict.fromkeys(value, "started")
    if not isinstance(value, dict):
        raise ValueError('expected a table of NAME = "started" | "ready" | "completed"')
    checked: dict[str, str] = {}
    for other, condition in value.items():
        name(other)
        text = condition.strip().lower() if isinstance(condition, str) else None
        if text not in CONDITIONS:
            raise ValueError(f"{other}: expected " + ", ".join(f'"{c}"' for c in CONDITIONS))
        checked[other] = text
    return checked


def sockets_env(value: Any) -> str:
    text = value.strip().lower() if isinstance(value, str) else None
    if text not in SOCKETS_ENV:
        raise ValueError('expected "circus" (fds by number in the command line) or "systemd"')
    return text
