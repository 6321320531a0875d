"""daemon.checks: each value rule on its own (the rules every path shares; see
test_rule_agreement.py for the config, the wire and convert agreeing on them)."""

from __future__ import annotations

import signal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon import checks
from daemon.checks import CheckError


def refusal(rule: checks.Rule, value: Any) -> str:
    with pytest.raises(ValueError) as info:
        rule(value)
    return str(info.value)


def test_check_names_the_key_and_keeps_the_message() -> None:
    with pytest.raises(CheckError) as info:
        checks.check("respawn", checks.boolean, "maybe")
    assert (info.value.key, info.value.message) == ("respawn", "expected true or false")
    assert str(info.value) == "respawn: expected true or false"
    assert isinstance(info.value, ValueError)
    assert checks.check("respawn", checks.boolean, "Yes") is True


# -- booleans ----------------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["true", "yes", "on", "1", " TRUE ", "Yes", "ON"])
def test_every_word_for_true(word: str) -> None:
    assert checks.boolean(word) is True
    assert checks.is_true(word)


@pytest.mark.parametrize("word", ["false", "no", "off", "0", " False", "NO", "Off "])
def test_every_word_for_false(word: str) -> None:
    assert checks.boolean(word) is False
    assert not checks.is_true(word)


@pytest.mark.parametrize("value", ["maybe", "", "y", "t", "2", 2, -1, 0.0, None, [True]])
def test_anything_else_is_not_a_boolean(value: Any) -> None:
    assert refusal(checks.boolean, value) == "expected true or false"


def test_booleans_and_zero_or_one() -> None:
    assert checks.boolean(True) is True and checks.boolean(False) is False
    assert checks.boolean(1) is True and checks.boolean(0) is False


def test_a_typed_boolean_takes_only_a_boolean() -> None:
    assert checks.typed_boolean(True) is True
    for value in ("yes", "true", 1, 0):
        assert refusal(checks.typed_boolean, value) == "expected true or false"


def test_is_true_reads_an_unknown_word_as_false() -> None:
    assert not checks.is_true("maybe") and not checks.is_true("")


# -- integers ----------------------------------------------------------------------------------


def test_integers_from_text_and_numbers() -> None:
    rule = checks.integer()
    assert [rule(v) for v in (7, "7", " 7 ", "-7", "+7", "007", 7.0)] == [7, 7, 7, -7, 7, 7, 7]


@pytest.mark.parametrize("value", ["1_0", "٣", "²", "7.5", "1e3", "", "0x10", 7.5, True, None])
def test_what_is_not_an_integer(value: Any) -> None:
    assert refusal(checks.integer(), value) == "expected an integer"


def test_integer_bounds() -> None:
    rule = checks.integer(0, 65535)
    assert rule("0") == 0 and rule(65535) == 65535
    assert refusal(rule, -1) == "must be at least 0"
    assert refusal(rule, "65536") == "must be at most 65535"
    # An int bound is spelled out, never as 6.87195e+10.
    assert refusal(checks.integer(0, 1 << 36), 1 << 37) == "must be at most 68719476736"


def test_a_typed_integer_takes_only_an_integer() -> None:
    rule = checks.integer(0, 10, typed=True)
    assert rule(3) == 3
    for value in ("3", 3.0, True):
        assert refusal(rule, value) == "expected an integer"


def test_a_huge_integer_text_is_refused_without_converting_it() -> None:
    assert refusal(checks.integer(), "9" * 5000) == "number too large"
    assert refusal(checks.integer(0, 10), "9" * 300) == "must be at most 10"


@given(st.integers(-(10**30), 10**30))
def test_the_text_of_any_integer_reads_back(number: int) -> None:
    assert checks.integer()(str(number)) == number


# -- seconds -----------------------------------------------------------------------------------


def test_seconds_from_text_and_numbers() -> None:
    rule = checks.seconds(0, 86400)
    assert [rule(v) for v in (0, "2.5", " 30 ", 1e3, 86400)] == [0.0, 2.5, 30.0, 1000.0, 86400.0]
    assert isinstance(rule(3), float)


@pytest.mark.parametrize("value", ["nan", float("nan"), "soon", "", "٣", True, None, [1]])
def test_what_is_not_a_number(value: Any) -> None:
    assert refusal(checks.seconds(0, 10), value) == "expected a number"


def test_seconds_bounds() -> None:
    rule = checks.seconds(0, 86400)
    assert refusal(rule, -0.5) == "must be at least 0"
    assert refusal(rule, "inf") == "must be at most 86400"
    assert refusal(rule, 10**400) == "number too large"
    above = checks.seconds(0, 3600, above=True)
    assert refusal(above, 0) == "must be more than 0"
    assert above(0.01) == 0.01


def test_typed_seconds_refuse_text() -> None:
    assert refusal(checks.seconds(600, 86400, typed=True), "900") == "expected a number"


# -- text, paths, command lines ------------------------------------------------------------------


def test_paths() -> None:
    assert checks.path("logs/x.log") == "logs/x.log"
    assert refusal(checks.path, 3) == "expected a string"
    assert refusal(checks.path, "  ") == "expected a path"
    assert refusal(checks.path, "a\0b") == "must not contain a NUL character"
    assert refusal(checks.path, "\ud800") == "cannot be encoded as a file name"
    assert checks.optional_path("") is None and checks.optional_path(None) is None
    assert refusal(checks.optional_path, "a\0b") == "must not contain a NUL character"


def test_command_lines_and_arguments() -> None:
    assert checks.command_line(" python -m app ") == "python -m app"
    assert refusal(checks.command_line, "  ") == "must not be empty"
    assert refusal(checks.command_line, "echo 'open").startswith("cannot be split")
    assert checks.arguments("a 'b c'") == ["a", "b c"]
    assert checks.arguments(["x", "y"]) == ["x", "y"] and checks.arguments(None) == []
    assert refusal(checks.arguments, [1]) == "expected a string or a list of strings"


def test_environment() -> None:
    assert checks.environment({"A": 1, "B": True, "C": "x"}) == {"A": "1", "B": "true", "C": "x"}
    assert refusal(checks.environment, "A=1") == "expected a table of NAME = value"
    assert refusal(checks.environment, {"A=B": "1"}) == "bad variable name 'A=B'"
    assert refusal(checks.environment, {"A": [1]}) == "A: expected a string"


def test_choices_in_any_case_come_back_as_spelled() -> None:
    rule = checks.choice(("AF_INET", "AF_UNIX"))
    assert rule(" af_unix ") == "AF_UNIX"
    assert refusal(rule, "AF_IPX") == "expected one of AF_INET, AF_UNIX"
    assert refusal(rule, 3) == "expected one of AF_INET, AF_UNIX"


def test_umask_and_host() -> None:
    assert checks.umask(0o022) == 0o022 and checks.umask("007") == 0o007
    assert checks.umask("0o777") == 0o777
    assert refusal(checks.umask, 0o1000) == "expected 0o000 to 0o777"
    assert refusal(checks.umask, "8") == 'expected octal digits, like 0o022 or "022"'
    assert refusal(checks.umask, True) == "expected an octal number, like 0o022"
    assert checks.host(" ::1 ") == "::1"
    assert refusal(checks.host, "") == "expected a host name or address"


# -- users, groups, signals ---------------------------------------------------------------------


def test_users_and_groups() -> None:
    assert checks.user("root") == "root" and checks.group("root") == "root"
    assert checks.user("1000") == 1000 and checks.user(0) == 0 and checks.user("") is None
    assert refusal(checks.user, checks.MAX_ID + 1) == "a user id is 0 to 4294967294"
    assert refusal(checks.group, -1) == "a group id is 0 to 4294967294"
    assert refusal(checks.user, "no-such-user-here") == (
        "no such user 'no-such-user-here' on this machine"
    )
    assert refusal(checks.user, True) == "expected a name or a number"


@pytest.mark.parametrize("value", [15, "15", "TERM", "SIGTERM", "sigterm", " term "])
def test_signal_spellings(value: Any) -> None:
    assert checks.signal_number(value) == signal.SIGTERM


def test_bad_signals() -> None:
    assert refusal(checks.signal_number, "SIGFOO") == "unknown signal 'SIGFOO'"
    assert refusal(checks.signal_number, 9999) == "unknown signal number 9999"
    assert refusal(checks.signal_number, "²") == "unknown signal '²'"
    assert refusal(checks.signal_number, True) == "expected a signal name or number"
    assert checks.signal_name(int(signal.SIGQUIT)) == "SIGQUIT"
    assert checks.signal_name(9999) == "9999"


# -- names and endpoints -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("", "must not be empty"),
        ("a.b", "must not contain '.'"),
        ("a b", "must not contain spaces"),
        ("a/b", "must not contain '/'"),
        ("-a", "start with '-'"),
        ("x" * 101, "at most 100 characters"),
        ("Circus", "'Circus' is reserved"),
        ("sockets", "'sockets' is reserved"),
    ],
)
def test_bad_names(value: str, why: str) -> None:
    assert why in refusal(checks.name, value)


def test_names() -> None:
    assert checks.name("web-1_ü") == "web-1_ü"
    assert checks.name("circus", "socket") == "circus"  # reserved for watchers only


@pytest.mark.parametrize(
    "value", ["ipc:///run/x.sock", "tcp://127.0.0.1:5555", "tcp://[::1]:1", "tcp://localhost:9"]
)
def test_good_endpoints(value: str) -> None:
    assert checks.endpoint(f" {value} ") == value


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("ipc://", "needs a path"),
        ("ipc:///" + "x" * 100, "longer than the 100 bytes"),
        ("tcp://localhost", "expected tcp://HOST:PORT"),
        ("tcp://127.0.0.1:0", "bad port '0'"),
        ("tcp://0.0.0.0:5555", "0.0.0.0 is not a loopback address"),
        ("http://127.0.0.1:80", "expected ipc://PATH or tcp://127.0.0.1:PORT"),
        (5555, "expected a string"),
    ],
)
def test_bad_endpoints(value: Any, why: str) -> None:
    assert why in refusal(checks.endpoint, value)


def test_distinct_values() -> None:
    checks.distinct({"endpoint": "a", "pubsub_endpoint": "b"})
    with pytest.raises(CheckError) as info:
        checks.distinct({"endpoint": "a", "pubsub_endpoint": "b", "stats_endpoint": "a"})
    assert str(info.value) == "stats_endpoint: must differ from endpoint"


# -- rules across keys ------------------------------------------------------------------------


def test_backoff_order_blames_the_key_that_was_set() -> None:
    checks.backoff_order(1, 1)
    for changed, key in [((), "backoff_min"), (("backoff_min",), "backoff_min")]:
        with pytest.raises(CheckError) as info:
            checks.backoff_order(100, 60, changed)
        assert info.value.key == key
        assert info.value.message == "backoff_min (100) must not exceed backoff_max (60)"
    with pytest.raises(CheckError) as info:
        checks.backoff_order(0.5, 0.25, ["backoff_max"])
    assert info.value.key == "backoff_max"
    with pytest.raises(CheckError) as info:
        checks.backoff_order(10, 5, ["backoff_max", "backoff_min"])
    assert info.value.key == "backoff_min"


def test_singleton_count() -> None:
    checks.singleton_count(True, 1)
    checks.singleton_count(False, 5)
    with pytest.raises(CheckError) as info:
        checks.singleton_count(True, 2)
    assert str(info.value) == "numprocesses: a singleton watcher runs at most one process"


def test_scaling_targets() -> None:
    assert checks.scaled(3, 2) == 5 and checks.scaled(3, -5) == 0
    assert checks.scaled(checks.NUMPROCESSES_MAX - 1, 1) == checks.NUMPROCESSES_MAX
    with pytest.raises(CheckError) as info:
        checks.scaled(checks.NUMPROCESSES_MAX, 1)
    assert info.value.message == "numprocesses would exceed 100000"
    assert checks.bounded_target(5, singleton=True) == 1
    assert checks.bounded_target(-3, singleton=False) == 0
    assert checks.bounded_target(10**6, singleton=False) == checks.NUMPROCESSES_MAX


def test_socket_rules() -> None:
    checks.socket_keys(["path", "umask"])
    with pytest.raises(CheckError) as info:
        checks.socket_keys(["path", "port"])
    assert str(info.value) == "port: does not apply to a unix socket (path is set)"
    checks.socket_shape("AF_INET", None, "example.org")
    checks.socket_shape("AF_INET6", None, "::1")
    for family, path, host, key in [
        ("AF_UNIX", None, "", "path"),
        ("AF_INET", "/tmp/s", "", "family"),
        ("AF_INET", None, "::1", "host"),
        ("AF_INET6", None, "127.0.0.1", "host"),
    ]:
        with pytest.raises(CheckError) as info:
            checks.socket_shape(family, path, host)
        assert info.value.key == key
