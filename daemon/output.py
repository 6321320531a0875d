"""Program output: one non-blocking reader per pipe, split into lines, kept in a bounded
per-watcher ring and appended to the watcher's log file (daemon/logfile.py).

Children must never block on a full pipe, so readers run for as long as the pipe is open,
whatever any client does. Lines are handled a read at a time (up to 64 KiB), so a flood
costs one write to disk per read, not one per line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterable
from itertools import islice, repeat
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple

from daemon.logfile import LogFile
from daemon.logformat import LogFormat

log = logging.getLogger("circus-tui")

READ_SIZE = 65536
MAX_LINE_LENGTH = 65536
OUTPUT_BUFFER_BYTES = 16 * 1024 * 1024
# What the ring counts for one line besides its bytes: about what the daemon's own record of
# a line costs in memory (the tuple, the bytes object, its sequence number).
LINE_COST = 160

_data = itemgetter(4)


class Line(NamedTuple):
    # A tuple: a flood creates one per line, and tuples are the cheapest to build.
    seq: int
    time: float
    pid: int
    stream: str  # "stdout" | "stderr"
    data: bytes  # raw bytes, without the newline
    partial: bool = False  # split because it exceeded the line limit


class OutputLog:
    """Everything one watcher's processes write: ring buffer, log file(s), listeners."""

    def __init__(
        self,
        name: str,
        stdout_path: Path | None,
        stderr_path: Path | None = None,
        buffer_lines: int = 10_000,
        max_bytes: int = 0,
        backup_count: int = 5,
        buffer_bytes: int = OUTPUT_BUFFER_BYTES,
        log_format: LogFormat | None = None,
    ) -> None:
        self.name = name
        self.log_format = log_format or LogFormat()
        # Bounded twice: in lines, and in bytes (data plus LINE_COST each), since lines of
        # up to max_line_length would otherwise let 10,000 of them take 640 MiB.
        self.ring: deque[Line] = deque(maxlen=buffer_lines)
        self.ring_bytes = 0
        self.buffer_bytes = buffer_bytes
        self.seq = 0
        self.listeners: list[Callable[[list[Line]], None]] = []
        # Told when a log file starts or stops failing (a full disk, say).
        self.on_problem: Callable[[LogFile], None] | None = None
        self.files: dict[str, LogFile] = {}
        self.configure(
            stdout_path,
            stderr_path,
            buffer_lines,
            max_bytes,
            backup_count,
            buffer_bytes,
            self.log_format,
        )

    def configure(
        self,
        stdout_path: Path | None,
        stderr_path: Path | None = None,
        buffer_lines: int = 10_000,
        max_bytes: int = 0,
        backup_count: int = 5,
        buffer_bytes: int = OUTPUT_BUFFER_BYTES,
        log_format: LogFormat | None = None,
    ) -> None:
        """(Re)apply the output options; the ring and the sequence numbers carry on."""
        self.log_format = log_format or LogFormat()
        if buffer_lines != self.ring.maxlen:
            self.ring = deque(self.ring, maxlen=buffer_lines)
            self.ring_bytes = _cost(self.ring, len(self.ring))
        self.buffer_bytes = buffer_bytes
        self._trim()
        current = self.files.get("stdout")
        wanted = (stdout_path, stderr_path if stderr_path != stdout_path else None)
        if current is None or (current.path, self._stderr_path()) != wanted:
            self.close()
            self.files = {}
            if stdout_path is not None:
                shared = LogFile(stdout_path, max_bytes, backup_count, self._problem)
                self.files = {"stdout": shared, "stderr": shared}
                if wanted[1] is not None:
                    self.files["stderr"] = LogFile(
                        wanted[1], max_bytes, backup_count, self._problem
                    )
        for log in set(self.files.values()):
            log.max_bytes, log.backup_count = max_bytes, backup_count

    def _problem(self, logfile: LogFile) -> None:
        if self.on_problem is not None:
            self.on_problem(logfile)

    def log_problem(self) -> str | None:
        """Why lines are not written to a log file now, with how many were not."""
        problems = [f.problem for f in set(self.files.values()) if f.problem is not None]
        return f"{problems[0]} ({self.lost():,} lines not written)" if problems else None

    def lost(self) -> int:
        return sum(f.lost for f in set(self.files.values()))

    def log_paths(self) -> dict[str, Path]:
        """The file each captured stream is written to ("stdout", "stderr")."""
        return {stream: log.path for stream, log in self.files.items()}

    def _stderr_path(self) -> Path | None:
        out, err = self.files.get("stdout"), self.files.get("stderr")
        return err.path if err is not None and err is not out else None

    def add(self, pid: int, stream: str, data: bytes, partial: bool = False) -> None:
        self.add_many(pid, stream, [data], [partial] if partial else None)

    def add_many(
        self, pid: int, stream: str, datas: list[bytes], partials: list[bool] | None = None
    ) -> None:
        """Record lines read together; `partials` marks pieces of a split long line (None:
        none is). The common case, whole lines, takes the fast path through every step."""
        now = time.time()
        first = self.seq + 1
        count = len(datas)
        self.seq += count
        lines = list(
            map(
                Line,
                range(first, first + count),
                repeat(now, count),
                repeat(pid, count),
                repeat(stream, count),
                datas,
                partials if partials is not None else repeat(False, count),
            )
        )
        self._keep(lines, datas)
        log = self.files.get(stream)
        if log is not None:
            log.write(self.log_format.render(now, pid, stream, datas, partials), count)
        for listener in self.listeners:
            listener(lines)

    def _keep(self, lines: list[Line], datas: list[bytes]) -> None:
        ring = self.ring
        room = ring.maxlen or 0
        if room == 0:
            return
        if len(lines) > room:
            lines, datas = lines[-room:], datas[-room:]
        # What the deque drops from its left as it takes these: uncount it first.
        dropped = len(ring) + len(lines) - room
        if dropped > 0:
            self.ring_bytes -= _cost(islice(ring, dropped), dropped)
        ring.extend(lines)
        self.ring_bytes += sum(map(len, datas)) + LINE_COST * len(datas)
        self._trim()

    def _trim(self) -> None:
        ring = self.ring
        while self.ring_bytes > self.buffer_bytes and ring:
            self.ring_bytes -= len(ring.popleft().data) + LINE_COST

    def tail(
        self, count: int | None = None, since: int | None = None, pid: int | None = None
    ) -> list[Line]:
        if since is not None:
            # The ring holds consecutive sequence numbers: index straight to `since`.
            oldest = self.seq - len(self.ring) + 1
            start = max(0, since + 1 - oldest)
            lines = list(islice(self.ring, start, None))
        else:
            lines = list(self.ring)
        if pid is not None:
            lines = [ln for ln in lines if ln.pid == pid]
        if count is not None:
            lines = lines[-count:] if count > 0 else []
        return lines

    def reopen_if_moved(self) -> None:
        for log in set(self.files.values()):
            log.reopen_if_moved()

    def reopen(self) -> None:
        for log in set(self.files.values()):
            log.reopen()

    def close(self) -> None:
        for log in set(self.files.values()):
            log.close()


def _cost(lines: Iterable[Line], count: int) -> int:
    # map and sum: no Python-level step per line, which a flood would pay on every read.
    return sum(map(len, map(_data, lines))) + LINE_COST * count


def _split_long(parts: list[bytes], limit: int) -> tuple[list[bytes], list[bool]]:
    out: list[bytes] = []
    partials: list[bool] = []
    for part in parts:
        while len(part) > limit:
            out.append(part[:limit])
            partials.append(True)
            part = part[limit:]
        out.append(part)
        partials.append(False)
    return out, partials


class PipeReader:
    """Reads one pipe without blocking the loop; feeds complete lines to `sink`."""

    def __init__(
        self,
        fd: int,
        pid: int,
        stream: str,
        sink: OutputLog,
        max_line: int = MAX_LINE_LENGTH,
    ) -> None:
        self.fd = fd
        self.pid = pid
        self.stream = stream
        self.sink = sink
        self.max_line = max_line
        self._buf = b""
        self.closed = asyncio.get_running_loop().create_future()
        os.set_blocking(fd, False)
        asyncio.get_running_loop().add_reader(fd, self.drain)

    def drain(self) -> None:
        """Read everything available now; used by the reader and before reporting an exit."""
        while self.fd >= 0:
            try:
                chunk = os.read(self.fd, READ_SIZE)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:
                self._finish()
                return
            self._feed(chunk)

    def _feed(self, chunk: bytes) -> None:
        data = self._buf + chunk if self._buf else chunk
        parts = data.split(b"\n")
        self._buf = parts.pop()
        limit = self.max_line
        partials: list[bool] | None = None
        if parts and max(map(len, parts)) > limit:
            parts, partials = _split_long(parts, limit)
        # An endless line without a newline is cut into marked pieces, never held whole.
        if len(self._buf) >= limit:
            if partials is None:
                partials = [False] * len(parts)
            while len(self._buf) >= limit:
                parts.append(self._buf[:limit])
                partials.append(True)
                self._buf = self._buf[limit:]
        if parts:
            self.sink.add_many(self.pid, self.stream, parts, partials)

    def _finish(self) -> None:
        if self._buf:
            self.sink.add_many(self.pid, self.stream, [self._buf])
            self._buf = b""
        self.close()

    def close(self) -> None:
        if self.fd >= 0:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self.fd)
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1
        if not self.closed.done():
            self.closed.set_result(None)
