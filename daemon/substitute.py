"""Circus's `$(circus.…)` variables in one place: finding them (the config check and `convert`)
and replacing them in what a process starts with (its argv, environment and working
directory), with one pattern.

Replaced today: `$(circus.wid)`, `$(circus.env.NAME)` and `$(circus.sockets.NAME)` (and the
older `((circus.…))` spelling), in cmd, args and env values, and `$(circus.pid)` too in an exec
probe's command line, with `circus.` and the kind
spelled in lower case. Circus also matches them ignoring case and in more places; that belongs
here too when it comes."""

from __future__ import annotations

import os
import re
from collections import ChainMap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from daemon.options import WatcherConfig

# Circus's own pattern: either spelling, any case (as Circus matches them).
PATTERN = re.compile(r"\$\(circus\.([\w.-]+)\)|\(\(circus\.([\w.-]+)\)\)", re.IGNORECASE)


@dataclass(frozen=True)
class Variable:
    text: str  # as written: "$(circus.sockets.web)"
    key: str  # what follows "circus.", as written: "sockets.web"

    @property
    def socket(self) -> str | None:
        """The socket name of a `circus.sockets.NAME` variable, in any case."""
        kind, dot, rest = self.key.partition(".")
        return rest if dot and kind.lower() == "sockets" else None

    @property
    def replaced(self) -> bool:
        """Whether a process start replaces it: only "circus." in lower case, for now."""
        return self.text[2:9] == "circus."


def variables(text: str) -> Iterator[Variable]:
    for match in PATTERN.finditer(text):
        yield Variable(match.group(0), match.group(1) or match.group(2))


def lower_socket_names(text: str) -> str:
    """`$(CIRCUS.SOCKETS.Web)` as `$(circus.sockets.web)`: Circus lower-cases socket names,
    and so the names its variables look up (`convert` writes them as this daemon reads them)."""

    def one(match: re.Match[str]) -> str:
        found = Variable(match.group(0), match.group(1) or match.group(2))
        if found.socket is None:
            return found.text
        inner = "circus.sockets." + found.socket.lower()
        return f"$({inner})" if found.text.startswith("$(") else f"(({inner}))"

    return PATTERN.sub(one, text)


def expand(
    text: str,
    *,
    wid: int,
    env: Mapping[str, str],
    sockets: Mapping[str, int],
    pid: int | None = None,
) -> str:
    """`text` with its variables replaced; raises KeyError for a socket no one defined.
    `pid`: a probe's command line also gets `$(circus.pid)`, the probed process's."""

    def one(match: re.Match[str]) -> str:
        found = Variable(match.group(0), match.group(1) or match.group(2))
        if not found.replaced:
            return found.text
        key = found.key
        if key == "wid":
            return str(wid)
        if key == "pid" and pid is not None:
            return str(pid)
        if key.startswith("env."):
            return env.get(key[4:], "")
        if key.startswith("sockets."):
            wanted = key[8:].lower()
            for name, fd in sockets.items():
                if name.lower() == wanted:
                    return str(fd)
            raise KeyError(f"no socket named {key[8:]!r}")
        return found.text

    return PATTERN.sub(one, text)


def process_argv(config: WatcherConfig, wid: int, sockets: Mapping[str, int]) -> list[str]:
    # The daemon's environment with the watcher's env over it, whatever copy_env says.
    env = ChainMap(config.env, os.environ)
    return [expand(a, wid=wid, env=env, sockets=sockets) for a in config.argv()]


def process_env(config: WatcherConfig, wid: int, sockets: Mapping[str, int]) -> dict[str, str]:
    # Without copy_env, commands must still resolve as from the shell that started the daemon.
    env = dict(os.environ) if config.copy_env else {"PATH": os.environ.get("PATH", os.defpath)}
    for key, value in config.env.items():
        # Against the environment as built so far.
        env[key] = expand(value, wid=wid, env=env, sockets=sockets)
    env["CIRCUS_TUI_WATCHER"] = config.name
    env["CIRCUS_TUI_WID"] = str(wid)
    return env


def working_dir(config: WatcherConfig, base_dir: Path | None) -> str | None:
    if config.working_dir is None:
        return None
    path = Path(os.path.expanduser(config.working_dir))
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return str(path)
