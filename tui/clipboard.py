"""Output lines for the operator's clipboard, by OSC 52 (`App.copy_to_clipboard` writes
`ESC ] 52 ; c ; BASE64 BEL`): the terminal sets its clipboard, through SSH and tmux too.

The text is the line as the program wrote it, made safe to paste (`daemon.printable`): colour
sequences dropped, other controls shown as their pictures, TAB kept. A terminal accepts an
OSC 52 payload of limited size (about 100 KB of base64 is what many accept, and more is slow
to send over SSH): at most `MAX_BYTES` of UTF-8 are copied, the newest lines kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from daemon.printable import printable

MAX_BYTES = 75_000  # 100,000 bytes once in base64


class Copied(NamedTuple):
    text: str
    lines: int  # lines copied
    of: int  # lines asked for
    cut: bool  # fewer lines than asked for, or the one line cut short


def clipboard_text(lines: Sequence[str], limit: int = MAX_BYTES) -> Copied:
    """`lines`, safe to paste, one per line: the newest that fit in `limit` bytes of UTF-8.
    A single line longer than that is cut."""
    kept: list[str] = []
    size = 0
    cut = False
    for raw in reversed(lines):
        line = printable(raw)
        cost = len(line.encode("utf-8")) + (1 if kept else 0)
        if size + cost > limit:
            cut = True
            if not kept:
                kept.append(line.encode("utf-8")[:limit].decode("utf-8", "ignore"))
            break
        kept.append(line)
        size += cost
    kept.reverse()
    return Copied("\n".join(kept), len(kept), len(lines), cut)


def summary(copied: Copied) -> str:
    """What the notification says."""
    count = f"{copied.lines:,} line{'s' if copied.lines != 1 else ''}"
    if not copied.cut:
        return f"copied {count}"
    what = f"{count} of {copied.of:,}, the newest" if copied.lines < copied.of else count
    return f"copied {what}, cut to {MAX_BYTES:,} bytes (what a clipboard takes)"
