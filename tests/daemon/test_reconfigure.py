"""Changing a running daemon (`set`, SIGHUP, `reloadconfig`): a change that cannot apply is
refused where the operator looks (the reply, or one line of the log), changes nothing, and
leaves no traceback behind."""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest

from tests.conftest import RunningDaemon, wait_for

BODY = '[watchers.web]\ncmd = "sleep 1000"\n'


def log_text(d: RunningDaemon) -> str:
    return (d.dir / "daemon.log").read_text()


@pytest.mark.parametrize("key", ["stderr_file", "stdout_file"])
@pytest.mark.parametrize("waiting", [False, True])
@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("logs/a\0b.log", "must not contain a NUL character"),
        ("logs/\ud800.log", "cannot be encoded"),
    ],
    ids=["nul", "surrogate"],
)
def test_set_of_a_log_file_no_file_can_have_is_refused(
    daemon_factory: Any, key: str, waiting: bool, value: str, why: str
) -> None:
    d = daemon_factory(BODY)
    pids = d.wait_pids("web", 1)
    reply = d.call("set", name="web", options={key: value}, waiting=waiting)
    assert reply["status"] == "error" and reply["errno"] == 3, reply
    assert reply["reason"].startswith(f"{key}: {why}"), reply
    assert d.call("get", name="web", keys=[key])["options"] == {key: None}
    # The watcher carries on as it was, and a later change still applies.
    assert d.pids("web") == pids
    assert d.call("set", name="web", options={key: "logs/web.err"}, waiting=True)["status"] == "ok"
    assert d.call("get", name="web", keys=[key])["options"] == {key: "logs/web.err"}
    assert "Traceback" not in log_text(d)


def test_add_with_a_log_file_no_file_can_have_is_refused(daemon_factory: Any) -> None:
    d = daemon_factory(BODY)
    reply = d.call("add", name="api", cmd="sleep 1000", options={"stderr_file": "a\0b"})
    assert reply["errno"] == 3 and reply["reason"].startswith("stderr_file:"), reply
    assert d.call("list")["watchers"] == ["web"]
    assert "Traceback" not in log_text(d)


def refused_reloads(d: RunningDaemon) -> list[str]:
    return [line for line in log_text(d).splitlines() if "reload refused" in line]


@pytest.mark.parametrize("how", ["sighup", "reloadconfig"])
def test_a_broken_file_on_reload_is_one_log_line(daemon_factory: Any, how: str) -> None:
    d = daemon_factory(BODY)
    pids = d.wait_pids("web", 1)
    d.config.write_text(d.config.read_text() + "garbage = = =\n")
    if how == "sighup":
        os.kill(d.pid, signal.SIGHUP)
    else:
        assert d.call("reloadconfig")["status"] == "ok"  # not waiting: as circusctl sends it
    line = wait_for(lambda: refused_reloads(d))[0]
    assert "invalid TOML" in line
    # A reply to a request sent after that line comes after anything the failed reload logs.
    assert d.pids("web") == pids
    assert refused_reloads(d) == [line]
    assert "Traceback" not in log_text(d)
