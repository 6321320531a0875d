"""Listening sockets the daemon binds before any program starts and keeps open across the
programs' restarts, handing them down by file descriptor."""

from __future__ import annotations

import contextlib
import os
import socket
import stat
from pathlib import Path

from daemon import substitute
from daemon.config import SocketConfig


class SocketError(RuntimeError):
    pass


class ManagedSocket:
    def __init__(self, config: SocketConfig, base_dir: Path | None = None) -> None:
        self.config = config
        self.name = config.name
        self.base_dir = base_dir
        self.sock: socket.socket | None = None
        self._inode: int | None = None

    @property
    def fd(self) -> int:
        assert self.sock is not None
        return self.sock.fileno()

    @property
    def path(self) -> Path | None:
        if self.config.path is None:
            return None
        # `$(circus.env.RUN)/web.sock`: the daemon's environment, as circusd reads it.
        return substitute.daemon_path(self.config.path, self.base_dir)

    def bind(self) -> None:
        cfg = self.config
        family = getattr(socket, cfg.family)
        kind = getattr(socket, cfg.type)
        sock = socket.socket(family, kind)
        try:
            if family == socket.AF_UNIX:
                self._bind_unix(sock)
            else:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if cfg.so_reuseport:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                sock.bind((cfg.host, cfg.port))
            if kind == socket.SOCK_STREAM:
                sock.listen(cfg.backlog)
            sock.setblocking(cfg.blocking)
        except OSError as exc:
            sock.close()
            where = self.path or f"{cfg.host}:{cfg.port}"
            raise SocketError(f"socket {self.name}: cannot bind {where}: {exc.strerror}") from exc
        self.sock = sock
        self._inode = os.fstat(sock.fileno()).st_ino

    def _bind_unix(self, sock: socket.socket) -> None:
        path = self.path
        assert path is not None
        if path.exists() or path.is_symlink():
            if not self.config.replace:
                raise OSError(17, "path exists (set replace = true to take it over)")
            if not stat.S_ISSOCK(os.lstat(path).st_mode):
                raise OSError(17, "path exists and is not a socket")
            path.unlink()
        old = os.umask(self.config.umask)
        try:
            sock.bind(str(path))
        finally:
            os.umask(old)

    def address(self) -> str:
        if self.path is not None:
            return str(self.path)
        host, port = self.bound()
        return f"{host}:{port}"

    def bound(self) -> tuple[str, int]:
        assert self.sock is not None
        addr = self.sock.getsockname()
        return str(addr[0]), int(addr[1])

    def accept_queue(self) -> int | None:
        """Connections waiting to be accepted now (TCP only: None for a Unix socket)."""
        return accept_queue(self._inode) if self.path is None else None

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
            path = self.path
            if path is not None:
                with contextlib.suppress(OSError):
                    path.unlink()


def accept_queue(inode: int | None) -> int | None:
    """Connections waiting in a listening TCP socket's accept queue.

    For a socket in LISTEN state, /proc/net/tcp{,6} reports the accept queue's current
    length as rx_queue.
    """
    if inode is None:
        return None
    wanted = str(inode)
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as fh:
                next(fh, None)
                for row in fh:
                    fields = row.split()
                    if len(fields) > 9 and fields[9] == wanted:
                        return int(fields[4].split(":")[1], 16)
        except OSError:
            continue
    return None


def bind_all(configs: dict[str, SocketConfig], base_dir: Path | None) -> dict[str, ManagedSocket]:
    """Bind every socket or none: a failure closes what was already bound."""
    bound: dict[str, ManagedSocket] = {}
    try:
        for name, cfg in configs.items():
            managed = ManagedSocket(cfg, base_dir)
            managed.bind()
            bound[name] = managed
    except SocketError:
        for managed in bound.values():
            managed.close()
        raise
    return bound
