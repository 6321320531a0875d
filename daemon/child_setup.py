"""What a process is given between fork and exec besides its argv and environment: the user,
its primary group and its supplementary groups, resource limits (Circus's rlimit_*), the
umask, and systemd-style sockets at 3, 4, ….

Whatever Popen can do in C (user, groups, umask) is left to it. Resource limits need Python
code in the child (`preexec_fn`): then it also changes the user, after the limits, because only
root may raise a hard limit (as circusd orders it). The values are checked in the daemon first,
so that the child has nothing left to refuse.
"""

from __future__ import annotations

import contextlib
import fcntl
import grp
import os
import pwd
import resource
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Identity:
    uid: int | None = None
    gid: int | None = None
    groups: tuple[int, ...] | None = None  # supplementary groups; None: left as they are


def identity(user: str | int | None, group: str | int | None) -> Identity:
    """The uid, gid and supplementary groups a process runs with. A user without a group
    gets the user's primary group and the groups the user belongs to (as initgroups(3) and
    circusd give them), not the daemon's. KeyError: no such user or group."""
    if user is None and group is None:
        return Identity()
    entry = None
    if user is not None:
        entry = pwd.getpwnam(user) if isinstance(user, str) else _pw_or_none(user)
    uid = entry.pw_uid if entry is not None else user if isinstance(user, int) else None
    if group is not None:
        gid = grp.getgrnam(group).gr_gid if isinstance(group, str) else group
    elif entry is not None:
        gid = entry.pw_gid
    else:
        gid = None
    groups: tuple[int, ...] | None = None
    if entry is not None and gid is not None and os.geteuid() == 0:
        groups = tuple(os.getgrouplist(entry.pw_name, gid))
    elif uid is not None and os.geteuid() == 0:
        groups = (gid,) if gid is not None else ()
    return Identity(uid, gid, groups)


def _pw_or_none(uid: int) -> pwd.struct_passwd | None:
    try:
        return pwd.getpwuid(uid)
    except KeyError:  # a uid without a name: no groups to look up
        return None


def _resource(name: str) -> int:
    return int(getattr(resource, f"RLIMIT_{name.upper()}"))


def limits(rlimits: dict[str, int]) -> list[tuple[int, int]]:
    """(resource, value) pairs to set, checked against what this daemon may set; ValueError
    with the option's name when one cannot be. -1 is unlimited; for the open files limit,
    which the kernel caps, unlimited means the daemon's hard limit (as circusd falls back)."""
    found = []
    root = os.geteuid() == 0
    for name, value in rlimits.items():
        key = _resource(name)
        _soft, hard = resource.getrlimit(key)
        wanted = resource.RLIM_INFINITY if value == -1 else value
        if wanted == resource.RLIM_INFINITY and key == resource.RLIMIT_NOFILE:
            wanted = hard
        above = hard != resource.RLIM_INFINITY and (
            wanted == resource.RLIM_INFINITY or wanted > hard
        )
        shown = "unlimited" if value == -1 else str(value)
        if above and not root:
            raise ValueError(
                f"rlimit_{name} = {shown}: above the daemon's hard limit {hard}, "
                "which only root may raise"
            )
        cap = _nr_open() if key == resource.RLIMIT_NOFILE else None
        if cap is not None and wanted > cap:
            raise ValueError(
                f"rlimit_{name} = {shown}: above the kernel's limit {cap} (fs.nr_open)"
            )
        found.append((key, wanted))
    return found


def _nr_open() -> int | None:
    try:
        return int(Path("/proc/sys/fs/nr_open").read_text())
    except (OSError, ValueError):
        return None


@dataclass(frozen=True)
class ChildSetup:
    ident: Identity = field(default_factory=Identity)
    rlimits: list[tuple[int, int]] = field(default_factory=list)
    listen_fds: tuple[int, ...] = ()

    def popen_args(self) -> dict[str, Any]:
        """Popen's user, group, extra_groups and preexec_fn for this setup."""
        ident = self.ident
        if not self.rlimits:
            return {
                "user": ident.uid,
                "group": ident.gid,
                "extra_groups": list(ident.groups) if ident.groups is not None else None,
                "preexec_fn": _placer(self.listen_fds) if self.listen_fds else None,
            }
        return {"preexec_fn": self._preexec()}

    def _preexec(self) -> Callable[[], None]:
        place = _placer(self.listen_fds) if self.listen_fds else None
        limits_to_set = list(self.rlimits)
        ident = self.ident

        def setup() -> None:
            for key, value in limits_to_set:
                resource.setrlimit(key, (value, value))
            if ident.groups is not None:
                os.setgroups(list(ident.groups))
            if ident.gid is not None:
                os.setgid(ident.gid)
            if ident.uid is not None:
                os.setuid(ident.uid)
            if place is not None:
                place()

        return setup


def _placer(fds: tuple[int, ...]) -> Callable[[], None]:
    """Runs in the child between fork and exec: `fds` moved to 3, 4, …, and every other
    descriptor that would survive the exec closed. close_fds cannot do it: it would close the
    moved ones too."""
    count = len(fds)

    def place() -> None:
        # Through copies above every target first, so that no move overwrites a descriptor
        # still to be moved.
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 3 + count) for fd in fds]
        for i, fd in enumerate(high):
            os.dup2(fd, 3 + i)
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            if fd < 3 + count:
                continue
            with contextlib.suppress(OSError):  # the listing's own descriptor, gone by now
                if not fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC:
                    os.close(fd)

    return place
