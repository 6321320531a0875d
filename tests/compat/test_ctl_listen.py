"""Events as the real `circusctl listen` prints them."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import threading
import time
from typing import Any

from compat_support import CIRCUSCTL, Supervise, poll


def _parse(line: str) -> tuple[str, dict[str, Any]]:
    """`b'watcher.sl.spawn': b'{"process_pid": 12, "time": 1.5}'` -> topic, body."""
    topic, sep, body = line.partition(": ")
    assert sep, line
    return ast.literal_eval(topic).decode(), json.loads(ast.literal_eval(body))


def test_circusctl_listen(supervise: Supervise) -> None:
    sup = supervise({"sl": {"cmd": "sleep 1000"}})
    sup.wait_pids("sl", 1)

    listener = subprocess.Popen(
        [CIRCUSCTL, "--endpoint", sup.pubsub_endpoint, "listen"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: list[str] = []

    def read() -> None:
        assert listener.stdout is not None
        for line in listener.stdout:
            lines.append(line.rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        # A subscriber misses what is published before it has connected: make events until
        # one arrives.
        last = 0.0

        def subscribed() -> bool:
            nonlocal last
            if not lines and time.monotonic() - last > 0.5:
                last = time.monotonic()
                sup.call("restart", name="sl", waiting=True)
            return bool(lines)

        poll(subscribed, timeout=15)
        (old,) = sup.wait_pids("sl", 1)
        mark = len(lines)
        assert sup.call("stop", name="sl", waiting=True)["status"] == "ok"
        assert sup.call("start", name="sl", waiting=True)["status"] == "ok"
        (new,) = sup.wait_pids("sl", 1)

        def events() -> dict[str, dict[str, Any]] | None:
            # Events of the restarts above can still be on their way: pick this stop's and
            # this start's by pid, not the first of each kind.
            wanted = {
                "kill": lambda b: b.get("process_pid") == old,
                "reap": lambda b: b.get("process_pid") == old,
                "spawn": lambda b: b.get("process_pid") == new,
                "stop": lambda b: True,
                "start": lambda b: True,
            }
            seen: dict[str, dict[str, Any]] = {}
            for line in lines[mark:]:
                topic, body = _parse(line)
                kind = topic.rsplit(".", 1)[1]
                if topic.startswith("watcher.sl.") and kind in wanted and wanted[kind](body):
                    seen.setdefault(kind, body)
            return seen if wanted.keys() <= seen.keys() else None

        seen = poll(events, timeout=10)
    finally:
        listener.kill()
        listener.wait()
        reader.join(5)

    assert isinstance(seen["reap"]["exit_code"], int), seen
    for body in seen.values():
        assert isinstance(body["time"], float), seen
