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
    """Create `path` 0700 if missing; refuse it if it is not ours or is open to others."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise UnsafeDirectoryError(f"{path} is not a directory")
    if info.st_uid != os.getuid():
        raise UnsafeDirectoryError(f"{path} is owned by uid {info.st_uid}, not by us")
    if info.st_mode & 0o077:
        os.chmod(path, 0o700)
    return path


def default_endpoints() -> dict[str, str]:
    base = runtime_dir()
    return {
        "endpoint": f"ipc://{base}/control.sock",
        "pubsub_endpoint": f"ipc://{base}/events.sock",
        "stats_endpoint": f"ipc://{base}/stats.sock",
    }
