"""A watcher's log file: opened through directories no other user can change, appended to,
rotated by size, reopened when somebody else rotated it, and never raising on a full disk."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from daemon import trusted

log = logging.getLogger("circus-tui")

LOG_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT


def open_log(path: Path) -> tuple[int, int]:
    """(directory fd, file fd) of the log file at `path` (absolute), made if missing: the
    directories on the way only root or we can change, the file itself never a link nor
    somebody else's (daemon.trusted). Raises OSError or UnsafeDirectoryError."""
    directory = trusted.open_dir(path.parent, trusted.FILES, create=0o777)
    try:
        return directory, trusted.open_file(directory, path.name, LOG_FLAGS)
    except OSError as exc:
        os.close(directory)
        if exc.errno == errno.ELOOP:
            raise trusted.UnsafeDirectoryError(f"{path} is a symbolic link") from None
        raise
    except BaseException:
        os.close(directory)
        raise


class LogFile:
    """An append-only log file with size-based rotation that survives external rotation.

    `path.N` are the rotated files, 1 the newest, all named relative to the directory held
    open. Writes never raise: a full disk or a vanished directory must not take the
    supervisor down.
    """

    def __init__(
        self,
        path: Path,
        max_bytes: int = 0,
        backup_count: int = 5,
        on_problem: Callable[[LogFile], None] | None = None,
    ) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backup_count = backup_count
        self._dir = -1
        self._fd = -1
        self._size = 0
        self._inode: int | None = None
        self.errors = 0
        self.lost = 0  # lines not written, since the daemon started
        # Why lines are not written now (None: they are); `on_problem` hears each change.
        self.problem: str | None = None
        self.on_problem = on_problem
        self._open()

    def _set_problem(self, problem: str | None) -> None:
        if problem == self.problem:
            return
        self.problem = problem
        if problem is not None:
            log.error("output log %s: %s; lines are not written meanwhile", self.path, problem)
        else:
            log.warning("output log %s: written again; %d lines were not", self.path, self.lost)
        if self.on_problem is not None:
            self.on_problem(self)

    def _open(self) -> None:
        try:
            if self._dir < 0:
                self._dir, self._fd = open_log(self.path)
            else:
                self._fd = trusted.open_file(self._dir, self.path.name, LOG_FLAGS)
            info = os.fstat(self._fd)
            self._size, self._inode = info.st_size, info.st_ino
        except OSError as exc:
            self._fd = -1
            self.errors += 1
            self._set_problem(exc.strerror or str(exc))
        except trusted.UnsafeDirectoryError as exc:
            self._fd = -1
            self.errors += 1
            self._set_problem(str(exc))

    def write(self, data: bytes, lines: int) -> None:
        """Append `lines` whole lines (`data` ends with a newline). All of them, or as many
        whole ones as fit: a full disk never leaves half a line for the next to continue.
        With max_bytes, a burst larger than the room left is split at line ends, so that it
        rotates as it goes and no file grows past max_bytes (but by one line longer than
        that)."""
        if self.max_bytes and lines > 1 and self._size + len(data) > self.max_bytes:
            for piece, count in _at_line_ends(data, self.max_bytes - self._size, self.max_bytes):
                self._append(piece, count)
            return
        self._append(data, lines)

    def _append(self, data: bytes, lines: int) -> None:
        if self._fd < 0:
            self._open()
            if self._fd < 0:
                self.lost += lines
                return
        if self.max_bytes and self._size and self._size + len(data) > self.max_bytes:
            self.rotate()
            if self._fd < 0:
                self.lost += lines
                return
        done = 0
        try:
            while done < len(data):
                done += os.write(self._fd, data[done:] if done else data)
        except OSError as exc:
            self.errors += 1
            whole = data.rfind(b"\n", 0, done) + 1
            if done > whole:
                # Take the torn line back: O_APPEND, so it ends the file.
                with contextlib.suppress(OSError):
                    end = os.lseek(self._fd, 0, os.SEEK_END)
                    os.ftruncate(self._fd, end - (done - whole))
            self._size += whole
            self.lost += lines - data.count(b"\n", 0, whole)
            self._set_problem(exc.strerror or str(exc))
            return
        self._size += done
        if self.problem is not None:
            self._set_problem(None)

    def _name(self, n: int) -> str:
        return f"{self.path.name}.{n}" if n else self.path.name

    def rotate(self) -> None:
        self.close(keep_dir=True)
        if self._dir >= 0:
            moves = [(n, n + 1) for n in range(self.backup_count - 1, -1, -1)]
            for src, dst in moves if self.backup_count > 0 else []:
                with contextlib.suppress(OSError):
                    os.replace(
                        self._name(src), self._name(dst), src_dir_fd=self._dir, dst_dir_fd=self._dir
                    )
            if self.backup_count <= 0:
                with contextlib.suppress(OSError):
                    os.unlink(self.path.name, dir_fd=self._dir)
        self._open()

    def reopen_if_moved(self) -> bool:
        """Reopen when logrotate (or anyone) renamed or removed the file, or its directory,
        under us."""
        info = None
        if self._dir >= 0 and os.fstat(self._dir).st_nlink > 0:
            with contextlib.suppress(OSError):
                info = os.stat(self.path.name, dir_fd=self._dir, follow_symlinks=False)
        if info is None or info.st_ino != self._inode:
            self.reopen()
            return True
        if info.st_size < self._size:
            self._size = info.st_size  # truncated in place (logrotate's copytruncate)
        return False

    def reopen(self) -> None:
        """Walk the path again: a directory that was moved or removed is looked up anew."""
        self.close()
        self._open()

    def close(self, keep_dir: bool = False) -> None:
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1
        if self._dir >= 0 and not keep_dir:
            with contextlib.suppress(OSError):
                os.close(self._dir)
            self._dir = -1


def _at_line_ends(data: bytes, room: int, size: int) -> Iterator[tuple[bytes, int]]:
    """`data` (whole lines) in pieces of whole lines: the first fitting `room`, the others
    `size` bytes each, a line longer than that alone."""
    start = 0
    while start < len(data):
        limit = start + max(room, 1)
        end = data.rfind(b"\n", start, limit) + 1
        if end <= start:  # one line longer than the room: alone
            end = data.find(b"\n", start) + 1 or len(data)
        piece = data[start:end]
        yield piece, piece.count(b"\n")
        start, room = end, size
