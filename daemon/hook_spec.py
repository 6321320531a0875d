"""What a watcher's `[hooks]` table says, checked: for each of Circus's hook names, a Python
callable ("package.module.function", Circus's "…, true" to ignore its errors) or a command
line (a list: argv), and how long any of them may take. Running them is daemon.hooks'."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# Circus 0.19's hook names, in the order a watcher's life calls them.
HOOK_NAMES = (
    "before_start",
    "after_start",
    "before_spawn",
    "after_spawn",
    "before_signal",
    "after_signal",
    "before_reap",
    "after_reap",
    "before_stop",
    "after_stop",
    "extended_stats",
)
# As in Circus: these never stop what they are called around, whatever they return.
IGNORED_BY_DEFAULT = frozenset(
    {"before_stop", "after_stop", "before_signal", "after_signal", "extended_stats"}
)
DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class Hook:
    # "package.module.function" (or "package.module:function"), or a command's argv.
    target: str | tuple[str, ...]
    ignore_errors: bool = False

    @property
    def is_command(self) -> bool:
        return isinstance(self.target, tuple)

    def plain(self) -> str | list[str]:
        """As the file writes it."""
        if isinstance(self.target, tuple):
            return list(self.target)
        return f"{self.target}, true" if self.ignore_errors else self.target


@dataclass(frozen=True)
class Hooks:
    hooks: Mapping[str, Hook] = field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT

    def __hash__(self) -> int:
        return hash((tuple(sorted(self.hooks.items())), self.timeout))

    def get(self, name: str) -> Hook | None:
        return self.hooks.get(name)

    def as_table(self) -> dict[str, object]:
        table: dict[str, object] = {name: h.plain() for name, h in self.hooks.items()}
        if self.timeout != DEFAULT_TIMEOUT:
            table["timeout"] = self.timeout
        return table
