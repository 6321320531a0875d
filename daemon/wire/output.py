"""Output bodies: one line as `tail` replies and `output.<watcher>.` batches carry it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from daemon.output import Line


def line_body(line: Line) -> dict[str, object]:
    return {
        "seq": line.seq,
        "time": line.time,
        "pid": line.pid,
        "stream": line.stream,
        "data": line.data.decode("utf-8", "replace"),
        "partial": line.partial,
    }


def batch_body(watcher: str, lines: Sequence[Line]) -> dict[str, Any]:
    """An `output.<watcher>.` message: first and last sequence numbers let a subscriber that
    missed a batch know to refill with `tail`."""
    return {
        "watcher": watcher,
        "first": lines[0].seq,
        "last": lines[-1].seq,
        "lines": [line_body(ln) for ln in lines],
    }
