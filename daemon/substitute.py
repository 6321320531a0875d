"""Circus's `$(circus.…)` variables in one place: finding them (the config check and `convert`)
and replacing them in what a process starts with (its argv, environment and working
directory), its log files and the daemon's socket paths, with one pattern; and the `$NAME`
expansion of environment values.

`$(circus.wid)`, `$(circus.env.NAME)` and `$(circus.sockets.NAME)`, and the older
`((circus.…))` spelling, are matched ignoring case, as Circus matches them (`$(CIRCUS.ENV.X)`);
an env NAME is looked up as written, then ignoring case. `$(circus.pid)` is replaced in a
probe's target. In an env value, `$NAME` and `${NAME}` are replaced too, as a shell (and
circusd) expands them, and `$$` is a literal dollar."""

from __future__ import annotations

import os
import re
from collections import ChainMap
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from daemon import pyenv
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


def lookup(env: Mapping[str, str], name: str) -> str:
    """An environment variable as Circus's `$(circus.env.NAME)` finds it: as written, else
    ignoring case; the empty string when there is none."""
    value = env.get(name)
    if value is not None:
        return value
    folded = name.casefold()
    for key, candidate in env.items():
        if key.casefold() == folded:
            return candidate
    return ""


def _replacer(
    wid: int | None, env: Mapping[str, str], sockets: Mapping[str, int], pid: int | None
) -> Callable[[Variable], str]:
    def one(found: Variable) -> str:
        key = found.key
        kind, _, name = key.partition(".")
        kind = kind.lower()
        if kind == "wid" and not name and wid is not None:
            return str(wid)
        if kind == "pid" and not name and pid is not None:
            return str(pid)
        if kind == "env" and name:
            return lookup(env, name)
        if kind == "sockets" and name:
            wanted = name.lower()
            for socket_name, fd in sockets.items():
                if socket_name.lower() == wanted:
                    return str(fd)
            raise KeyError(f"no socket named {name!r}")
        return found.text

    return one


def _variable(match: re.Match[str]) -> Variable:
    return Variable(match.group(0), match.group(1) or match.group(2))


def expand(
    text: str,
    *,
    wid: int | None,
    env: Mapping[str, str],
    sockets: Mapping[str, int],
    pid: int | None = None,
) -> str:
    """`text` with its variables replaced; raises KeyError for a socket no one defined.
    `pid`: a probe's target also gets `$(circus.pid)`, the probed process's. `wid` None: a
    file or socket path, shared by every process (`$(circus.wid)` stays as written)."""
    one = _replacer(wid, env, sockets, pid)
    return PATTERN.sub(lambda m: one(_variable(m)), text)


# `$$`, `${NAME}` or `$NAME`, or one of Circus's variables: one pass, so that `$$(circus.wid)`
# is the literal text `$(circus.wid)`.
_ENV_VALUE = re.compile(
    r"(?P<dollar>\$\$)|\$\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)\}"
    r"|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)|" + PATTERN.pattern,
    re.IGNORECASE,
)


def expand_env_value(
    value: str, *, wid: int, env: Mapping[str, str], sockets: Mapping[str, int]
) -> str:
    """An env value with `$NAME`, `${NAME}` (from `env`; the empty string when unset), `$$`
    and Circus's variables replaced."""
    one = _replacer(wid, env, sockets, None)

    def sub(match: re.Match[str]) -> str:
        if match.group("dollar"):
            return "$"
        name = match.group("braced") or match.group("bare")
        if name:
            return env.get(name, "")
        return one(Variable(match.group(0), match.group(4) or match.group(5)))

    return _ENV_VALUE.sub(sub, value)


def watcher_env(config: WatcherConfig, wid: int, sockets: Mapping[str, int]) -> dict[str, str]:
    """The watcher's env entries with their values expanded, in the order written, each
    against the process's environment as built so far, then the daemon's own: `PATH =
    "$PATH:/opt/extra"` extends the daemon's PATH whatever copy_env says."""
    base = os.environ if config.copy_env else {"PATH": os.environ.get("PATH", os.defpath)}
    entries: dict[str, str] = {}
    seen = ChainMap(entries, base, os.environ)
    for key, value in config.env.items():
        entries[key] = expand_env_value(value, wid=wid, env=seen, sockets=sockets)
    return entries


def _lookup_env(config: WatcherConfig, wid: int, sockets: Mapping[str, int]) -> ChainMap[str, str]:
    """What `$(circus.env.NAME)` reads in a command line and paths: the watcher's env over
    the daemon's environment, whatever copy_env says."""
    return ChainMap(watcher_env(config, wid, sockets), os.environ)


def process_argv(config: WatcherConfig, wid: int, sockets: Mapping[str, int]) -> list[str]:
    env = _lookup_env(config, wid, sockets)
    return [expand(a, wid=wid, env=env, sockets=sockets) for a in config.argv()]


def process_env(config: WatcherConfig, wid: int, sockets: Mapping[str, int]) -> dict[str, str]:
    # Without copy_env, commands must still resolve as from the shell that started the daemon.
    env = dict(os.environ) if config.copy_env else {"PATH": os.environ.get("PATH", os.defpath)}
    if config.copy_path and "PYTHONPATH" not in env:
        # As circusd: a PYTHONPATH of the daemon's environment (copy_env) is kept over the
        # daemon's module path, and `env` may set its own over both.
        env["PYTHONPATH"] = pyenv.daemon_path()
    env.update(watcher_env(config, wid, sockets))
    if config.virtualenv is not None:
        pyenv.apply_virtualenv(env, config.virtualenv, config.virtualenv_py_ver)
    env["CIRCUS_TUI_WATCHER"] = config.name
    env["CIRCUS_TUI_WID"] = str(wid)
    return env


def resolve_path(value: str, base_dir: Path | None) -> Path:
    """A path the configuration names: `~` expanded, relative to `base_dir` (the
    configuration file's directory) when relative."""
    path = Path(os.path.expanduser(value))
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return path


def working_dir(
    config: WatcherConfig,
    base_dir: Path | None,
    wid: int = 1,
    sockets: Mapping[str, int] | None = None,
) -> str | None:
    """The process's directory, with Circus's variables replaced (`$(circus.env.HOME)`,
    `$(circus.wid)`)."""
    if config.working_dir is None:
        return None
    sockets = sockets or {}
    text = expand(
        config.working_dir, wid=wid, env=_lookup_env(config, wid, sockets), sockets=sockets
    )
    return str(resolve_path(text, base_dir))


def watcher_path(config: WatcherConfig, value: str, base_dir: Path | None) -> Path:
    """A log file a watcher names, with `$(circus.env.NAME)` from its env over the daemon's
    environment (one file for all its processes: `$(circus.wid)` stays as written)."""
    try:
        entries: Mapping[str, str] = watcher_env(config, 0, {})
    except KeyError:  # an env value names a socket: the values as written will do here
        entries = config.env
    env = ChainMap(dict(entries), os.environ)
    return resolve_path(expand(value, wid=None, env=env, sockets={}), base_dir)


def daemon_path(value: str, base_dir: Path | None) -> Path:
    """A socket path: `$(circus.env.NAME)` from the daemon's environment."""
    return resolve_path(expand(value, wid=None, env=os.environ, sockets={}), base_dir)


# circusd expands `$NAME` in an env value when NAME starts upper case and goes on in upper
# case, digits or `_` (circus.util.parse_env_dict), and leaves any other `$` as it is.
_CIRCUS_ENV_VALUE = re.compile(r"(?i:" + PATTERN.pattern + r")|\$([A-Z]+[A-Z0-9_]*)|\$")


def from_circus_env_value(value: str) -> str:
    """A circus.ini env value as this daemon reads it to the same effect: each `$NAME`
    circusd expands written `${NAME}` (its name ends where upper case does: `$HOMEx` is
    `${HOME}x`), every other `$` doubled. Circus's variables are kept: this daemon replaces
    them, circusd does not in env values (`convert` warns about it)."""

    def one(match: re.Match[str]) -> str:
        if match.group(1) or match.group(2):
            return match.group(0)
        name = match.group(3)
        return "${" + name + "}" if name else "$$"

    return _CIRCUS_ENV_VALUE.sub(one, value)
