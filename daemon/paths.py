"""Where the daemon keeps its sockets and state by default, and the checks that keep them
private: a directory someone else owns or could change is refused rather than trusted."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from daemon.trusted import PRIVATE, UNSHARED, UnsafeDirectoryError, open_dir

__all__ = ["UnsafeDirectoryError"]

# What an operator should do about a refused default directory: someone made it, perhaps to
# impersonate the daemon; deleting it blindly would hide that.
RUNTIME_ADVICE = (
    "another user may have made it to impersonate the daemon: find out who, remove it, "
    "and start the daemon again (or set XDG_RUNTIME_DIR, or an endpoint elsewhere)"
)


def runtime_dir() -> Path:
    """$XDG_RUNTIME_DIR/circus-tui when set, else a per-user directory under /tmp."""
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and os.path.isdir(xdg):
        return Path(xdg) / "circus-tui"
    return Path(f"/tmp/circus-tui-{os.getuid()}")


def default_state_dir() -> Path:
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "state"
    return base / "circus-tui"


def private_dir(path: Path) -> int:
    """A descriptor of `path`, made 0700 if missing. An existing one must be ours, a real
    directory and closed to others, and so must be the way to it (trusted.open_dir); it is
    refused rather than changed, since it may be shared."""
    try:
        return open_dir(path, PRIVATE, create=0o700)
    except UnsafeDirectoryError as exc:
        if path == runtime_dir():
            raise UnsafeDirectoryError(f"{exc}; {RUNTIME_ADVICE}") from None
        raise


def socket_dir(path: Path) -> int:
    """The directory of an ipc socket: made 0700 when missing; an existing one must belong to
    us or root and be writable by nobody else, or another user could replace the socket."""
    path = path.absolute()
    if path == runtime_dir():
        return private_dir(path)
    return open_dir(path, UNSHARED, create=0o700)


def check_socket(path: Path) -> None:
    """Before a client connects to the socket at `path`: its directory must be one only we or
    root can change, and the socket (if any) ours or root's. Otherwise another user could be
    answering in the daemon's place, with whatever text she likes."""
    path = path.absolute()
    try:
        fd = open_dir(path.parent, PRIVATE if path.parent == runtime_dir() else UNSHARED)
    except FileNotFoundError:
        return  # no daemon there: the call says so when it times out
    except UnsafeDirectoryError as exc:
        raise UnsafeDirectoryError(f"{exc}; refusing to talk to a daemon there") from None
    try:
        info = os.stat(path.name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    finally:
        os.close(fd)
    if not stat.S_ISSOCK(info.st_mode):
        raise UnsafeDirectoryError(f"{path} is not a socket")
    if info.st_uid not in (0, os.getuid()):
        raise UnsafeDirectoryError(
            f"{path} is owned by uid {info.st_uid}: refusing to talk to a daemon of another user"
        )


def default_endpoints() -> dict[str, str]:
    base = runtime_dir()
    return {
        "endpoint": f"ipc://{base}/control.sock",
        "pubsub_endpoint": f"ipc://{base}/events.sock",
        "stats_endpoint": f"ipc://{base}/stats.sock",
    }
