"""Checking and binding the daemon's ZeroMQ endpoints: ipc sockets in a private directory by
default; TCP only when configured, and only on loopback."""

from __future__ import annotations

import contextlib
import os
import socket
import stat
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import zmq

from daemon import checks
from daemon.paths import check_socket, socket_dir
from daemon.trusted import UnsafeDirectoryError


class EndpointError(ValueError):
    pass


def check_endpoint(key: str, url: str) -> None:
    """The daemon's endpoints, its defaults included, by the rule the config file uses."""
    try:
        checks.endpoint(url)
    except ValueError as exc:
        raise EndpointError(f"{key}: {exc}") from None


def check_client_endpoint(url: str) -> str:
    """An endpoint a client can connect to; anything else is refused here, in one line,
    rather than by libzmq from deep inside a connect. An ipc socket that another user could
    have placed raises UnsafeDirectoryError (paths.check_socket)."""
    scheme, sep, rest = url.partition("://")
    usable = "use ipc://PATH or tcp://HOST:PORT"
    if not sep or scheme not in ("ipc", "tcp"):
        what = f"unknown scheme '{scheme}'" if sep else "not an endpoint URL"
        raise EndpointError(f"{url}: {what}; {usable}")
    if scheme == "ipc" and not rest:
        raise EndpointError(f"{url}: no socket path; {usable}")
    if scheme == "ipc":
        check_socket(Path(rest))
    if scheme == "tcp":
        try:
            port = urlsplit(url).port
        except ValueError:
            port = None
        if port is None or not urlsplit(url).hostname:
            raise EndpointError(f"{url}: a TCP endpoint needs a host and a port; {usable}")
    return url


def ipc_path(url: str) -> Path | None:
    return Path(url[len("ipc://") :]) if url.startswith("ipc://") else None


def allow_ipv6(sock: zmq.Socket[Any], url: str) -> None:
    """libzmq takes IPv6 addresses (`tcp://[::1]:5555`) only on sockets told to."""
    if url.startswith("tcp://") and ":" in (urlsplit(url).hostname or ""):
        sock.setsockopt(zmq.IPV6, 1)


def bind(sock: zmq.Socket[Any], url: str) -> None:
    """Bind, making sure an ipc socket lives in a private directory and is 0600."""
    path = ipc_path(url)
    if path is None:
        allow_ipv6(sock, url)
        try:
            sock.bind(url)
        except zmq.ZMQError as exc:
            raise EndpointError(f"cannot bind {url}: {exc}") from None
        return
    directory = claim_ipc(url)
    try:
        old = os.umask(0o177)
        try:
            sock.bind(url)
        except zmq.ZMQError as exc:
            raise EndpointError(f"cannot bind {url}: {exc}") from None
        finally:
            os.umask(old)
        with contextlib.suppress(OSError):
            os.chmod(path.name, 0o600, dir_fd=directory)
    finally:
        os.close(directory)


def claim_ipc(url: str) -> int:
    """Make the path of an ipc endpoint ready to bind: its directory checked, and a socket
    left there by a daemon that died removed. Returns a descriptor of the directory, for the
    names the caller looks up in it."""
    path = ipc_path(url)
    assert path is not None
    directory = socket_dir(path.parent)
    try:
        # Names are looked up in the directory checked just now, which nobody but root or
        # we can change: the path zmq binds is the one checked.
        try:
            info = os.stat(path.name, dir_fd=directory, follow_symlinks=False)
        except FileNotFoundError:
            info = None
        if info is not None:
            if not stat.S_ISSOCK(info.st_mode):
                raise UnsafeDirectoryError(f"{path} exists and is not a socket")
            # A socket left by a daemon that died; refuse if something still answers on it.
            if _answers(path):
                raise EndpointError(f"{url} is in use by another process")
            os.unlink(path.name, dir_fd=directory)
    except BaseException:
        os.close(directory)
        raise
    return directory


def _answers(path: Path) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(0.5)
    try:
        probe.connect(str(path))
    except OSError:
        return False
    finally:
        probe.close()
    return True


def unlink(url: str) -> None:
    path = ipc_path(url)
    if path is not None:
        with contextlib.suppress(OSError):
            path.unlink()
