"""The version of the installed package, from its metadata: one number, set in pyproject.toml."""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _installed


@cache
def version() -> str:
    try:
        return _installed("circus-tui")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"
