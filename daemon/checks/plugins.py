"""Rules of a `[plugins.NAME]` table (daemon.plugin_spec): the plugin class's dotted name, the
Python that runs it, and each option as the text circusd hands a plugin."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

from daemon.checks.values import path

# As Circus's resolve_name reads it: a module and the name in it, after a '.' or a ':'.
_CLASS = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*[.:][A-Za-z_]\w*", re.ASCII)

# circusd joins `key:value` pairs with ':::' into one --config argument, and the runner splits
# each pair at its first ':'.
OPTION_SEPARATOR = ":::"


def plugin_class(value: Any) -> str:
    if not isinstance(value, str) or not _CLASS.fullmatch(value.strip()):
        raise ValueError(
            f"{value!r} is not a plugin class's name, like circus.plugins.flapping.Flapping"
        )
    return value.strip()


def interpreter(value: Any, base_dir: Path) -> str:
    """An executable Python: a bare name is looked up in PATH as a shell would; a path has `~`
    expanded and is relative to the configuration file's directory."""
    text = path(value).strip()
    if "/" not in text:
        found = shutil.which(text)
        if found is None:
            raise ValueError(f"{text!r} is not in PATH")
        return os.path.abspath(found)
    full = Path(os.path.expanduser(text))
    if not full.is_absolute():
        full = base_dir / full
    if not full.is_file():
        raise ValueError(f"no such file {full}")
    if not os.access(full, os.X_OK):
        raise ValueError(f"{full} is not executable")
    # Not resolved further: a virtualenv's python is a symlink whose own path is what makes
    # it the virtualenv's.
    return os.path.abspath(full)


def option_key(key: str) -> str:
    if not key or ":" in key or any(c.isspace() or not c.isprintable() for c in key):
        raise ValueError(
            "a plugin option's name must not be empty, nor contain ':' or spaces "
            "(circusd passes options as key:value)"
        )
    return key


def option_value(value: Any) -> str:
    """The text the plugin reads, as it would have read the .ini's: Circus's plugins parse
    their options from strings (int(...), to_bool(...))."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | float):
        text = repr(value)
    elif isinstance(value, str):
        text = value
    else:
        raise ValueError("expected a string, a number or true/false (a plugin reads text)")
    if OPTION_SEPARATOR in text or "\0" in text or "\n" in text:
        raise ValueError(
            "must not contain ':::', a NUL or a newline (circusd passes options on one line, "
            "separated by ':::')"
        )
    return text
