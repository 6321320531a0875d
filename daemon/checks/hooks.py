"""The rule of a watcher's `[hooks]` table (daemon.hook_spec): known hook names, each a
Python callable's dotted name or a command line, and the timeout."""

from __future__ import annotations

import re
from typing import Any

from daemon.checks.base import CheckError, did_you_mean
from daemon.checks.values import boolean, seconds
from daemon.hook_spec import DEFAULT_TIMEOUT, HOOK_NAMES, Hook, Hooks

_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*(?::[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)?")
_TIMEOUT = seconds(0.1, 3600)
MAX_ARGS = 256


def one_hook(key: str, value: Any) -> Hook:
    if isinstance(value, Hook):
        return value
    if isinstance(value, str):
        # Circus's "module.function, true": the hook's failures are ignored.
        name, comma, flag = value.partition(",")
        name = name.strip()
        if not _DOTTED.fullmatch(name) or ("." not in name and ":" not in name):
            raise CheckError(
                key,
                f"{value!r} is not a Python callable's name, like package.module.function "
                '(a command is a list: ["./bin/check"])',
            )
        ignore = False
        if comma:
            try:
                ignore = boolean(flag.strip())
            except ValueError:
                raise CheckError(
                    key, f"after the comma: true or false, not {flag.strip()!r}"
                ) from None
        return Hook(name, ignore)
    if isinstance(value, list):
        if not value or not all(isinstance(a, str) and a for a in value):
            raise CheckError(key, "a command is a non-empty list of non-empty strings")
        if len(value) > MAX_ARGS or any("\0" in a for a in value):
            raise CheckError(key, f"at most {MAX_ARGS} arguments, without NUL characters")
        return Hook(tuple(value))
    raise CheckError(key, 'expected "package.module.function" or a command as a list of strings')


def hooks(value: Any) -> Hooks | None:
    """A Hooks passes as it is (already checked); a dict is checked key by key; None or {}
    is none."""
    if value is None or isinstance(value, Hooks):
        return value
    if not isinstance(value, dict):
        raise ValueError("expected a table, like [watchers.NAME.hooks]")
    allowed = (*HOOK_NAMES, "timeout")
    found: dict[str, Hook] = {}
    timeout = DEFAULT_TIMEOUT
    for key, item in value.items():
        if key not in allowed:
            raise CheckError(f"hooks.{key}", "unknown hook" + did_you_mean(str(key), allowed))
        if key == "timeout":
            try:
                timeout = _TIMEOUT(item)
            except ValueError as exc:
                raise CheckError("hooks.timeout", str(exc)) from None
            continue
        found[key] = one_hook(f"hooks.{key}", item)
    if not found:
        return None
    # In the order a watcher's life calls them, whatever order the file wrote.
    ordered = {name: found[name] for name in HOOK_NAMES if name in found}
    return Hooks(ordered, timeout)
