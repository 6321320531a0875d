"""Watcher name patterns for `match` (`start`, `stop`, `restart`): globs and regexes.

A regex is not run by `re`: a backtracking engine takes exponential time on patterns such as
`(a|a)*b`, or `a*a*a*a*a*a*a*a*b`, against a name of 36 `a`s, and one request would hang the
daemon. Here a regex (Python's syntax, a subset of it) becomes a small automaton that follows
every alternative at once: a match costs at most (name length x automaton states), both
bounded, whatever the pattern.

Standard library only.
"""

from __future__ import annotations

import fnmatch
import re
import warnings
from collections.abc import Callable
from typing import Final

MAX_PATTERN: Final = 256  # characters; names are at most 100
MAX_STATES: Final = 512  # at most ~30 ms for a name of 100 characters


class PatternError(ValueError):
    """A pattern refused: not valid, not supported, or too large."""


def glob_matcher(pattern: str) -> Callable[[str], bool]:
    """Shell patterns (`*`, `?`, `[abc]`) against the whole name, ignoring case."""
    if len(pattern) > MAX_PATTERN:
        raise PatternError(f"longer than {MAX_PATTERN} characters")
    folded = pattern.lower()
    return lambda name: fnmatch.fnmatchcase(name.lower(), folded)


def regex_matcher(pattern: str) -> Callable[[str], bool]:
    """A regex that must match the whole name, ignoring case; raises PatternError."""
    if len(pattern) > MAX_PATTERN:
        raise PatternError(f"longer than {MAX_PATTERN} characters")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "possible nested set" and the like
            re.compile(pattern)
    except re.error as exc:
        # Python's own wording for what Python would refuse too.
        raise PatternError(str(exc)) from None
    return _Automaton(_Parser(pattern).parse()).fullmatch


# -- parsing: Python's syntax for the constructs we support --------------------------------

# A node: ("char", test) | ("seq", [nodes]) | ("alt", [nodes]) | ("repeat", node, low, high)
# | ("start",) | ("end",), with `high` None for no upper bound.
Node = tuple
CharTest = Callable[[str], bool]

_COUNT = re.compile(r"\{([0-9]*)(?:(,)([0-9]*))?\}")
_CATEGORIES: Final[dict[str, CharTest]] = {
    "d": str.isdecimal,
    "D": lambda c: not c.isdecimal(),
    "w": lambda c: c.isalnum() or c == "_",
    "W": lambda c: not (c.isalnum() or c == "_"),
    "s": str.isspace,
    "S": lambda c: not c.isspace(),
}
_CONTROL_ESCAPES: Final = {"a": "\a", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_GROUP_KINDS: Final = {
    "?=": "lookahead (?=…)",
    "?!": "lookahead (?!…)",
    "?<=": "lookbehind (?<=…)",
    "?<!": "lookbehind (?<!…)",
    "?P=": "backreference (?P=…)",
    "?>": "atomic group (?>…)",
    "?#": "comment (?#…)",
    "?(": "conditional (?(…)…)",
}


def _variants(ch: str) -> tuple[str, ...]:
    # What IGNORECASE compares: the character and its single-character case mappings.
    return tuple(v for v in (ch, ch.lower(), ch.upper()) if len(v) == 1)


def _literal(ch: str) -> Node:
    folded = set(_variants(ch))
    return ("char", lambda c: c == ch or not folded.isdisjoint(_variants(c)))


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def _peek(self, size: int = 1) -> str:
        return self.text[self.pos : self.pos + size]

    def _take(self) -> str:
        ch = self._peek()
        self.pos += 1
        return ch

    def parse(self) -> Node:
        node = self._alternation()
        if self.pos < len(self.text):  # re.compile has refused an unbalanced `)` already
            raise PatternError(f"unbalanced parenthesis at position {self.pos}")
        return node

    def _alternation(self) -> Node:
        branches = [self._sequence()]
        while self._peek() == "|":
            self.pos += 1
            branches.append(self._sequence())
        return branches[0] if len(branches) == 1 else ("alt", branches)

    def _sequence(self) -> Node:
        items: list[Node] = []
        while self._peek() not in ("", "|", ")"):
            items.append(self._quantified(self._atom()))
        return ("seq", items)

    def _quantified(self, atom: Node) -> Node:
        ch = self._peek()
        if ch in ("*", "+", "?"):
            self.pos += 1
            low, high = {"*": (0, None), "+": (1, None), "?": (0, 1)}[ch]
        elif ch == "{" and (count := _COUNT.match(self.text, self.pos)) and count[0] != "{}":
            self.pos = count.end()
            low = int(count[1] or 0)
            high = (int(count[3]) if count[3] else None) if count[2] else low
        else:
            return atom
        if self._peek() == "+":
            raise PatternError("possessive repeats (*+, ++, ?+) are not supported")
        if self._peek() == "?":
            self.pos += 1  # lazy: the same names match
        if max(low, high or 0) > MAX_STATES:
            raise PatternError("too complex")
        return ("repeat", atom, low, high)

    def _atom(self) -> Node:
        ch = self._take()
        if ch == "(":
            return self._group()
        if ch == "[":
            return self._class()
        if ch == ".":
            return ("char", lambda c: c != "\n")
        if ch == "^":
            return ("start",)
        if ch == "$":
            return ("end",)
        if ch == "\\":
            return self._escape()
        return _literal(ch)

    def _group(self) -> Node:
        if self._peek(2) == "?:":
            self.pos += 2
        elif self._peek(3) == "?P<":
            self.pos = self.text.index(">", self.pos) + 1
        elif self._peek() == "?":
            for prefix, kind in _GROUP_KINDS.items():
                if self.text.startswith(prefix, self.pos):
                    raise PatternError(f"{kind} is not supported")
            raise PatternError("inline flags (?…) are not supported")
        node = self._alternation()
        if self._take() != ")":
            raise PatternError(f"missing ) at position {self.pos}")
        return node

    def _escape(self) -> Node:
        ch = self._take()
        if ch in _CATEGORIES:
            return ("char", _CATEGORIES[ch])
        if ch == "A":
            return ("start",)
        if ch == "Z":
            return ("end",)
        return _literal(self._escaped_char(ch))

    def _escaped_char(self, ch: str) -> str:
        if ch in _CONTROL_ESCAPES:
            return _CONTROL_ESCAPES[ch]
        if ch.isdigit():
            raise PatternError(f"backreference \\{ch} is not supported")
        if ch.isascii() and ch.isalpha():
            raise PatternError(f"escape \\{ch} is not supported")
        return ch

    def _class(self) -> Node:
        negate = self._peek() == "^"
        if negate:
            self.pos += 1
        singles: set[str] = set()
        ranges: list[tuple[str, str]] = []
        tests: list[CharTest] = []
        first = True
        while True:
            ch = self._take()
            if ch == "":
                raise PatternError("unterminated character set")
            if ch == "]" and not first:
                break
            first = False
            if ch == "\\":
                item = self._take()
                if item in _CATEGORIES:
                    tests.append(_CATEGORIES[item])
                    continue
                # In a set, \b is a backspace, as in Python.
                ch = "\b" if item == "b" else self._escaped_char(item)
            if self._peek() == "-" and self._peek(2)[1:] not in ("]", ""):
                self.pos += 1
                high = self._take()
                if high == "\\":
                    high = self._escaped_char(self._take())
                ranges.append((ch, high))
            else:
                singles.add(ch)

        def member(c: str) -> bool:
            return any(
                v in singles or any(lo <= v <= hi for lo, hi in ranges) or any(t(v) for t in tests)
                for v in _variants(c)
            )

        return ("char", (lambda c: not member(c)) if negate else member)


# -- matching: every alternative followed at once ------------------------------------------

_CHAR, _SPLIT, _START, _END, _MATCH = range(5)


def _never(ch: str) -> bool:
    return False


class _Automaton:
    """A Thompson automaton: `_CHAR` states consume one character, the others none."""

    def __init__(self, node: Node) -> None:
        self.kinds: list[int] = []
        self.tests: list[CharTest] = []
        self.outs: list[list[int]] = []
        self.start = self._build(node, self._add(_MATCH, []))

    def _add(self, kind: int, outs: list[int], test: CharTest = _never) -> int:
        if len(self.kinds) >= MAX_STATES:
            raise PatternError("too complex")
        self.kinds.append(kind)
        self.tests.append(test)
        self.outs.append(outs)
        return len(self.kinds) - 1

    def _build(self, node: Node, after: int) -> int:
        """The state that matches `node` and then goes on to `after`; built backwards."""
        kind = node[0]
        if kind == "char":
            return self._add(_CHAR, [after], node[1])
        if kind == "seq":
            for item in reversed(node[1]):
                after = self._build(item, after)
            return after
        if kind == "alt":
            return self._add(_SPLIT, [self._build(branch, after) for branch in node[1]])
        if kind in ("start", "end"):
            return self._add(_START if kind == "start" else _END, [after])
        _, item, low, high = node
        if high is None:
            loop = self._add(_SPLIT, [])
            self.outs[loop] = [self._build(item, loop), after]
            tail = loop
        else:
            tail = after
            for _ in range(high - low):
                tail = self._add(_SPLIT, [self._build(item, tail), after])
        for _ in range(low):
            tail = self._build(item, tail)
        return tail

    def _closure(self, states: list[int], position: int, length: int) -> list[int]:
        """The consuming states (and the match) reachable from `states` without reading."""
        found: list[int] = []
        seen: set[int] = set()
        stack = list(reversed(states))
        while stack:
            state = stack.pop()
            if state in seen:
                continue
            seen.add(state)
            kind = self.kinds[state]
            if kind in (_CHAR, _MATCH):
                found.append(state)
            elif kind == _SPLIT:
                stack.extend(reversed(self.outs[state]))
            elif (kind == _START and position == 0) or (kind == _END and position == length):
                stack.append(self.outs[state][0])
        return found

    def fullmatch(self, text: str) -> bool:
        length = len(text)
        current = self._closure([self.start], 0, length)
        for position, ch in enumerate(text, 1):
            moved = [
                self.outs[s][0] for s in current if self.kinds[s] == _CHAR and self.tests[s](ch)
            ]
            if not moved:
                return False
            current = self._closure(moved, position, length)
        return any(self.kinds[s] == _MATCH for s in current)
