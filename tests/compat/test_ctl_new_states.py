"""Our states and events beyond Circus's (waiting, completed; ready, roll) as the real
circusctl shows them: it prints the state words and the event bodies as they come."""

from __future__ import annotations

import os
import subprocess
import threading
import time

import pytest
from compat_support import CIRCUSCTL, Supervise, poll


def test_circusctl_shows_waiting_and_completed(supervise: Supervise) -> None:
    sup = supervise(
        {
            "migrate": {"cmd": "sleep 1000", "restart": "never", "autostart": False},
            "web": {"cmd": "sleep 1000", "depends_on": {"migrate": "completed"}},
        }
    )
    if not sup.ours:
        pytest.skip("depends_on and restart are ours")
    sup.wait_status("web", "waiting")
    assert sup.ctl_ok("status", "web") == "waiting\n"
    assert sup.ctl_ok("status") == "migrate: stopped\nweb: waiting\n"
    details = sup.call("status", name="web")["details"]
    assert details["waiting_for"] == "migrate: stopped"

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

    threading.Thread(target=read, daemon=True).start()
    try:
        # A subscriber misses what comes before it connected: poke until something arrives.
        last = 0.0

        def subscribed() -> bool:
            nonlocal last
            if not lines and time.monotonic() - last > 0.5:
                last = time.monotonic()
                sup.call("restart", name="web", waiting=True)
            return bool(lines)

        poll(subscribed, timeout=15)
        sup.call("set", name="migrate", options={"cmd": "true"}, waiting=True)
        sup.call("start", name="migrate", waiting=True)
        sup.wait_status("migrate", "completed")
        sup.wait_status("web", "active")
        assert sup.ctl_ok("status", "migrate") == "completed\n"
        poll(lambda: any(line.startswith("b'watcher.migrate.completed'") for line in lines), 10)
    finally:
        listener.terminate()
        listener.wait(5)
    # circusctl prints our events like its own.
    assert any(line.startswith("b'watcher.web.waiting': ") for line in lines), lines
