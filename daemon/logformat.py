"""How lines read together look in a log file: ours (time, pid and stream on each line), the
bytes alone (what Circus's FileStream writes), or Circus's FileStream with a `time_format`
(`TIME [PID] | line`).

A read brings many lines at once; the prefix is formatted once for all of them, so a flood
costs one strftime per read, not per line. A long line split into pieces (`partials`) is
written as one line again where the format has no way to mark the pieces.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

STAMPED = "stamped"
RAW = "raw"
CIRCUS = "circus"


def stamp(t: float) -> bytes:
    # Whole microseconds first: rounding the fraction alone could print .000000 for the
    # second that is about to end.
    seconds, micros = divmod(round(t * 1_000_000), 1_000_000)
    return (time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(seconds)) + f".{micros:06d}").encode()


@dataclass(frozen=True)
class LogFormat:
    kind: str = STAMPED
    time_format: str | None = None

    def render(
        self, now: float, pid: int, stream: str, datas: list[bytes], partials: list[bool] | None
    ) -> bytes:
        if self.kind == RAW:
            if partials is None:
                return b"\n".join(datas) + b"\n"
            return b"".join(
                d if part else d + b"\n" for d, part in zip(datas, partials, strict=True)
            )
        if self.kind == CIRCUS:
            when = datetime.fromtimestamp(now).strftime(self.time_format or "")
            head = f"{when} [{pid}] | ".encode(errors="surrogateescape")
            if partials is None:
                return head + (b"\n" + head).join(datas) + b"\n"
            return _continued(head, datas, partials)
        head = b"%s %d %s" % (stamp(now), pid, stream.encode())
        if partials is None:
            whole = head + b"  "
            return whole + (b"\n" + whole).join(datas) + b"\n"
        # Ours marks each piece of a split line with "+", so every piece keeps its stamp.
        return b"".join(
            head + (b"+ " if part else b"  ") + data + b"\n"
            for data, part in zip(datas, partials, strict=True)
        )


def _continued(head: bytes, datas: list[bytes], partials: list[bool]) -> bytes:
    """One prefix per line: the pieces after the first of a split line follow without one."""
    out: list[bytes] = []
    starts_line = True
    for data, part in zip(datas, partials, strict=True):
        if starts_line:
            out.append(head)
        out.append(data)
        if not part:
            out.append(b"\n")
        starts_line = not part
    return b"".join(out)
