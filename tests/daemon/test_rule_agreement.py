"""The configuration file, the wire (`set` and `add` on a running daemon) and `convert` apply
one set of rules: the same value is accepted as the same thing or refused with the same
message by all of them. Each case below once differed between at least two of them, or guards
a rule they share."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from daemon.config import ConfigError, load_config, parse_config_text
from daemon.convert import convert_ini
from daemon.endpoints import EndpointError, check_endpoint
from tests.conftest import RunningDaemon, wait_for

PY = sys.executable
BODY = '[watchers.w]\ncmd = "sleep 1000"\nnumprocesses = 0\n'

# (option, the text circusctl or a file would carry, what it becomes: a value or a refusal)
CASES: list[tuple[str, str, Any]] = [
    ("numprocesses", "-1", "refused: must be at least 0"),
    ("numprocesses", "100001", "refused: must be at most 100000"),
    # int() reads these as 10 and 3; nobody writes a count so, and the wire's own integer
    # properties refused them.
    ("numprocesses", "1_0", "refused: expected an integer"),
    ("numprocesses", "٣", "refused: expected an integer"),
    ("priority", "+3", 3),
    ("max_retry", "-2", "refused: must be at least -1"),
    ("graceful_timeout", "nan", "refused: expected a number"),
    ("graceful_timeout", "86401", "refused: must be at most 86400"),
    ("graceful_timeout", "2.5", 2.5),
    ("respawn", "yes", True),
    ("respawn", "Off", False),
    ("respawn", "maybe", "refused: expected true or false"),
    ("stop_signal", "quit", int(signal.SIGQUIT)),
    ("stop_signal", "SIGFOO", "refused: unknown signal 'SIGFOO'"),
    ("uid", "4294967295", "refused: a user id is 0 to 4294967294"),
]


def from_config(option: str, text: str) -> Any:
    try:
        config = parse_config_text(f'[watchers.w]\ncmd = "sleep 1"\n{option} = "{text}"\n')
    except ConfigError as exc:
        assert exc.key == f"watchers.w.{option}", exc
        return f"refused: {exc.message}"
    return getattr(config.watchers["w"], option)


def from_convert(tmp_path: Path, option: str, text: str) -> Any:
    ini = tmp_path / "circus.ini"
    ini.write_text(f"[watcher:w]\ncmd = sleep 1\n{option} = {text}\n")
    toml, warnings = convert_ini(ini)
    lost = f"watcher w: {option} = {text!r} left out: "
    for warning in warnings:
        if warning.startswith(lost):
            return "refused: " + warning.removeprefix(lost)
    converted = tmp_path / "converted.toml"
    converted.write_text(toml)
    return getattr(load_config(converted).watchers["w"], option)


def from_reply(reply: dict[str, Any], option: str) -> str:
    assert reply["status"] == "error" and reply["errno"] == 3, reply
    assert reply["reason"].startswith(f"{option}: "), reply
    return "refused: " + reply["reason"].removeprefix(f"{option}: ")


def from_set(d: RunningDaemon, option: str, text: str) -> Any:
    reply = d.call("set", name="w", options={option: text}, waiting=True)
    if reply["status"] != "ok":
        return from_reply(reply, option)
    return d.call("get", name="w", keys=[option])["options"][option]


def from_add(d: RunningDaemon, n: int, option: str, text: str) -> Any:
    reply = d.call("add", name=f"added{n}", cmd="sleep 1000", options={option: text})
    if reply["status"] != "ok":
        return from_reply(reply, option)
    return d.call("get", name=f"added{n}", keys=[option])["options"][option]


def test_each_value_means_the_same_in_the_file_over_the_wire_and_in_convert(
    daemon_factory: Any, tmp_path: Path
) -> None:
    d = daemon_factory(BODY)
    differ = []
    for n, (option, text, expected) in enumerate(CASES):
        got = {
            "config": from_config(option, text),
            "set": from_set(d, option, text),
            "add": from_add(d, n, option, text),
            "convert": from_convert(tmp_path, option, text),
        }
        if any(value != expected for value in got.values()):
            differ.append((option, text, expected, got))
    assert differ == []


# -- rules across options: compared with the values in force, not only those given together


def test_backoff_min_above_the_backoff_max_in_force_is_refused_everywhere(
    daemon_factory: Any,
) -> None:
    message = "backoff_min (100) must not exceed backoff_max (60)"
    with pytest.raises(ConfigError) as info:
        parse_config_text('[watchers.w]\ncmd = "x"\nbackoff_min = 100\n')
    assert (info.value.key, info.value.message) == ("watchers.w.backoff_min", message)
    d = daemon_factory(BODY)
    # set and add once took it: only a backoff_max given in the same request was compared.
    reply = d.call("set", name="w", options={"backoff_min": "100"}, waiting=True)
    assert from_reply(reply, "backoff_min") == f"refused: {message}"
    assert d.call("get", name="w", keys=["backoff_min"])["options"] == {"backoff_min": 0.5}
    reply = d.call("add", name="a", cmd="sleep 1", options={"backoff_min": 100})
    assert from_reply(reply, "backoff_min") == f"refused: {message}"
    # A backoff_max below the backoff_min in force names backoff_max.
    reply = d.call("set", name="w", options={"backoff_max": 0.25}, waiting=True)
    assert from_reply(reply, "backoff_max") == (
        "refused: backoff_min (0.5) must not exceed backoff_max (0.25)"
    )


def test_a_singleton_with_several_processes_is_refused_everywhere(
    daemon_factory: Any, tmp_path: Path
) -> None:
    message = "a singleton watcher runs at most one process"
    with pytest.raises(ConfigError) as info:
        parse_config_text('[watchers.w]\ncmd = "x"\nsingleton = true\nnumprocesses = 2\n')
    assert (info.value.key, info.value.message) == ("watchers.w.numprocesses", message)
    ini = tmp_path / "circus.ini"
    ini.write_text("[watcher:w]\ncmd = sleep 1\nsingleton = True\nnumprocesses = 2\n")
    assert f"watcher w: numprocesses left out: {message}" in convert_ini(ini)[1]
    d = daemon_factory(BODY.replace("numprocesses = 0", "numprocesses = 2"))
    reply = d.call("add", name="a", cmd="sleep 1", options={"singleton": "yes", "numprocesses": 2})
    assert from_reply(reply, "numprocesses") == f"refused: {message}"
    reply = d.call("set", name="w", options={"singleton": "true"}, waiting=True)
    assert from_reply(reply, "numprocesses") == f"refused: {message}"
    assert d.call("get", name="w", keys=["singleton"])["options"] == {"singleton": False}


def test_a_property_takes_the_same_words_for_true_as_an_option(daemon_factory: Any) -> None:
    d = daemon_factory(BODY)
    assert d.call("set", name="w", options={"respawn": "yes"}, waiting=True)["status"] == "ok"
    reply = d.call("start", name="w", waiting="yes")
    assert reply["status"] == "ok", reply


# -- endpoints: the daemon's own check is the config's ---------------------------------------


@pytest.mark.parametrize(
    "value", ["tcp://localhost", "ipc://", "tcp://127.0.0.1:0", "tcp://127.0.0.1:http"]
)
def test_the_daemon_refuses_the_endpoints_the_config_refuses(value: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config_text(f'[circus]\nendpoint = "{value}"\n')
    with pytest.raises(EndpointError) as refused:
        check_endpoint("endpoint", value)
    assert str(refused.value) == f"endpoint: {info.value.message}"


# -- substitution: what the config checks as a socket variable, a process start replaces ------


def test_a_socket_variable_the_config_accepts_is_replaced_in_the_process(
    daemon_factory: Any,
) -> None:
    # A socket name outside ASCII: the config matched its variable, the spawner did not and
    # passed "$(circus.sockets.wéb)" as it was.
    body = (
        '[sockets."wéb"]\nhost = "127.0.0.1"\nport = 0\n\n'
        f"[watchers.show]\ncmd = \"{PY} -c 'import sys; print(sys.argv[1], flush=True)'\"\n"
        'args = ["$(circus.sockets.wéb)"]\nuse_sockets = true\nrespawn = false\n'
    )
    d = daemon_factory(body)
    lines = wait_for(lambda: d.call("tail", name="show")["lines"])
    assert lines[0]["data"].isdigit(), lines
