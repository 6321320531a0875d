"""`circus-tui convert`: turn a Circus 0.19 .ini file into an equivalent TOML configuration,
with a warning for every option that cannot be carried over. Reading the .ini (ini), what each
Circus option becomes (circus_options, streams), the mapping (converter) and the TOML text
(render)."""

from __future__ import annotations

from pathlib import Path

from daemon.convert.converter import Converter


def convert_ini(path: str | Path) -> tuple[str, list[str]]:
    """Return the TOML text for a Circus .ini file and the warnings about what was lost.

    Raises ConfigError when the file cannot be read or is not an ini file.
    """
    return Converter(Path(path)).convert()


__all__ = ["convert_ini"]
