"""Command properties meet the rules of daemon/checks/, as the file and `set` do: the same
values pass, and a refusal says the same thing."""

from __future__ import annotations

from typing import Any

import pytest

BODY = '[watchers.web]\ncmd = "sleep 1000"\n'


@pytest.mark.parametrize("word", ["yes", "on", "1", "TRUE", True])
def test_a_switch_takes_every_spelling_of_true_the_file_takes(
    daemon_factory: Any, word: Any
) -> None:
    d = daemon_factory(BODY)
    d.wait_pids("web", 1)
    # With `waiting` honoured the reply carries the new count; without it, nothing.
    reply = d.call("incr", name="web", nb=1, waiting=word)
    assert reply["status"] == "ok" and reply["numprocesses"] == 2, reply


def test_a_bad_number_is_refused_in_the_words_set_uses(daemon_factory: Any) -> None:
    d = daemon_factory(BODY)
    by_set = d.call("set", name="web", options={"numprocesses": "two"})
    by_incr = d.call("incr", name="web", nb="two")
    assert by_set["reason"] == "numprocesses: expected an integer", by_set
    assert by_incr["reason"] == "property 'nb': expected an integer", by_incr
    assert by_incr["errno"] == 6
    assert d.call("incr", name="web", nb=-1)["reason"] == "property 'nb': must be at least 0"


def test_a_watcher_of_three_becomes_a_singleton_of_one_in_one_set(daemon_factory: Any) -> None:
    d = daemon_factory('[watchers.web]\ncmd = "sleep 1000"\nnumprocesses = 3\n')
    d.wait_pids("web", 3)
    reply = d.call(
        "set", name="web", options={"singleton": "true", "numprocesses": 1}, waiting=True
    )
    assert reply["status"] == "ok", reply
    assert d.call("get", name="web", keys=["singleton", "numprocesses"])["options"] == {
        "singleton": True,
        "numprocesses": 1,
    }
    assert len(d.pids("web")) == 1
    refused = d.call("set", name="web", options={"numprocesses": 2})
    assert refused["reason"].startswith("numprocesses: a singleton"), refused
