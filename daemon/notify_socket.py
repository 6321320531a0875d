"""The receiving end of systemd's notify protocol (sd_notify(3)): a private datagram socket that
the daemon's processes send `READY=1`, `STATUS=…`, `WATCHDOG=1` to, each datagram told apart by
its sender's pid, which the kernel vouches for (SO_PASSCRED).

daemon.notify is the other end: the daemon itself telling systemd it is ready.

A datagram is newline-separated `KEY=VALUE` fields (a value may hold `=`; a line without one is
ignored; bytes that are not UTF-8 are replaced). One longer than MAX_DATAGRAM bytes, or without
the sender's credentials, is dropped, and the drops are logged at most once a minute. File
descriptors sent along (FDSTORE=1) are not kept: the kernel discards what finds no room. At
most PER_WAKEUP datagrams are handled each time the socket is readable, so that a child
flooding it cannot keep the event loop from everything else.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import errno
import logging
import os
import socket
import stat
import struct
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("circus-tui")

MAX_DATAGRAM = 4096
PER_WAKEUP = 256
LOG_EVERY = 60.0
# sun_path holds 108 bytes on Linux, with the terminating NUL.
MAX_PATH = 107

_UCRED = struct.Struct("=iII")  # pid, uid, gid
# Room for the credentials alone.
_ANCILLARY = socket.CMSG_SPACE(_UCRED.size)


def fields(data: bytes) -> dict[str, str]:
    """`KEY=VALUE` lines as a dict; a later line wins over an earlier one of the same key."""
    out: dict[str, str] = {}
    for line in data.split(b"\n"):
        key, sep, value = line.partition(b"=")
        if sep and key:
            out[key.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
    return out


def _sender(ancdata: list[tuple[int, int, bytes]]) -> int | None:
    pid = None
    for level, kind, data in ancdata:
        if level != socket.SOL_SOCKET:
            continue
        if kind == socket.SCM_CREDENTIALS and len(data) >= _UCRED.size:
            pid = _UCRED.unpack_from(data)[0]
        elif kind == socket.SCM_RIGHTS:
            # Not asked for and not kept, should any ever get through.
            fds = array.array("i")
            fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
            for fd in fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
    # 0: a sender in a pid namespace this one cannot see.
    return pid if pid is not None and pid > 0 else None


class NotifySocket:
    """Bound at `path` (what NOTIFY_SOCKET is set to) by `open`, until `close`; each datagram
    goes to `on_message(sender_pid, fields)`."""

    def __init__(self, path: Path, on_message: Callable[[int, dict[str, str]], None]) -> None:
        self.path = path
        self.on_message = on_message
        self.per_wakeup = PER_WAKEUP
        self._sock: socket.socket | None = None
        self._dropped: dict[str, int] = {}
        self._logged_at = -LOG_EVERY

    def open(self) -> None:
        """Bind the socket (mode 0600) and start reading it in the running loop. A socket of
        ours left at `path` (a daemon that died) is replaced; anything else there is an
        OSError, as is a path too long for a unix socket."""
        raw = os.fsencode(self.path)
        if len(raw) > MAX_PATH:
            raise OSError(
                errno.ENAMETOOLONG,
                f"the notify socket's path is {len(raw)} bytes, more than a unix socket "
                f"allows ({MAX_PATH}): {self.path}",
            )
        self._remove_stale()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        bound = False
        try:
            sock.setblocking(False)
            # Before the bind: no datagram may arrive without its sender's credentials.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
            sock.bind(raw)
            bound = True
            # The directory is private already; the mode says so to anyone who looks.
            os.chmod(raw, 0o600)
            asyncio.get_running_loop().add_reader(sock.fileno(), self._readable)
        except BaseException:
            sock.close()
            if bound:
                with contextlib.suppress(OSError):
                    os.unlink(raw)
            raise
        self._sock = sock

    def _remove_stale(self) -> None:
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            return
        if not stat.S_ISSOCK(st.st_mode) or st.st_uid != os.geteuid():
            raise OSError(
                errno.EEXIST,
                f"{self.path} exists and is not a socket of ours: not replacing it with the "
                "notify socket",
            )
        os.unlink(self.path)

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed already
            asyncio.get_running_loop().remove_reader(sock.fileno())
        sock.close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)

    def _readable(self) -> None:
        sock = self._sock
        for _ in range(self.per_wakeup):
            if sock is None or sock is not self._sock:
                return  # closed by a callback
            try:
                data, ancdata, flags, _address = sock.recvmsg(MAX_DATAGRAM, _ANCILLARY)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.warning("notify socket %s: %s", self.path, exc)
                return
            pid = _sender(ancdata)
            if flags & socket.MSG_TRUNC:
                self._drop(f"longer than {MAX_DATAGRAM} bytes")
            elif pid is None:
                self._drop("without the sender's credentials")
            else:
                try:
                    self.on_message(pid, fields(data))
                except Exception:
                    log.exception("notify message from pid %d", pid)

    def _drop(self, why: str) -> None:
        self._dropped[why] = self._dropped.get(why, 0) + 1
        now = time.monotonic()
        if now - self._logged_at < LOG_EVERY:
            return
        self._logged_at = now
        counts = ", ".join(f"{n} {reason}" for reason, n in self._dropped.items())
        log.warning("notify socket %s: dropped datagrams: %s", self.path, counts)
        self._dropped.clear()
