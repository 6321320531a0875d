"""Circus's `[plugin:NAME]` sections: each becomes `[plugins.NAME]` with its class and its
options, spelled as TOML values only where the plugin reads back the same text."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from daemon import checks
from daemon.checks import CheckError
from daemon.convert.circus_options import FLAPPING_HINT
from daemon.convert.ini import CircusIni
from daemon.plugin_spec import make_plugin_config

_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)", re.ASCII)


def convert_plugins(
    ini: CircusIni,
    base_dir: Path,
    warn: Callable[[str], None],
    note: Callable[[str], None],
) -> dict[str, dict[str, Any]]:
    plugins: dict[str, dict[str, Any]] = {}
    for section in ini.sections():
        if not section.startswith("plugin:"):
            continue
        name = _plugin_name(section, set(plugins), warn)
        if name is None:
            continue
        values: dict[str, Any] = {}
        for key, text in ini.items(section).items():
            if key == "python":
                warn(f"[{section}]: python left out: here it names the interpreter that runs it")
            elif key == "name":
                warn(f"[{section}]: name left out: circusd names it {section!r} whatever it says")
            else:
                values[key] = _scalar(text)
        if "use" not in values:
            warn(f"[{section}]: no use; left out")
            continue
        values["use"] = str(values["use"])
        if not _checked(section, name, values, base_dir, warn):
            continue
        plugins[name] = {"use": values.pop("use"), **values}
        if "flapping" in plugins[name]["use"].lower():
            note(f"[{section}]: runs as under circusd; {FLAPPING_HINT}, without a plugin")
    return plugins


def _plugin_name(section: str, seen: set[str], warn: Callable[[str], None]) -> str | None:
    original = section.split(":", 1)[1].strip()
    name = original
    try:
        checks.name(name, "plugin")
    except ValueError:
        name = re.sub(r"[.\s/]+", "_", original).lstrip("-")
        try:
            checks.name(name, "plugin")
        except ValueError as exc:
            warn(f"[{section}] left out: {exc}")
            return None
        warn(f"[{section}] renamed [plugins.{name}] (names cannot contain '.', '/' or spaces)")
    if name.lower() in {s.lower() for s in seen}:
        warn(f"[{section}] left out: same name as another plugin")
        return None
    return name


def _checked(
    section: str, name: str, values: dict[str, Any], base_dir: Path, warn: Callable[[str], None]
) -> bool:
    """Drop what the plugin rules refuse, with the reason; False when `use` itself is bad."""
    for _ in range(len(values)):
        try:
            make_plugin_config(name, values, base_dir)
            return True
        except CheckError as exc:
            if exc.key == "use" or exc.key not in values:
                warn(f"[{section}] left out: {exc.key}: {exc.message}")
                return False
            warn(f"[{section}]: {exc.key} = {values[exc.key]!r} left out: {exc.message}")
            del values[exc.key]
    return True


def _scalar(text: str) -> str | int | float | bool:
    """A TOML number or boolean when the plugin would read exactly `text` from it (see
    daemon.checks.plugins.option_value), else the text."""
    if text in ("true", "false"):
        return text == "true"
    if _INTEGER.fullmatch(text) and str(int(text)) == text and abs(int(text)) < 1 << 63:
        return int(text)
    try:
        number = float(text)
    except ValueError:
        return text
    return number if repr(number) == text else text
