"""`match` picks watchers by glob, exact name or regex; no pattern can make the daemon hang."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.matching import PatternError, regex_matcher
from tests.conftest import RunningDaemon

LONG_A = "a" * 36
# Each is exponential (or of a high polynomial degree) for a backtracking engine on 36 `a`s.
HOSTILE = ["(a|a)*b", "(a*)*b", "(a+)+b", "a*" * 12 + "b", "(a|a)" * 36 + "b", ".*" * 20 + "b"]


@pytest.fixture
def named_a(daemon_factory: Any) -> RunningDaemon:
    return daemon_factory(
        f'[watchers.{LONG_A}]\ncmd = "sleep 1000"\n[watchers.web1]\ncmd = "sleep 1000"\n'
        '[watchers.web2]\ncmd = "sleep 1000"\n'
    )


@pytest.mark.parametrize("pattern", HOSTILE, ids=range(len(HOSTILE)))
@pytest.mark.parametrize("command", ["start", "stop", "restart"])
def test_a_hostile_regex_is_answered_at_once(
    named_a: RunningDaemon, command: str, pattern: str
) -> None:
    started = time.monotonic()
    reply = named_a.call(command, timeout=5.0, name=pattern, match="regex")
    assert reply["status"] == "error" and reply["errno"] == 3, reply
    assert reply["reason"] == f"program {pattern} not found"
    assert time.monotonic() - started < 1.0
    assert named_a.call("status", name=LONG_A)["status"] == "active"


def test_status_takes_no_pattern(named_a: RunningDaemon) -> None:
    # As in Circus, `status` names one watcher exactly: a pattern is just an unknown name.
    reply = named_a.call("status", timeout=5.0, name="(a|a)*b", match="regex")
    assert reply["errno"] == 3 and reply["reason"] == "program (a|a)*b not found"


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("web[0-9]", ["web1", "web2"]),
        ("WEB1|a+", [LONG_A, "web1"]),
        ("^(?:web)?2$", ["web2"]),
        (r"\w{36}", [LONG_A]),
        ("(a|a)*", [LONG_A]),
        ("we.", None),  # the whole name must match
    ],
)
def test_a_regex_matches_whole_names_ignoring_case(
    named_a: RunningDaemon, pattern: str, expected: list[str] | None
) -> None:
    reply = named_a.call("stop", name=pattern, match="regex", waiting=True)
    if expected is None:
        assert reply["errno"] == 3, reply
        return
    assert reply["status"] == "ok", reply
    states = named_a.call("status")["statuses"]
    assert sorted(n for n, s in states.items() if s == "stopped") == expected


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("(", "bad regex: missing ), unterminated subpattern at position 0"),
        ("a" * 257, "bad regex: longer than 256 characters"),
        ("(?=a)a", "bad regex: lookahead (?=…) is not supported"),
        (r"(a)\1", r"bad regex: backreference \1 is not supported"),
        ("(?:a{100}){100}", "bad regex: too complex"),
    ],
    ids=["syntax", "length", "lookahead", "backreference", "size"],
)
def test_a_refused_regex_is_errno_3(named_a: RunningDaemon, pattern: str, reason: str) -> None:
    reply = named_a.call("start", name=pattern, match="regex")
    assert reply["status"] == "error" and reply["errno"] == 3, reply
    assert reply["reason"] == reason


def test_a_glob_longer_than_256_characters_is_errno_3(named_a: RunningDaemon) -> None:
    reply = named_a.call("stop", name="*" * 257)
    assert reply["errno"] == 3 and reply["reason"] == "bad glob: longer than 256 characters"
    assert named_a.call("stop", name="web*", waiting=True)["status"] == "ok"


# -- the automaton against Python's own engine --------------------------------------------

NAME_CHARS = "abAB_-19é"
atoms = st.sampled_from(
    ["a", "b", "A", "é", "É", "_", "-", "1", ".", r"\d", r"\w", r"\W", r"\-", "[ab]", "[^a]",
     "[a-c]", "[^A-B_]", r"[\d-]", "[]a]", "{", "x{", "{}", "^", "$", r"\A", r"\Z"]
)  # fmt: skip


def _pattern(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    groups = children.map(lambda p: f"({p})") | children.map(lambda p: f"(?:{p})")
    quantifier = st.sampled_from(["*", "+", "?", "{2}", "{1,3}", "{,2}", "{2,}", "*?", "{0}"])
    # Only what Python can repeat: an anchor cannot be, and `a*+` would be possessive.
    repeatable = atoms.filter(lambda a: a not in ("^", "$", r"\A", r"\Z")) | groups
    quantified = st.tuples(repeatable, quantifier).map("".join)
    sequences = st.lists(children, min_size=2, max_size=3).map("".join)
    alternations = st.lists(children, min_size=2, max_size=3).map("|".join)
    return quantified | groups | sequences | alternations


patterns = st.recursive(atoms, _pattern, max_leaves=8)


@settings(max_examples=400, deadline=None)
@given(pattern=patterns, names=st.lists(st.text(NAME_CHARS, max_size=8), max_size=6))
def test_the_automaton_agrees_with_python_re(pattern: str, names: list[str]) -> None:
    try:
        expected = re.compile(pattern, re.IGNORECASE)
    except re.error:
        return  # e.g. a repeated empty group that Python refuses: ours is refused too
    matches = regex_matcher(pattern)
    for name in [*names, "", "a", "ab", "aB1"]:
        assert matches(name) == bool(expected.fullmatch(name)), (pattern, name)


@pytest.mark.parametrize("pattern", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_patterns_cost_little_on_the_longest_names(pattern: str) -> None:
    matches = regex_matcher(pattern)
    started = time.perf_counter()
    assert not matches("a" * 100)
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize(
    "pattern", ["(?i)a", "(?#c)a", "(?>a)", "a*+", r"\ba", r"\x41", "(?P<n>a)(?P=n)"]
)
def test_constructs_beyond_the_subset_are_refused(pattern: str) -> None:
    with pytest.raises(PatternError):
        regex_matcher(pattern)
