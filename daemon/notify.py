"""systemd's readiness protocol (sd_notify(3)), spoken with the standard library: newline-separated
`KEY=VALUE` fields in one datagram to the unix socket named by $NOTIFY_SOCKET.

A service of `Type=notify` is started once the daemon says `READY=1`, reloaded between
`RELOADING=1` and the next `READY=1`, and, with `WatchdogSec=`, restarted when `WATCHDOG=1`
stops coming: the event loop is stuck.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from collections.abc import MutableMapping

log = logging.getLogger("circus-tui")

# Meant for this process alone: programs must not inherit them (sd_notify's unset_environment),
# or a program that speaks the protocol (gunicorn does) would talk to systemd for the daemon.
ENVIRONMENT = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")


def _address(value: str | None) -> str | None:
    if not value:
        return None
    if value.startswith("@"):  # the abstract namespace
        return "\0" + value[1:]
    return value if value.startswith("/") else None


class Notifier:
    """Talks to systemd when the daemon runs under it, and does nothing otherwise."""

    def __init__(self, environ: MutableMapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.address = _address(env.get("NOTIFY_SOCKET"))
        self.watchdog_interval = _watchdog_interval(env) if self.address else None
        for key in ENVIRONMENT:
            env.pop(key, None)
        self._sock: socket.socket | None = None
        self._status: str | None = None
        self._failed = False

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *fields: str) -> None:
        if self.address is None:
            return
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._sock.setblocking(False)
            self._sock.sendto("\n".join(fields).encode(), self.address)
        except OSError as exc:
            # systemd gone or its queue full: the service manager's business, never ours to
            # fail on. Said once, so that a misconfigured unit can be diagnosed.
            if not self._failed:
                log.warning("cannot notify the service manager at %s: %s", self.address, exc)
                self._failed = True

    def ready(self, status: str) -> None:
        self._status = status
        self.send("READY=1", f"STATUS={status}")

    def status(self, status: str) -> None:
        """The one-line summary `systemctl status` shows; sent only when it changed."""
        if status != self._status:
            self._status = status
            self.send(f"STATUS={status}")

    def reloading(self) -> None:
        # MONOTONIC_USEC lets systemd (253 and later, Type=notify-reload) tell this reload
        # from an earlier one.
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        self.send("RELOADING=1", f"MONOTONIC_USEC={usec}", "STATUS=reloading the configuration")

    def stopping(self) -> None:
        self._status = "stopping"
        self.send("STOPPING=1", "STATUS=stopping")

    def watchdog(self) -> None:
        self.send("WATCHDOG=1")

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None


def _watchdog_interval(env: MutableMapping[str, str]) -> float | None:
    """Half of WATCHDOG_USEC, as sd_watchdog_enabled(3) advises; None when the watchdog is off
    or meant for another process."""
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    pid = env.get("WATCHDOG_PID")
    if usec <= 0 or (pid is not None and pid != str(os.getpid())):
        return None
    return usec / 2_000_000
