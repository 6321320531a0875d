"""`circus-tui convert`: turn a Circus 0.19 .ini file into an equivalent TOML configuration,
with a warning for every option that cannot be carried over. Reading the .ini (ini), what each
Circus option becomes (circus_options, streams), the mapping (converter) and the TOML text
(render)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from daemon.convert.converter import Converter


@dataclass(frozen=True)
class Conversion:
    text: str
    # What runs differently, or not at all, after the conversion: each with its reason and
    # what to use instead.
    warnings: list[str]
    # What has no equivalent and needs none (check_delay, logging options, where output goes).
    notes: list[str]


def convert_report(path: str | Path) -> Conversion:
    """The TOML text for a Circus .ini file, with the warnings and notes about it.

    Raises ConfigError when the file cannot be read or is not an ini file.
    """
    converter = Converter(Path(path))
    text, warnings = converter.convert()
    return Conversion(text, warnings, converter.notes)


def convert_ini(path: str | Path) -> tuple[str, list[str]]:
    """The TOML text and the warnings (see convert_report)."""
    report = convert_report(path)
    return report.text, report.warnings


__all__ = ["Conversion", "convert_ini", "convert_report"]
