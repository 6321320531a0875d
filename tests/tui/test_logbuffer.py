"""The log pane's model: filter, bounded scrollback, all incremental."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from tui.logbuffer import LogBuffer, LogEntry, compile_filter
from tui.sanitize import plain_text


def entry(text: str, watcher: str = "web", seq: int = 0, stream: str = "stdout") -> LogEntry:
    return LogEntry(seq=seq, time=0.0, watcher=watcher, pid=1, stream=stream, text=text)


def texts(buffer: LogBuffer) -> list[str]:
    return [buffer.visible(i).text for i in range(len(buffer))]


def test_entries_in_order_and_the_watchers_seen() -> None:
    buffer = LogBuffer()
    buffer.extend([entry("a1", "a"), entry("b1", "b"), entry("a2", "a")])
    assert texts(buffer) == ["a1", "b1", "a2"]
    assert buffer.watchers == {"a", "b"}


def test_plain_filter_is_case_insensitive_and_literal() -> None:
    buffer = LogBuffer()
    buffer.extend([entry("Disk FULL"), entry("all fine"), entry("a.b"), entry("axb")])
    buffer.set_filter("full")
    assert texts(buffer) == ["Disk FULL"]
    assert not buffer.is_regex
    buffer.set_filter("a.b")  # a dot alone does not make a regex
    assert texts(buffer) == ["a.b"]
    buffer.set_filter(".")
    assert texts(buffer) == ["a.b"]


def test_regex_filter_when_it_is_one() -> None:
    buffer = LogBuffer()
    lines = ["GET /a 200", "GET /b 500", "POST /c 500", "fatal: x", "Errors: 2", "erro"]
    buffer.extend([entry(t) for t in lines])
    buffer.set_filter("err(or)?s?:|FATAL")
    assert buffer.is_regex and buffer.filter_error is None
    assert texts(buffer) == ["fatal: x", "Errors: 2"]
    buffer.set_filter("^GET .* 500$")
    assert texts(buffer) == ["GET /b 500"]


def test_a_pattern_that_does_not_compile_is_matched_as_text() -> None:
    buffer = LogBuffer()
    buffer.extend([entry("g++ and C++"), entry("C")])
    buffer.set_filter("C++")
    assert texts(buffer) == ["g++ and C++"]
    assert not buffer.is_regex
    assert buffer.filter_error is not None and "multiple repeat" in buffer.filter_error
    buffer.set_filter(None)
    assert buffer.filter_error is None
    assert len(buffer) == 2


def test_bracketed_level_tags_are_literal() -> None:
    buffer = LogBuffer()
    buffer.extend([entry("[ERROR] boom"), entry("error"), entry("R"), entry("Error 7")])
    buffer.set_filter("[ERROR]")
    assert texts(buffer) == ["[ERROR] boom"]
    buffer.set_filter("[ERROR].*boom")
    assert buffer.is_regex
    assert texts(buffer) == ["[ERROR] boom"]
    buffer.set_filter("[Ee]rror [0-9]")
    assert texts(buffer) == ["Error 7"]
    assert compile_filter(r"\[abc]")[0].pattern == r"\[abc]"


def test_filter_applies_to_backlog_and_new_lines_and_sees_the_sanitised_text() -> None:
    buffer = LogBuffer()
    buffer.extend([entry("\x1b[31mERR\x1b[0mOR one"), entry("ok")])
    buffer.set_filter("error")  # matches across the colour change, as the operator reads it
    assert len(buffer) == 1
    buffer.extend([entry("error two"), entry("fine"), entry("ERROR three", "db")])
    assert texts(buffer) == ["\x1b[31mERR\x1b[0mOR one", "error two", "ERROR three"]
    buffer.set_filter("31m")  # escape sequences are not text
    assert len(buffer) == 0


def test_matches_are_spans_of_the_display_text() -> None:
    buffer = LogBuffer()
    line = entry("\x1b[1mwarn\x1b[0m:\tWARN again")
    assert buffer.matches(line) == []
    buffer.set_filter("warn")
    display = plain_text(line.text)
    spans = buffer.matches(line)
    assert [display[s:e] for s, e in spans] == ["warn", "WARN"]
    buffer.set_filter("x*")  # empty matches are not highlighted
    assert buffer.matches(line) == []


def test_trimming_keeps_indices_and_numbers_right() -> None:
    buffer = LogBuffer(maxlen=5)
    buffer.extend([entry(f"line {i}") for i in range(8)])
    assert texts(buffer) == [f"line {i}" for i in range(3, 8)]
    assert buffer.visible_number(0) == 3
    buffer.set_filter("line 1")
    buffer.extend([entry(f"line {i}") for i in range(8, 12)])
    assert texts(buffer) == ["line 10", "line 11"]
    buffer.extend([entry("x")] * 4)
    assert texts(buffer) == ["line 11"]
    assert buffer.visible_number(0) == 11
    assert buffer.position(11) == 0
    assert buffer.position(12) == 1
    assert buffer.position(0) == 0


def test_a_batch_larger_than_the_buffer() -> None:
    buffer = LogBuffer(maxlen=3)
    buffer.set_filter("keep")
    buffer.extend([entry(f"keep {i}") for i in range(10)])
    assert texts(buffer) == ["keep 7", "keep 8", "keep 9"]


def test_generation_bumps_when_rendered_lines_are_invalid() -> None:
    buffer = LogBuffer(maxlen=3)
    seen = buffer.generation
    buffer.extend([entry("a"), entry("b")])
    assert buffer.generation == seen  # appending alone invalidates nothing
    for change in (
        lambda: buffer.set_filter("a"),
        lambda: buffer.extend([entry("a")] * 3),  # trims a visible entry
        buffer.clear,
    ):
        change()
        assert buffer.generation > seen
        seen = buffer.generation
    buffer.set_filter("a")  # unchanged: nothing to invalidate
    assert buffer.generation == seen
    assert len(buffer) == 0


def test_clear_keeps_the_filter_and_forgets_the_watchers() -> None:
    buffer = LogBuffer()
    buffer.set_filter("x")
    buffer.extend([entry("x1"), entry("x2", "db")])
    buffer.clear()
    assert len(buffer) == 0 and buffer.watchers == set()
    buffer.extend([entry("x3"), entry("y")])
    assert texts(buffer) == ["x3"]


def best_batch_seconds(buffer: LogBuffer, batch: list[LogEntry]) -> float:
    """The fastest of several timed appends: the least disturbed by other work on the box."""
    times = []
    for _ in range(15):
        started = time.perf_counter()
        buffer.extend(batch)
        times.append(time.perf_counter() - started)
    return min(times)


def test_appending_costs_the_new_entries_not_the_buffer() -> None:
    batch = [entry(f"line {i} error" if i % 7 == 0 else f"line {i}") for i in range(2_500)]
    large = LogBuffer(maxlen=200_000)
    large.set_filter("err(or)?")
    large.extend(batch * 80)  # full: every append also trims
    small = LogBuffer(maxlen=5_000)
    small.set_filter("err(or)?")
    small.extend(batch * 2)
    # A buffer 40 times larger costs about the same per batch (generous bound for noisy CI).
    assert best_batch_seconds(large, batch) < 3 * best_batch_seconds(small, batch) + 0.002
    assert best_batch_seconds(large, batch) < 0.025  # 2,500 lines: well within a UI tick


def test_narrowing_a_plain_filter_only_rechecks_visible_entries() -> None:
    buffer = LogBuffer()
    buffer.extend([entry("error one"), entry("error two"), entry("ok")])
    buffer.set_filter("err")
    buffer.set_filter("error t")
    assert texts(buffer) == ["error two"]
    buffer.set_filter("error")  # widening goes back to the whole buffer
    assert texts(buffer) == ["error one", "error two"]


# -- a model check: incremental maintenance against a brute-force recomputation -------------

WATCHERS = ["web", "db", "worker"]
WORDS = ["error", "Error", "ok", "GET", "500", "\x1b[31mred\x1b[0m", "tab\tbed", "a.b"]
PATTERNS = [None, "", "error", "ERR", "a.b", "err(or)?|500", "^GET", "[0-9]+$", "C++", "t b"]


class BufferModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.maxlen = 7
        self.buffer = LogBuffer(maxlen=self.maxlen)
        self.all: list[LogEntry] = []
        self.cleared_at = 0

    @rule(
        lines=st.lists(
            st.tuples(st.sampled_from(WATCHERS), st.lists(st.sampled_from(WORDS), max_size=3)),
            max_size=12,
        )
    )
    def extend(self, lines: list[tuple[str, list[str]]]) -> None:
        batch = [entry(" ".join(words), watcher) for watcher, words in lines]
        self.all.extend(batch)
        self.buffer.extend(iter(batch))  # any iterable will do

    @rule(pattern=st.sampled_from(PATTERNS))
    def filter(self, pattern: str | None) -> None:
        self.buffer.set_filter(pattern)

    @rule()
    def clear(self) -> None:
        self.buffer.clear()
        self.cleared_at = len(self.all)

    @invariant()
    def visible_equals_brute_force(self) -> None:
        live = self.all[self.cleared_at :][-self.maxlen :]
        pattern = self.buffer.pattern
        regex = compile_filter(pattern)[0] if pattern else None
        expected = [e for e in live if regex is None or regex.search(plain_text(e.text))]
        assert len(self.buffer) == len(expected)
        assert [self.buffer.visible(i) for i in range(len(self.buffer))] == expected
        numbers = [self.buffer.visible_number(i) for i in range(len(self.buffer))]
        assert numbers == sorted(set(numbers))
        assert [self.buffer.position(n) for n in numbers] == list(range(len(numbers)))


TestBufferModel = BufferModel.TestCase
TestBufferModel.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)


@given(st.lists(st.integers(min_value=0, max_value=40), max_size=30))
@settings(max_examples=100, deadline=None)
def test_compaction_never_loses_entries(sizes: list[int]) -> None:
    buffer = LogBuffer(maxlen=50)
    buffer.set_filter("keep")
    everything: list[LogEntry] = []
    n = 0
    for size in sizes:
        batch = [entry(f"keep {n + i}" if (n + i) % 3 else f"drop {n + i}") for i in range(size)]
        n += size
        everything.extend(batch)
        buffer.extend(batch)
    expected = [e for e in everything[-50:] if "keep" in e.text]
    assert texts(buffer) == [e.text for e in expected]
