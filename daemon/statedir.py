"""The state directory one daemon holds: private, locked for the daemon's lifetime, with a
record (daemon.json) of which daemon holds it, so the next one can end what a daemon that died
hard left running."""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import signal
from pathlib import Path
from typing import Any

from daemon import tree, trusted
from daemon.paths import private_dir

log = logging.getLogger("circus-tui")


class StateDirBusy(RuntimeError):
    pass


class StateDir:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = -1  # the directory, held: files in it are opened relative to it
        self._lock_fd = -1

    def take(self) -> None:
        """Open the directory (made private if need be) and lock it, or StateDirBusy."""
        self.fd = private_dir(self.path)
        # Held for the daemon's lifetime.
        fd = trusted.open_file(self.fd, "daemon.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            other = self.recorded().get("pid", "?")
            raise StateDirBusy(
                f"another daemon (pid {other}) is running with state_dir {self.path}"
            ) from None
        self._lock_fd = fd

    def recorded(self) -> dict[str, Any]:
        try:
            data = json.loads(trusted.read_file(self.fd, "daemon.json"))
        except (OSError, ValueError, trusted.UnsafeDirectoryError):
            return {}
        return data if isinstance(data, dict) else {}

    def end_leftovers(self) -> None:
        """A previous daemon on this state_dir died hard: end what it left running."""
        previous = self.recorded().get("instance")
        if not isinstance(previous, str) or not previous:
            return
        pids = tree.marked(f"{previous}/")
        if pids:
            log.warning("ending %d processes left by a previous daemon", len(pids))
            tree.signal_all(pids, signal.SIGKILL)

    def record(self, instance: str, started: float) -> None:
        record = {"pid": os.getpid(), "instance": instance, "started": started}
        trusted.write_atomic(self.fd, "daemon.json", json.dumps(record).encode())

    def release(self) -> None:
        if self._lock_fd >= 0:
            with contextlib.suppress(OSError):
                os.unlink("daemon.json", dir_fd=self.fd)
            os.close(self._lock_fd)
            self._lock_fd = -1
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
