"""A rolling reload of servers that take a while to boot, on a daemon-owned socket under
load: not one request fails, every process is replaced, and the number of ready processes
never drops below the target (the events say so, in order)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from tests.support.daemon import Subscriber
from tests.support.load import Load
from tests.support.waiting import wait_for

SLOW_SERVER = Path(__file__).parents[1] / "support" / "slow_server.py"
BOOT = 0.5


def _body(ready: str, workers: int = 4) -> str:
    return (
        '[sockets.web]\nhost = "127.0.0.1"\nport = 0\nbacklog = 512\n'
        f'[watchers.web]\ncmd = "{sys.executable} {SLOW_SERVER} $(circus.sockets.web) {BOOT}"\n'
        f"use_sockets = true\nnumprocesses = {workers}\ngraceful_timeout = 10\n"
        f"[watchers.web.ready]\n{ready}\nstart_timeout = 30\n"
    )


def _ready_counts(sub: Subscriber, ready: set[int]) -> list[int]:
    """How many processes were ready after each event until the reload's end, from the
    `ready` ones before it: a replacement's `ready` adds one, an old one's `kill` (the daemon
    begins to stop it) takes it away."""
    counts: list[int] = []
    while (got := sub.next(timeout=30)) is not None:
        topic, body = got
        pid = body.get("process_pid")
        if topic.endswith(".ready"):
            ready.add(pid)
        elif topic.endswith((".kill", ".reap")):
            ready.discard(pid)
        counts.append(len(ready))
        if topic == "watcher.web.reload":
            return counts
    raise AssertionError("no reload event")


def _roll_under_load(d: Any) -> None:
    port = d.call("listsockets")["sockets"][0]["port"]
    before = set(wait_for(lambda: _all_ready(d, 4), timeout=30))
    sub = Subscriber(d.pubsub_endpoint, b"watcher.web.")
    try:
        with Load(port) as load:
            wait_for(lambda: load.ok > 20, timeout=20)
            answer = d.call("reload", name="web", waiting=True, timeout=60)
            assert answer["status"] == "ok", answer
            after = set(d.pids("web"))
            mark = load.ok
            wait_for(lambda: load.ok > mark + 20, timeout=20)
        counts = _ready_counts(sub, set(before))
    finally:
        sub.close()
    assert load.failed == [], load.failed[:5]
    assert not after & before, (before, after)
    assert len(after) == 4
    # Four were ready before the roll; never fewer while it ran.
    assert counts and min(counts) >= 4, counts


def _all_ready(d: Any, n: int) -> list[int] | None:
    details = d.call("status", name="web")["details"]
    return d.pids("web") if details["ready"] == n and details["running"] == n else None


def test_a_rolling_reload_under_load_fails_no_request(daemon_factory: Any) -> None:
    _roll_under_load(daemon_factory(_body('log = "^Listening"')))


def test_notify_readiness_rolls_the_same(daemon_factory: Any) -> None:
    _roll_under_load(daemon_factory(_body("notify = true")))
