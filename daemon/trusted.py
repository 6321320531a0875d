"""Paths another local user cannot redirect: every directory on the way is opened one component
at a time, from `/`, through held file descriptors, and checked as it is opened.

A directory is trusted when it belongs to root or to us and nobody else may write to it; a
sticky directory of root's (`/tmp`) is trusted on the way, since others cannot rename or remove
what is ours in it. A symbolic link is followed only where it lies in a trusted directory, so
only root or we could have made it; the last component of a file is never followed
(`O_NOFOLLOW`). What is then opened relative to the held descriptor (`openat`) cannot be swapped
for a link afterwards: whoever could do that is root or us.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
MAX_LINKS = 40  # as the kernel's own limit on links in one lookup


class UnsafeDirectoryError(RuntimeError):
    pass


@dataclass(frozen=True)
class Rule:
    """What the last directory of a path must be; those on the way are only trusted."""

    own: bool  # owned by us, not only by us or root
    private: bool  # closed to group and others entirely (mode 0700 or less)
    sticky_ok: bool  # a sticky directory of root's will do (files in it are checked instead)


PRIVATE = Rule(own=True, private=True, sticky_ok=False)  # state and runtime directories
UNSHARED = Rule(own=False, private=False, sticky_ok=False)  # a socket's directory
FILES = Rule(own=False, private=False, sticky_ok=True)  # a log file's or pidfile's directory


def _owners() -> tuple[int, ...]:
    return (0, os.getuid())


def _problem(info: os.stat_result, rule: Rule | None) -> str | None:
    """Why a directory is not to be trusted (None: it is). `rule` None: one on the way."""
    uid = os.getuid()
    if not stat.S_ISDIR(info.st_mode):
        return "is not a directory"
    if rule is not None and rule.own and info.st_uid != uid:
        return f"is owned by uid {info.st_uid}, not by us (uid {uid})"
    if info.st_uid not in _owners():
        return f"is owned by uid {info.st_uid}: that user could replace what is in it"
    mode = info.st_mode & 0o777
    if rule is not None and rule.private and mode & 0o077:
        return f"is open to other users (mode {oct(mode)})"
    if mode & 0o022:
        root_sticky = info.st_uid == 0 and info.st_mode & stat.S_ISVTX
        if not root_sticky or (rule is not None and not rule.sticky_ok):
            return f"is writable by other users (mode {oct(info.st_mode & 0o7777)})"
    return None


def open_dir(path: Path, rule: Rule, *, create: int | None = None) -> int:
    """A descriptor of directory `path` (absolute), every directory on the way trusted and the
    last one as `rule` says. `create`: the mode to make missing directories with (filtered by
    the umask), else a missing one raises FileNotFoundError. The caller closes the fd."""
    if not path.is_absolute():
        raise ValueError(f"{path} is not absolute")
    stack = [os.open("/", DIR_FLAGS)]  # the real directories walked so far
    names: list[str] = []  # and their names, for messages
    todo = [p for p in path.parts[1:] if p not in ("", ".")]
    links = 0
    made: str | None = None  # the name of a directory made just now
    created = False  # the last directory is one we made
    try:
        while todo:
            part = todo.pop(0)
            if part == "..":
                if len(stack) > 1:
                    os.close(stack.pop())
                    names.pop()
                continue
            here = stack[-1]
            shown = "/" + "/".join([*names, part])
            try:
                fd = os.open(part, DIR_FLAGS, dir_fd=here)
                created, made = part == made, None
            except FileNotFoundError:
                if create is None:
                    raise FileNotFoundError(errno.ENOENT, "no such directory", shown) from None
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, create, dir_fd=here)
                    made = part
                todo.insert(0, part)
                continue
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                    raise
                info = os.stat(part, dir_fd=here, follow_symlinks=False)
                if not stat.S_ISLNK(info.st_mode):
                    raise UnsafeDirectoryError(f"{shown} is not a directory") from None
                if info.st_uid not in _owners():
                    # In a sticky directory anyone may have made it.
                    raise UnsafeDirectoryError(
                        f"{shown} is a symbolic link of uid {info.st_uid}: not followed"
                    ) from None
                # Root's or ours, in a trusted directory: it may be followed.
                links += 1
                if links > MAX_LINKS:
                    raise UnsafeDirectoryError(f"{shown}: too many symbolic links") from None
                target = os.readlink(part, dir_fd=here)
                try:
                    os.stat(part, dir_fd=here)
                except FileNotFoundError:
                    # Never made through a link: where it points was not meant to be made.
                    raise UnsafeDirectoryError(
                        f"{shown} is a symbolic link to {target}, which does not exist"
                    ) from None
                except OSError as exc:
                    if exc.errno != errno.ELOOP:
                        raise
                    # A loop: followed below until MAX_LINKS says so, with the path in it.
                if target.startswith("/"):
                    while len(stack) > 1:
                        os.close(stack.pop())
                    names.clear()
                todo[:0] = [p for p in Path(target).parts if p not in ("", ".", "/")]
                continue
            stack.append(fd)
            names.append(part)
            why = _problem(os.fstat(fd), None)
            if why is not None:
                raise UnsafeDirectoryError(f"{shown} {why}")
        info = os.fstat(stack[-1])
        if created and rule.private and info.st_mode & 0o077:
            os.fchmod(stack[-1], 0o700)  # mkdir's mode was filtered by an odd umask: ours now
            info = os.fstat(stack[-1])
        why = _problem(info, rule)
        if why is not None:
            raise UnsafeDirectoryError(f"{'/' + '/'.join(names)} {why}")
        return stack.pop()
    finally:
        for fd in stack:
            os.close(fd)


def open_file(dir_fd: int, name: str, flags: int, mode: int = 0o666) -> int:
    """`name` in a trusted directory, never through a link, and only a plain file of root's or
    ours that no other name shares (a hard link to someone else's file is refused)."""
    fd = os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=dir_fd)
    info = os.fstat(fd)
    why = None
    if not stat.S_ISREG(info.st_mode):
        why = "is not a regular file"
    elif info.st_uid not in _owners():
        why = f"is owned by uid {info.st_uid}"
    elif info.st_nlink > 1:
        why = "has other hard links"
    if why is not None:
        os.close(fd)
        raise UnsafeDirectoryError(f"{name} {why}")
    return fd


def write_atomic(dir_fd: int, name: str, data: bytes, mode: int = 0o600) -> None:
    """Whoever reads `name` sees the old content or the new, never half of it."""
    partial = f".{name}.{os.getpid()}.tmp"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(partial, dir_fd=dir_fd)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(partial, flags, mode, dir_fd=dir_fd)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(partial, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)


def read_file(dir_fd: int, name: str, limit: int = 1 << 20) -> bytes:
    fd = open_file(dir_fd, name, os.O_RDONLY)
    try:
        return os.read(fd, limit)
    finally:
        os.close(fd)


# Where code is imported from: owned by root or us, writable by nobody else, no sticky /tmp.
CODE = Rule(own=False, private=False, sticky_ok=False)


def distrust(path: Path) -> str | None:
    """Why another user could put a module in directory `path` that we would then import (as
    `path` and every directory on the way are checked), or None when nobody else could."""
    try:
        os.close(open_dir(path.absolute(), CODE))
    except UnsafeDirectoryError as exc:
        return str(exc)
    except OSError as exc:
        return f"{path}: {exc.strerror or exc}"
    return None
