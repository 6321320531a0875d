"""Hooks for the option comparison: each call is appended to hooks.log next to this module, in
the order the supervisor makes them. Copied into each supervisor's directory."""

from __future__ import annotations

import os
from typing import Any

LOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hooks.log")


def record(watcher: Any, arbiter: Any, hook_name: str, **kwargs: Any) -> bool:
    with open(LOG, "a") as f:
        f.write(f"{watcher.name} {hook_name}\n")
    return True


def stats(watcher: Any, arbiter: Any, hook_name: str, pid: Any, stats: Any, **kwargs: Any) -> bool:
    record(watcher, arbiter, hook_name)
    return True
