"""Reading a Circus .ini file as circusd reads it: option names keep their case, `;` starts a
comment after whitespace, no %-interpolation, `include` and `include_dir` merged in."""

from __future__ import annotations

import configparser
import glob
import os
from collections.abc import Callable
from pathlib import Path

from daemon.config import ConfigError


class CircusIni:
    def __init__(self, path: Path, warn: Callable[[str], None]) -> None:
        self.path = path
        self.warn = warn
        self.parser = _new_parser()
        # The included files, relative to the main one, in the order they were merged.
        self.included: list[str] = []
        self._read()
        self._read_includes()

    def sections(self) -> list[str]:
        return self.parser.sections()

    def has(self, section: str) -> bool:
        return self.parser.has_section(section)

    def get(self, section: str, key: str) -> str:
        return self.parser.get(section, key, fallback="")

    def items(self, section: str) -> dict[str, str]:
        if not self.parser.has_section(section):
            return {}
        # Circus writes an empty value as "".
        return {k: "" if v in (None, '""') else v for k, v in self.parser.items(section)}

    def _read(self) -> None:
        """Raises ConfigError when the file cannot be read or is not an ini file."""
        path = self.path
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(path, None, "", f"cannot read: {exc}") from None
        try:
            self.parser.read_string(text, source=str(path))
        except configparser.MissingSectionHeaderError as exc:
            raise ConfigError(path, exc.lineno, "", "expected a [section] header first") from None
        except configparser.ParsingError as exc:
            line = exc.errors[0][0] if exc.errors else None
            raise ConfigError(path, line, "", "cannot parse this line") from None
        except configparser.Error as exc:
            raise ConfigError(path, None, "", str(exc)) from None

    def _read_includes(self) -> None:
        if not self.parser.has_section("circus"):
            return
        base = self.path.parent
        patterns = self.get("circus", "include").split()
        patterns += [str(Path(d) / "*.ini") for d in self.get("circus", "include_dir").split()]
        for pattern in patterns:
            full = pattern if Path(pattern).is_absolute() else str(base / pattern)
            found = sorted(glob.glob(full))
            if not found:
                self.warn(f"circus: include {pattern!r} matches no file")
            for name in found:
                try:
                    self.parser.read(name, encoding="utf-8")
                except configparser.Error as exc:
                    self.warn(f"circus: include {name} could not be read: {exc}")
                    continue
                self.included.append(os.path.relpath(name, base))


def _new_parser() -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(
        strict=False,
        inline_comment_prefixes=(";",),
        empty_lines_in_values=False,
        interpolation=None,
    )
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    return parser
