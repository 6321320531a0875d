"""Where the daemon keeps its sockets and state by default, and the checks that keep them
private: a directory owned by someone else is refused rather than trusted."""

from __future__ import annotations

import os
import stat
from pathlib import Path


class UnsafeDirectoryError(RuntimeError):
    pass


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


def ensure_private_dir(path: Path) -> Path:
    """Create `path` 0700 if missing. An existing one must be ours, a real directory, and
    closed to others; it is refused rather than changed, since it may be shared."""
    created = not path.exists()
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise UnsafeDirectoryError(f"{path} is not a directory")
    if info.st_uid != os.getuid():
        raise UnsafeDirectoryError(f"{path} is owned by uid {info.st_uid}, not by us")
    if info.st_mode & 0o077:
        if not created:
            raise UnsafeDirectoryError(
                f"{path} is open to other users (mode {oct(info.st_mode & 0o777)}); "
                "use a directory only you can read, or chmod 700 it"
            )
        os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask
    return path


def check_socket_dir(path: Path) -> Path:
    """The directory of a configured ipc socket: created 0700 when missing; an existing one
    must be ours, or sticky (like /tmp) so nobody else can replace our socket in it."""
    if not path.exists():
        return ensure_private_dir(path)
    info = os.stat(path)
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeDirectoryError(f"{path} is not a directory")
    if info.st_uid != os.getuid() and not info.st_mode & stat.S_ISVTX:
        raise UnsafeDirectoryError(
            f"{path} is owned by uid {info.st_uid} and others could replace a socket in it"
        )
    return path


def default_endpoints() -> dict[str, str]:
    base = runtime_dir()
    return {
        "endpoint": f"ipc://{base}/control.sock",
        "pubsub_endpoint": f"ipc://{base}/events.sock",
        "stats_endpoint": f"ipc://{base}/stats.sock",
    }
