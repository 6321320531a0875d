"""Bad input on the control endpoint gets an error reply and disturbs nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
import zmq
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from daemon.command_table import COMMANDS as TABLE
from tests.conftest import RunningDaemon

# Every command of the table but those that end or rewrite the daemon itself (quit, save and
# reloadconfig are tested on their own), and names that are none.
COMMANDS = [
    *sorted(set(TABLE) - {"quit", "save", "reloadconfig"}),
    "bogus",
    "LIST",
    "",
]
# Destructive commands are fuzzed on a watcher the test does not care about.
NAMES = ["victim", "VICTIM", "nosuch", "", "circus", "a.b", "x" * 300]
TOUCHES_ALL = {"start", "stop", "restart", "reload"}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)

properties = st.fixed_dictionaries(
    {},
    optional={
        "name": st.sampled_from(NAMES) | json_values,
        "nb": json_values | st.integers(-10, 10),
        "waiting": json_values,
        "signum": st.sampled_from(["TERM", "HUP", 0, 99, "NOPE"]) | json_values,
        "pid": json_values,
        "keys": json_values,
        "options": st.dictionaries(
            st.sampled_from(["numprocesses", "graceful_timeout", "cmd", "stop_signal", "zzz"]),
            json_values,
            max_size=3,
        )
        | json_values,
        "cmd": json_values,
        "match": st.sampled_from(["glob", "regex", "simple", "bad"]) | json_values,
        "process": json_values,
        "count": json_values,
        "since": json_values,
    },
)


REPLY_STATUSES = ("ok", "error", "active", "starting", "stopping", "stopped", "failed")


class RawClient:
    def __init__(self, d: RunningDaemon) -> None:
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(d.endpoint)

    def send(self, *frames: bytes, timeout: float = 10.0) -> dict[str, Any]:
        self.sock.send_multipart(list(frames))
        assert self.sock.poll(int(timeout * 1000)), f"no reply to {frames!r:.200}"
        reply = json.loads(self.sock.recv_multipart()[-1])
        # As in Circus, `status NAME` answers with the watcher's state in place of "ok".
        assert isinstance(reply, dict) and reply["status"] in REPLY_STATUSES, reply
        return reply

    def close(self) -> None:
        self.ctx.destroy(linger=0)


@pytest.fixture
def fuzz_daemon(daemon_factory: Any) -> RunningDaemon:
    return daemon_factory(
        '[watchers.keeper]\ncmd = "sleep 1000"\nnumprocesses = 2\n'
        '[watchers.victim]\ncmd = "sleep 1000"\ngraceful_timeout = 1\n'
    )


def on_keeper(command: str, props: bytes) -> list[bytes]:
    """One request frame for `command` on the keeper, with more raw JSON properties."""
    return [
        b'{"id": "x", "command": "' + command.encode() + b'", '
        b'"properties": {"name": "keeper", ' + props + b"}}"
    ]


@pytest.mark.parametrize(
    ("frames", "errno"),
    [
        ([b"\xff\xfe not utf-8"], 1),
        ([b"{not json"], 1),
        ([b"[1, 2, 3]"], 1),
        ([b'"a string"'], 1),
        ([b'{"id": "x", "command": "nope", "properties": {}}'], 2),
        ([b'{"id": "x", "properties": {}}'], 3),
        ([b'{"id": "x", "command": "incr", "properties": {}}'], 3),
        ([b'{"id": "x", "command": "incr", "properties": {"name": "nosuch"}}'], 3),
        ([b'{"id": "x", "command": "incr", "properties": {"name": "keeper", "nb": "x"}}'], 6),
        ([b'{"id": "x", "command": "incr", "properties": {"name": "keeper", "nb": 1e300}}'], 6),
        ([b'{"id":"x","command":"set","properties":{"name":"keeper",'
          b'"options":{"numprocesses":-5}}}'], 3),
        ([b'{"id": "x", "command": "list", "properties": []}'], 3),
        (on_keeper("incr", b'"nb": "\xc2\xb2"'), 6),  # a superscript two: a digit, not decimal
        (on_keeper("incr", b'"nb": "' + b"9" * 5000 + b'"'), 6),  # beyond int()'s digit limit
        (on_keeper("incr", b'"nb": "-' + b"9" * 5000 + b'"'), 6),
        (on_keeper("incr", b'"nb": "--1"'), 6),
        (on_keeper("tail", b'"count": "1_0"'), 6),
        (on_keeper("tail", b'"since": "\xd9\xa3"'), 6),  # an Arabic-Indic three
        (on_keeper("stats", b'"process": "\xc2\xb2"'), 6),
        (on_keeper("kill", b'"pid": "' + b"1" * 5000 + b'"'), 6),
        ([b"a", b"b"], 6),
        ([b"[" * 100_000 + b"]" * 100_000], 1),
        ([b'{"id": "x", "command": "list", "pad": "' + b"x" * (4 * 1024 * 1024) + b'"}'], 6),
    ],
)  # fmt: skip
def test_malformed_requests_get_error_replies(
    fuzz_daemon: RunningDaemon, frames: list[bytes], errno: int
) -> None:
    client = RawClient(fuzz_daemon)
    try:
        reply = client.send(*frames)
        assert reply["status"] == "error"
        assert reply["errno"] == errno, reply
        assert isinstance(reply["reason"], str) and reply["reason"]
    finally:
        client.close()
    assert len(fuzz_daemon.pids("keeper")) == 2
    assert fuzz_daemon.call("numprocesses", name="keeper")["numprocesses"] == 2


@pytest.mark.parametrize("depth", [33, 900, 978])
def test_a_deeply_nested_request_is_answered(fuzz_daemon: RunningDaemon, depth: int) -> None:
    # 978 levels in the id: Python's JSON parser still reads it, but the reply that echoes it
    # could not be encoded, and no reply at all came.
    client = RawClient(fuzz_daemon)
    try:
        nested = "[" * depth + "]" * depth
        reply = client.send(f'{{"id": {nested}, "command": "list"}}'.encode())
        assert reply["status"] == "error" and reply["errno"] == 1, reply
        assert reply["id"] is None
        assert reply["reason"] == "json nested too deeply (more than 32 levels)"
        nested = "[" * 31 + "]" * 31
        reply = client.send(f'{{"id": {nested}, "command": "numwatchers"}}'.encode())
        assert reply["status"] == "ok" and reply["id"] == json.loads(nested)
    finally:
        client.close()


@pytest.mark.parametrize(
    ("timeout", "why"),
    [
        ("NaN", "expected a number"),
        ("-1", "must be at least 0"),
        ("1e308", "must be at most 86400"),
        ("Infinity", "must be at most 86400"),
        ("86401", "must be at most 86400"),
        ("1e400", "must be at most 86400"),
        ("true", "expected a number"),
    ],
)
def test_kill_refuses_a_graceful_timeout_out_of_range(
    fuzz_daemon: RunningDaemon, timeout: str, why: str
) -> None:
    """The rule and the words of the graceful_timeout option (daemon/checks/)."""
    before = fuzz_daemon.pids("victim")
    client = RawClient(fuzz_daemon)
    try:
        reply = client.send(
            b'{"id": "k", "command": "kill", "properties": {"name": "victim", "waiting": true, '
            b'"graceful_timeout": ' + timeout.encode() + b"}}"
        )
    finally:
        client.close()
    assert reply["status"] == "error" and reply["errno"] == 6, reply
    assert reply["reason"] == f"property 'graceful_timeout': {why}"
    assert fuzz_daemon.pids("victim") == before
    reply = fuzz_daemon.call("kill", name="victim", graceful_timeout=0.5, waiting=True)
    assert reply["status"] == "ok", reply


def test_req_style_envelope_is_answered(fuzz_daemon: RunningDaemon) -> None:
    client = RawClient(fuzz_daemon)
    try:
        reply = client.send(b"", json.dumps({"id": "r", "command": "numwatchers"}).encode())
        assert reply == {**reply, "status": "ok", "numwatchers": 2, "id": "r"}
    finally:
        client.close()


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    command=st.sampled_from(COMMANDS),
    props=properties,
    msg_id=st.text(max_size=8) | json_values,
)
@example(command="status", props={"name": "victim"}, msg_id="")
@example(command="reload", props={"name": ""}, msg_id="")
def test_fuzzed_requests_never_disturb_the_daemon(
    fuzz_daemon: RunningDaemon, command: str, props: dict[str, Any], msg_id: Any
) -> None:
    # Commands without a name act on every watcher; aim them at the victim so the keeper
    # stays a witness. A fuzzed `add` runs a harmless program, never random text.
    name = props.get("name")
    if command.lower() in TOUCHES_ALL and (not name or name not in NAMES):
        props["name"] = "victim"  # an empty name means every watcher, as in Circus
    if command == "add" and isinstance(props.get("cmd"), str):
        props["cmd"] = "true"
    client = RawClient(fuzz_daemon)
    try:
        body = {"id": msg_id, "command": command, "properties": props}
        try:
            raw = json.dumps(body).encode()
        except ValueError:
            raw = json.dumps({**body, "properties": {}}).encode()
        reply = client.send(raw)
        if reply["status"] == "error":
            assert isinstance(reply["errno"], int) and 0 <= reply["errno"] <= 6
        # The daemon still answers, and the watcher nobody fuzzed is untouched.
        assert len(fuzz_daemon.pids("keeper")) == 2
    finally:
        client.close()


@pytest.mark.parametrize(
    "frame",
    [
        b'{"id": "mine", "command": "list", "properties": []}',
        b'{"id": "mine", "command": "list", "properties": "name=keeper"}',
        b'{"id": "mine", "command": "", "properties": {}}',
    ],
)
def test_an_unusable_request_s_error_reply_carries_its_id(
    fuzz_daemon: RunningDaemon, frame: bytes
) -> None:
    # Without its id, CircusClient waits out its timeout instead of reading the error.
    client = RawClient(fuzz_daemon)
    try:
        reply = client.send(frame)
    finally:
        client.close()
    assert reply["status"] == "error" and reply["errno"] == 3, reply
    assert reply["id"] == "mine"
