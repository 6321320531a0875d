"""Configuration files for a supervisor under test: ours (TOML) and circusd's (ini), from the
same watchers, on ipc endpoints in the supervisor's own directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# name -> {option: value}, with Circus's option names; rendered as TOML (ours) or ini (circusd).
Watchers = dict[str, dict[str, Any]]


def ipc_endpoints(directory: Path) -> dict[str, str]:
    """Control, events and stats endpoints in `directory`; ipc paths are limited to about
    107 bytes, so it must be short (not pytest's tmp_path)."""
    return {
        "endpoint": f"ipc://{directory}/control.sock",
        "pubsub_endpoint": f"ipc://{directory}/events.sock",
        "stats_endpoint": f"ipc://{directory}/stats.sock",
    }


def write_config(
    directory: Path, body: str, circus_extra: str = "", endpoint: str | None = None
) -> tuple[Path, dict[str, str]]:
    """Our configuration file: `[circus]` with the endpoints, `state_dir` and `circus_extra`,
    then `body`."""
    endpoints = ipc_endpoints(directory)
    if endpoint:
        endpoints["endpoint"] = endpoint
    head = "[circus]\n" + "".join(f'{k} = "{v}"\n' for k, v in endpoints.items())
    head += f'state_dir = "{directory}/state"\n' + circus_extra + "\n"
    path = directory / "programs.toml"
    path.write_text(head + body)
    return path, endpoints


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


def toml_body(watchers: Watchers) -> str:
    """The `[watchers.NAME]` tables of our configuration file."""
    out: list[str] = []
    for name, options in watchers.items():
        out.append(f"[watchers.{name}]")
        out.extend(f"{key} = {_toml_value(value)}" for key, value in options.items())
        out.append("")
    return "\n".join(out)


def rewrite_toml(config: Path, watchers: Watchers) -> None:
    """Keep everything before the first watcher table, replace the watchers."""
    text = config.read_text()
    head = text[: text.index("[watchers.")] if "[watchers." in text else text + "\n"
    config.write_text(head + toml_body(watchers))


def _ini_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def circus_ini(
    endpoints: dict[str, str],
    watchers: Watchers,
    stats: bool,
    check_delay: float | None = 0.5,
    sockets: Watchers | None = None,
) -> str:
    """The same watchers as a circus.ini for the reference circusd.

    check_delay is short by default so that circusd (which only reaps when it polls) keeps the
    suite fast; None leaves Circus's own (5 s from a file), as the benches measure it.
    Multicast discovery is off. Setting stats_endpoint makes circusd run circusd-stats, which
    adds a `circusd-stats` watcher, so it is only set when a test needs the stats stream.
    """
    lines = [
        "[circus]",
        f"endpoint = {endpoints['endpoint']}",
        f"pubsub_endpoint = {endpoints['pubsub_endpoint']}",
    ]
    if check_delay is not None:
        lines.append(f"check_delay = {check_delay:g}")
    lines.append("multicast_endpoint =")
    if stats:
        lines += [f"stats_endpoint = {endpoints['stats_endpoint']}", "statsd = true"]
    lines.append("")
    for name, options in (sockets or {}).items():
        lines.append(f"[socket:{name}]")
        lines.extend(f"{k} = {_ini_value(v)}" for k, v in options.items())
        lines.append("")
    for name, options in watchers.items():
        lines.append(f"[watcher:{name}]")
        lines.extend(f"{k} = {_ini_value(v)}" for k, v in options.items() if k != "env")
        lines.append("")
        if options.get("env"):
            lines.append(f"[env:{name}]")
            lines.extend(f"{k} = {v}" for k, v in options["env"].items())
            lines.append("")
    return "\n".join(lines)
