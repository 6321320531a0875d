"""What a `[plugins.NAME]` table says, checked: the Circus plugin class it uses, the Python
that runs it, the priority of its watcher, and the options handed to the plugin as circusd
hands them (text). Running it is daemon.plugins'."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from daemon import checks
from daemon.checks import CheckError
from daemon.checks.plugins import interpreter, option_key, option_value, plugin_class

# circusd names a plugin's watcher after its section, `plugin:NAME`.
WATCHER_PREFIX = "plugin:"
# circusd's own priority for a plugin's watcher: it starts before the default watchers (0).
DEFAULT_PRIORITY = 1
# The keys that mean something to the daemon; every other key is an option of the plugin.
PLUGIN_KEYS = ("use", "python", "priority")


@dataclass(frozen=True)
class PluginConfig:
    name: str
    use: str
    # An absolute path; None: the daemon's own interpreter.
    python: str | None = None
    priority: int = DEFAULT_PRIORITY
    # Every other key, with `priority` when given, as the text the plugin reads.
    options: Mapping[str, str] = field(default_factory=dict)

    @property
    def watcher_name(self) -> str:
        return WATCHER_PREFIX + self.name

    @property
    def interpreter(self) -> str:
        return self.python or sys.executable

    @property
    def own_interpreter(self) -> bool:
        return self.python is None or self.python == sys.executable


def make_plugin_config(name: str, values: Mapping[str, Any], base_dir: Path) -> PluginConfig:
    """Raises CheckError naming the key; `python` is found relative to `base_dir`."""
    if "use" not in values:
        raise CheckError(
            "use", 'is required: the plugin class, like "circus.plugins.statsd.StatsdEmitter"'
        )
    use = checks.check("use", plugin_class, values["use"])
    python = None
    if "python" in values:
        python = checks.check("python", lambda v: interpreter(v, base_dir), values["python"])
    priority = DEFAULT_PRIORITY
    options: dict[str, str] = {}
    for key, value in values.items():
        if key in ("use", "python"):
            continue
        if key == "name":
            raise CheckError(key, f"is the table's: this plugin is {WATCHER_PREFIX}{name}")
        checks.check(key, option_key, key)
        if key == "priority":
            priority = checks.check(key, checks.integer(), value)
        options[key] = checks.check(key, option_value, value)
    return PluginConfig(name, use, python, priority, options)
