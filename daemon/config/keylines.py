"""Line numbers of keys in a TOML text, found by a small scanner of our own: tomlkit keeps no
positions, and an error that names file, line and key needs them."""

from __future__ import annotations

import bisect
import contextlib
import json
import re
import tomllib
from collections.abc import Iterable

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def dotted(key_path: Iterable[str]) -> str:
    """A key path as TOML would spell it: watchers.web.numprocesses, watchers."a.b"."""
    return ".".join(
        part if _BARE_KEY.fullmatch(part) else json.dumps(part, ensure_ascii=False)
        for part in key_path
    )


class _Stop(Exception):
    pass


# A number, boolean or date: runs to the next separator (dates may contain a space).
_SCALAR = re.compile(r"[^,\]}\n#]+")


class KeyLines:
    """Line numbers of table headers and keys in TOML text.

    tomlkit keeps no positions, so this re-reads the text with a small scanner that knows
    only what it needs: headers, dotted and quoted keys, inline tables, and the strings and
    arrays (possibly multi-line) it has to step over. A lookup falls back to the nearest
    enclosing key, so an error inside an inline table points at its line.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.found: dict[tuple[str, ...], int] = {}
        self.defined: set[tuple[str, ...]] = set()
        self.duplicates: list[tuple[tuple[str, ...], int]] = []
        self.newlines = [i for i, c in enumerate(text) if c == "\n"]
        # Best effort: whatever was indexed before any confusion still helps.
        with contextlib.suppress(_Stop, IndexError, ValueError):
            self.document()

    def line(self, key_path: tuple[str, ...]) -> int | None:
        while key_path:
            if key_path in self.found:
                return self.found[key_path]
            key_path = key_path[:-1]
        return None

    def line_at(self, pos: int) -> int:
        return bisect.bisect_left(self.newlines, pos) + 1

    def record(self, key_path: tuple[str, ...], line: int, definition: bool) -> None:
        for i in range(1, len(key_path) + 1):
            self.found.setdefault(key_path[:i], line)
        if definition:
            if key_path in self.defined:
                self.duplicates.append((key_path, line))
            self.defined.add(key_path)

    def peek(self, n: int = 1) -> str:
        return self.text[self.pos : self.pos + n]

    def skip_blank(self, newlines: bool) -> None:
        text = self.text
        while self.pos < len(text):
            c = text[self.pos]
            if c in " \t" or (newlines and c in "\r\n"):
                self.pos += 1
            elif c == "#" and newlines:
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            else:
                return

    def skip_line(self) -> None:
        end = self.text.find("\n", self.pos)
        self.pos = len(self.text) if end < 0 else end + 1

    def document(self) -> None:
        table: tuple[str, ...] = ()
        while True:
            self.skip_blank(newlines=True)
            if self.pos >= len(self.text):
                return
            line = self.line_at(self.pos)
            if self.peek() == "[":
                array = self.peek(2) == "[["
                self.pos += 2 if array else 1
                table = self.key()
                # Arrays of tables repeat their header by design.
                self.record(table, line, definition=not array)
            else:
                key = table + self.key()
                self.record(key, line, definition=True)
                self.skip_blank(newlines=False)
                if self.peek() != "=":
                    raise _Stop
                self.pos += 1
                self.value(key)
            self.skip_line()

    def key(self) -> tuple[str, ...]:
        parts: list[str] = []
        while True:
            self.skip_blank(newlines=False)
            c = self.peek()
            if c == '"':
                start = self.pos
                self.basic_string()
                parts.append(tomllib.loads("k = " + self.text[start : self.pos])["k"])
            elif c == "'":
                end = self.text.index("'", self.pos + 1)
                parts.append(self.text[self.pos + 1 : end])
                self.pos = end + 1
            else:
                match = _BARE_KEY.match(self.text, self.pos)
                if not match:
                    raise _Stop
                parts.append(match.group())
                self.pos = match.end()
            self.skip_blank(newlines=False)
            if self.peek() != ".":
                return tuple(parts)
            self.pos += 1

    def basic_string(self) -> None:
        i = self.pos + 1
        while self.text[i] != '"':
            i += 2 if self.text[i] == "\\" else 1
        self.pos = i + 1

    def multiline_string(self, quote: str) -> None:
        i = self.pos + 3
        while not self.text.startswith(quote * 3, i):
            i += 2 if quote == '"' and self.text[i] == "\\" else 1
        i += 3
        # Up to two quotes of the content may sit right before the closing delimiter.
        extra = 0
        while extra < 2 and self.text.startswith(quote, i):
            i += 1
            extra += 1
        self.pos = i

    def value(self, key_path: tuple[str, ...] | None) -> None:
        self.skip_blank(newlines=False)
        c = self.peek()
        if self.peek(3) in ('"""', "'''"):
            self.multiline_string(c)
        elif c == '"':
            self.basic_string()
        elif c == "'":
            self.pos = self.text.index("'", self.pos + 1) + 1
        elif c == "[":
            self.pos += 1
            while True:
                self.skip_blank(newlines=True)
                if self.peek() == "]":
                    self.pos += 1
                    return
                if self.peek() == ",":
                    self.pos += 1
                    continue
                self.value(None)
        elif c == "{":
            self.pos += 1
            while True:
                self.skip_blank(newlines=False)
                if self.peek() == "}":
                    self.pos += 1
                    return
                if self.peek() == ",":
                    self.pos += 1
                    continue
                line = self.line_at(self.pos)
                key = self.key()
                if key_path is not None:
                    self.record(key_path + key, line, definition=False)
                self.skip_blank(newlines=False)
                if self.peek() != "=":
                    raise _Stop
                self.pos += 1
                self.value(None if key_path is None else key_path + key)
        else:
            match = _SCALAR.match(self.text, self.pos)
            if not match:
                raise _Stop
            self.pos = match.end()
