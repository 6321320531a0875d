"""The real circus-top, in a tmux pane, showing a supervisor's processes."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from compat_support import CIRCUS_TOP, Supervise, poll


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_circus_top_in_tmux(supervise: Supervise) -> None:
    sup = supervise({"sl": {"cmd": "sleep 1000", "numprocesses": 2}}, stats=True)
    pids = sup.wait_pids("sl", 2)

    tmux = ["tmux", "-L", f"ct-{os.getpid()}-{os.urandom(3).hex()}", "-f", "/dev/null"]
    env = {**os.environ, "TERM": os.environ.get("TERM") or "xterm-256color"}
    command = f"exec {CIRCUS_TOP} --endpoint {sup.stats_endpoint}"
    subprocess.run(
        [*tmux, "new-session", "-d", "-x", "120", "-y", "36", command], check=True, env=env
    )
    screen: list[str] = []
    try:

        def shows_processes() -> bool:
            done = subprocess.run(
                [*tmux, "capture-pane", "-p"], capture_output=True, text=True, env=env
            )
            screen[:] = done.stdout.splitlines()
            rows = [row.split() for row in screen]
            return (
                ["sl"] in rows
                and ["circus"] in rows
                and all(any(row[:1] == [str(pid)] for row in rows) for pid in pids)
                and any(row[:1] == [str(sup.pid)] for row in rows)
            )

        try:
            poll(shows_processes, timeout=40, interval=0.2)
        except AssertionError:
            shown = "\n".join(screen)
            raise AssertionError(f"circus-top never showed the pids:\n{shown}") from None
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True, env=env)
    assert screen[0].strip() == "Circus Top"
