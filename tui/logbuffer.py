"""The log pane's model: bounded scrollback and a filter.

One buffer per thing the pane can show (a watcher's output, or every watcher's): what one
watcher prints never pushes another's lines out. Which buffer is on screen, and how far each
has seen the daemon's streams, is `tui.scrollback`'s.

Plain Python, no Textual. Built for a flood: 10,000 lines a second arrive in a few batches, so
every update costs O(new entries), never O(buffer):

- every entry ever added gets an absolute number; the live ones are `[first, total)`;
- storage is a list whose dead front is dropped in bulk (amortised O(1) trimming), so an
  entry is found by arithmetic, not by searching;
- with a filter, the visible entries are an ascending list of absolute numbers, extended as
  lines arrive and cut at the front with a binary search when the oldest go;
- without one, there is no index at all: visible = live.

The filter is case-insensitive plain text unless the pattern "is a regex": it contains one of
``^ $ * + ? ( ) [ ] { } | \\`` and compiles. So ``err(or)?|fatal`` and ``^GET .* 500$`` are
regexes, while ``a.b`` and a lone ``.`` stay literal (a dot alone is far more often a dot than a
wildcard). A bracketed word of three or more word characters, such as ``[ERROR]`` or
``[warn]``, is a log-level tag and always literal; character classes need a range, a negation,
an escape or at most two characters (``[Ee]rror``, ``[0-9]+``). A pattern that looks like a
regex but does not compile (``(``, ``[0-``), or that only Python 3.11's possessive quantifiers
would accept (``C++``, ``g++``), is matched as plain text, and `filter_error` says why.

The filter sees the line's text only (not its time or watcher name), sanitised and without
colours, exactly as the operator reads it: ``error`` matches ``\\x1b[31mERR\\x1b[0mOR``.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable
from typing import NamedTuple

from tui.sanitize import plain_text

MAX_SPANS = 256  # highlights per line; a one-letter filter on a 64 KiB line must stay cheap

_REGEX_HINT = re.compile(r"[\^$*+?()\[\]{}|\\]")
_BRACKETED_WORD = re.compile(r"(?<!\\)\[\w{3,}\]")
# Python 3.11 reads `C++` as a possessive quantifier; an operator typing it means the language.
_POSSESSIVE = re.compile(r"(?<!\\)[*+?}]\+")


class LogEntry(NamedTuple):
    # A tuple: ten thousand arrive a second, and tuples are the cheapest objects to build.
    seq: int  # per-watcher sequence number from the daemon
    time: float
    watcher: str
    pid: int
    stream: str  # "stdout" | "stderr" | "note": the console's own remark (lines skipped)
    text: str  # as received (decoded, NOT yet sanitised)
    partial: bool = False


def compile_filter(pattern: str) -> tuple[re.Pattern[str], bool, str | None]:
    """(compiled pattern, is it a regex, why a regex-looking pattern was taken literally)."""
    literal = re.compile(re.escape(pattern), re.IGNORECASE)
    if not _REGEX_HINT.search(_BRACKETED_WORD.sub("", pattern)):
        return literal, False, None
    source = _BRACKETED_WORD.sub(lambda tag: re.escape(tag.group()), pattern)
    if _POSSESSIVE.search(source):
        return literal, False, "not a regex (multiple repeat): matching as text"
    try:
        return re.compile(source, re.IGNORECASE), True, None
    except re.error as error:
        return literal, False, f"not a regex ({error.msg}): matching as text"
    except RecursionError:
        return literal, False, "regex too deeply nested: matching as text"


class LogBuffer:
    def __init__(self, maxlen: int = 20_000) -> None:
        if maxlen < 1:
            raise ValueError("maxlen must be at least 1")
        self.maxlen = maxlen
        self.generation = 0
        self.filter_error: str | None = None
        self._entries: list[LogEntry] = []
        self._offset = 0  # absolute number of _entries[0]
        self._first = 0  # absolute number of the oldest live entry
        self._total = 0  # absolute number the next entry will get
        # Absolute numbers of the visible entries, ascending, from _vis[_vis_head]; None when
        # nothing is filtered (every live entry is visible).
        self._vis: list[int] | None = None
        self._vis_head = 0
        self._pattern: str | None = None
        self._regex: re.Pattern[str] | None = None
        self._is_regex = False
        self._watchers: set[str] = set()

    # -- reading ------------------------------------------------------------------------

    @property
    def pattern(self) -> str | None:
        return self._pattern

    @property
    def is_regex(self) -> bool:
        return self._is_regex

    @property
    def watchers(self) -> frozenset[str]:
        """Every watcher name seen since the last `clear` (for the name column's width)."""
        return frozenset(self._watchers)

    @property
    def total(self) -> int:
        """Entries ever added: the absolute number the next one will get."""
        return self._total

    def __len__(self) -> int:
        if self._vis is None:
            return self._total - self._first
        return len(self._vis) - self._vis_head

    def visible_number(self, index: int) -> int:
        """The absolute number of the index-th visible entry: a key no other entry ever gets."""
        if not 0 <= index < len(self):
            raise IndexError(index)
        if self._vis is None:
            return self._first + index
        return self._vis[self._vis_head + index]

    def visible(self, index: int) -> LogEntry:
        return self._entries[self.visible_number(index) - self._offset]

    def position(self, number: int) -> int:
        """Index of the first visible entry whose absolute number is `number` or later: where a
        view keeps its place when lines are trimmed or the filter changes."""
        if self._vis is None:
            return min(max(0, number - self._first), len(self))
        return bisect_left(self._vis, number, lo=self._vis_head) - self._vis_head

    def spans(self, display: str) -> list[tuple[int, int]]:
        """Non-empty filter matches in an already sanitised display text."""
        if self._regex is None:
            return []
        found: list[tuple[int, int]] = []
        for match in self._regex.finditer(display):
            start, end = match.span()
            if end > start:
                found.append((start, end))
                if len(found) >= MAX_SPANS:
                    break
        return found

    def matches(self, entry: LogEntry) -> list[tuple[int, int]]:
        """Spans of filter matches in the entry's sanitised display text, for highlighting."""
        if self._regex is None:
            return []
        return self.spans(plain_text(entry.text))

    # -- changing -----------------------------------------------------------------------

    def extend(self, entries: Iterable[LogEntry]) -> None:
        batch = entries if isinstance(entries, list) else list(entries)
        if not batch:
            return
        start = self._total
        self._entries.extend(batch)
        self._total += len(batch)
        self._watchers.update({entry.watcher for entry in batch})
        if self._vis is not None:
            # Entries that will be trimmed at once need no filtering.
            skip = max(0, len(batch) - self.maxlen)
            accept = self._acceptor()
            self._vis.extend(
                [number for number, entry in enumerate(batch[skip:], start + skip) if accept(entry)]
            )
        self._trim()

    def clear(self) -> None:
        """Forget every entry (the filter stays)."""
        self._entries = []
        self._offset = self._first = self._total
        if self._vis is not None:
            self._vis = []
        self._vis_head = 0
        self._watchers = set()
        self.generation += 1

    def set_filter(self, pattern: str | None) -> None:
        pattern = pattern or None
        if pattern == self._pattern:
            return
        previous, was_regex = self._pattern, self._is_regex
        self._pattern = pattern
        if pattern is None:
            self._regex, self._is_regex, self.filter_error = None, False, None
        else:
            self._regex, self._is_regex, self.filter_error = compile_filter(pattern)
        # Typing a plain filter one key at a time only narrows it: what matches the longer text
        # matched the shorter one, so only the currently visible entries need another look.
        narrowing = (
            previous is not None
            and pattern is not None
            and not was_regex
            and not self._is_regex
            and previous in pattern
            and self._vis is not None
        )
        if narrowing:
            self._refilter_visible()
        else:
            self._rebuild()

    # -- internals ----------------------------------------------------------------------

    def _acceptor(self) -> Callable[[LogEntry], bool]:
        assert self._regex is not None
        search = self._regex.search
        return lambda entry: search(plain_text(entry.text)) is not None

    def _rebuild(self) -> None:
        self.generation += 1
        if self._regex is None:
            self._vis, self._vis_head = None, 0
            return
        accept = self._acceptor()
        entries, offset = self._entries, self._offset
        self._vis = [
            number for number in range(self._first, self._total) if accept(entries[number - offset])
        ]
        self._vis_head = 0

    def _refilter_visible(self) -> None:
        assert self._vis is not None
        self.generation += 1
        accept = self._acceptor()
        entries, offset = self._entries, self._offset
        self._vis = [
            number for number in self._vis[self._vis_head :] if accept(entries[number - offset])
        ]
        self._vis_head = 0

    def _trim(self) -> None:
        excess = self._total - self._first - self.maxlen
        if excess <= 0:
            return
        self._first += excess
        if self._vis is None:
            self.generation += 1
        else:
            head = bisect_left(self._vis, self._first, lo=self._vis_head)
            if head != self._vis_head:
                self.generation += 1
                self._vis_head = head
            # Drop the dead front in bulk, once it is a third of what is kept: amortised O(1)
            # per trimmed entry, and memory stays within a third above the bound.
            if self._vis_head > 1024 and self._vis_head * 4 > len(self._vis):
                del self._vis[: self._vis_head]
                self._vis_head = 0
        dead = self._first - self._offset
        if dead > 1024 and dead * 4 > len(self._entries):
            del self._entries[:dead]
            self._offset = self._first
