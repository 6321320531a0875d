"""Program output: one non-blocking reader per pipe, split into lines, kept in a bounded
per-watcher ring and appended to the watcher's log file.

Children must never block on a full pipe, so readers run for as long as the pipe is open,
whatever any client does.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

READ_SIZE = 65536
MAX_LINE_LENGTH = 65536


@dataclass(frozen=True)
class Line:
    seq: int
    time: float
    pid: int
    stream: str  # "stdout" | "stderr"
    data: bytes  # raw bytes, without the newline
    partial: bool = False  # split because it exceeded the line limit

    def as_json(self) -> dict[str, object]:
        return {
            "seq": self.seq,
            "time": self.time,
            "pid": self.pid,
            "stream": self.stream,
            "data": self.data.decode("utf-8", "replace"),
            "partial": self.partial,
        }


class OutputLog:
    """Everything one watcher's processes write: ring buffer, log file, listeners."""

    def __init__(self, name: str, log_path: Path | None, buffer_lines: int = 10_000) -> None:
        self.name = name
        self.ring: deque[Line] = deque(maxlen=buffer_lines)
        self.seq = 0
        self.log_path = log_path
        self._fh = None
        self.listeners: list[Callable[[Line], None]] = []
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(log_path, "ab", buffering=0)  # noqa: SIM115 - kept open

    def add(self, pid: int, stream: str, data: bytes, partial: bool = False) -> None:
        self.seq += 1
        line = Line(self.seq, time.time(), pid, stream, data, partial)
        self.ring.append(line)
        if self._fh is not None:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(line.time))
            frac = f"{line.time % 1:.6f}"[1:]
            mark = "+" if partial else " "
            head = f"{stamp}{frac} {pid} {stream}{mark}".encode()
            # A full disk must not take the supervisor down.
            with contextlib.suppress(OSError):
                self._fh.write(head + data + b"\n")
        for listener in self.listeners:
            listener(line)

    def tail(
        self, count: int | None = None, since: int | None = None, pid: int | None = None
    ) -> list[Line]:
        lines = [
            ln
            for ln in self.ring
            if (since is None or ln.seq > since) and (pid is None or ln.pid == pid)
        ]
        if count is not None:
            lines = lines[-count:] if count > 0 else []
        return lines

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


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
        self._buf = bytearray()
        self.closed = asyncio.get_running_loop().create_future()
        os.set_blocking(fd, False)
        asyncio.get_running_loop().add_reader(fd, self._on_readable)

    def _on_readable(self) -> None:
        self.drain()

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
        buf = self._buf
        buf += chunk
        start = 0
        while True:
            nl = buf.find(b"\n", start)
            if nl < 0:
                break
            self._emit(bytes(buf[start:nl]))
            start = nl + 1
        del buf[:start]
        while len(buf) >= self.max_line:
            self.sink.add(self.pid, self.stream, bytes(buf[: self.max_line]), partial=True)
            del buf[: self.max_line]

    def _emit(self, data: bytes) -> None:
        while len(data) > self.max_line:
            self.sink.add(self.pid, self.stream, data[: self.max_line], partial=True)
            data = data[self.max_line :]
        self.sink.add(self.pid, self.stream, data)

    def _finish(self) -> None:
        if self._buf:
            self._emit(bytes(self._buf))
            self._buf.clear()
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
