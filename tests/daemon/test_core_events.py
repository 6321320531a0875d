"""The core without ZeroMQ: a real arbiter, real processes, no server. What it reports comes
out as typed events, and Circus's topics and bodies are made of them in daemon.wire.events."""

from __future__ import annotations

import sys
from pathlib import Path

from daemon import events
from daemon.wire.events import event_body
from tests.support.core import running_core
from tests.support.waiting import eventually


async def test_the_core_reports_typed_events(short_path: Path) -> None:
    body = (
        "[watchers.once]\n"
        f"cmd = \"{sys.executable} -c 'import sys; sys.exit(3)'\"\n"
        "respawn = false\n"
    )
    async with running_core(short_path, body) as (arbiter, recorder):
        await eventually(lambda: recorder.of(events.Reaped))
        changes = await arbiter.reload_config()
    assert [type(e) for e in recorder.events[:3]] == [events.Added, events.Started, events.Spawned]
    (spawned,) = recorder.of(events.Spawned)
    (reaped,) = recorder.of(events.Reaped)
    assert isinstance(spawned, events.Spawned) and isinstance(reaped, events.Reaped)
    assert (reaped.watcher, reaped.pid, reaped.wid, reaped.exit_code) == ("once", spawned.pid, 1, 3)
    assert reaped.reason == "exited with code 3"
    assert changes == events.ReloadChanges()


def test_circus_topics_and_bodies_come_from_the_wire() -> None:
    reaped = events.Reaped("web", pid=41, wid=2, exit_code=3, reason="exited with status 3")
    assert event_body(reaped) == (
        "reap",
        {
            "process_pid": 41,
            "wid": 2,
            "exit_code": 3,
            "reason": "exited with status 3",
            "cause": "exit",
        },
    )
    assert event_body(events.Spawned("web", pid=41, wid=2)) == (
        "spawn",
        {"process_pid": 41, "wid": 2},
    )
    assert event_body(events.Stopping("web", pid=41)) == ("kill", {"process_pid": 41})
    assert event_body(events.Added("web")) == ("add", {})
    off = events.BackingOff("web", delay=1.5, retry_at=9.0, failures=2, reason="r", exit_code=1)
    assert event_body(off) == (
        "backoff",
        {"delay": 1.5, "retry_at": 9.0, "failures": 2, "reason": "r", "exit_code": 1},
    )
    lost = events.LogError("web", path="/x", lost=3, reason="No space left on device")
    assert event_body(lost) == (
        "log_error",
        {"path": "/x", "lost": 3, "reason": "No space left on device"},
    )


def test_every_kind_of_event_has_a_circus_topic() -> None:
    kinds = [
        k for k in vars(events).values() if isinstance(k, type) and issubclass(k, events.Event)
    ]
    kinds.remove(events.Event)
    from daemon.wire.events import TOPICS

    assert set(TOPICS) == set(kinds)


def test_protocol_doc_lists_every_event_topic() -> None:
    from daemon.wire.events import TOPICS

    doc = (Path(__file__).parents[2] / "docs" / "protocol.md").read_text()
    section = doc.split("## Events (`pubsub_endpoint`)", 1)[1].split("\n### ", 1)[0]
    documented = {row.split("`")[1] for row in section.splitlines() if row.startswith("| `")}
    assert documented == set(TOPICS.values())
