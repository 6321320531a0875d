"""A tiny watchdog that outlives a daemon killed with SIGKILL and ends its programs.

The daemon starts it with a pipe on stdin and keeps the write end. A daemon that quits
cleanly writes "bye" first; EOF without it means the daemon died, and every process that
carries this daemon's marker (grandchildren included) is killed.

Run as: python -m daemon.guardian INSTANCE
"""

from __future__ import annotations

import os
import signal
import sys
import time

from daemon import tree


def reap_orphans(instance: str, timeout: float = 1.5) -> int:
    """SIGKILL every process marked with `instance` until none is left or time runs out."""
    prefix = f"{instance}/"
    deadline = time.monotonic() + timeout
    killed: set[int] = set()
    while True:
        pids = tree.marked(prefix)
        if not pids:
            return len(killed)
        tree.signal_all(pids, signal.SIGKILL)
        killed |= pids
        if time.monotonic() > deadline:
            return len(killed)
        time.sleep(0.02)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m daemon.guardian INSTANCE", file=sys.stderr)
        return 2
    # The terminal's ^C reaches the daemon's whole foreground group; the daemon handles it
    # and says bye. The guardian must not die first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    data = b""
    while True:
        try:
            chunk = os.read(0, 64)
        except InterruptedError:
            continue
        if not chunk:
            break
        data += chunk
    if b"bye" in data:
        return 0
    reap_orphans(argv[0])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
