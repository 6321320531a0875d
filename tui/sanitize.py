"""Child output made safe to show: colour kept, every other terminal control neutralised.

A supervised program writes whatever it likes; the console draws it in the operator's
terminal. What is neutralised, and how, is `daemon.printable`'s rule, shared with
`circus-tui ctl`: escape sequences other than SGR dropped, controls shown as their pictures,
C1 controls, lone surrogates, bidi controls and zero-width characters shown as `�`. On top of
it, here:

- the SGR sequences that survive (`ESC [ params m`: colour, bold, ...) are parsed into Rich
  styles, never written through;
- TAB expands to spaces at tab stops of 8, counted in cells of the visible text.

Nothing here imports Textual; `to_text` builds a Rich `Text` for the log view.
"""

from __future__ import annotations

from typing import Final

from rich.ansi import AnsiDecoder
from rich.cells import cell_len
from rich.text import Text

from daemon.printable import NEEDS_WORK, NEEDS_WORK_BUT_TAB, SGR_RE, neutralise

TAB_SIZE: Final = 8
MAX_WIDTH: Final = 4_000  # cells shown of one line, at most
MAX_SGR: Final = 1_000  # colour changes parsed in one line, at most
RAW_LIMIT: Final = 65_536  # characters of one entry looked at, at most (the daemon's line limit)
ELLIPSIS: Final = "…"


def _expand_tabs(text: str) -> str:
    # Tab stops count visible cells only: SGR sequences take no room on screen.
    out: list[str] = []
    column = 0
    position = 0
    for sgr in SGR_RE.finditer(text):
        column = _expand_piece(text[position : sgr.start()], column, out)
        out.append(sgr.group())
        position = sgr.end()
    _expand_piece(text[position:], column, out)
    return "".join(out)


def _expand_piece(piece: str, column: int, out: list[str]) -> int:
    if "\t" not in piece:
        out.append(piece)
        return column + cell_len(piece)
    *heads, last = piece.split("\t")
    for head in heads:
        column += cell_len(head)
        pad = TAB_SIZE - column % TAB_SIZE
        out.append(head)
        out.append(" " * pad)
        column += pad
    out.append(last)
    return column + cell_len(last)


def sanitize(text: str) -> str:
    """`text` with SGR sequences kept and every other control neutralised (see the module)."""
    if not NEEDS_WORK.search(text):
        return text
    cleaned = neutralise(text)
    return _expand_tabs(cleaned) if "\t" in cleaned else cleaned


def _cap(text: str, limit: int) -> tuple[str, bool]:
    """At most `limit` characters of raw text, not ending inside a short escape sequence."""
    if len(text) <= limit:
        return text, False
    cut = text[:limit]
    # A sequence cut in half would show as `␛[38;5`; drop its start instead (it is past the
    # display limit anyway, and an unterminated one is neutralised regardless).
    escape = cut.rfind("\x1b", max(0, limit - 80))
    if escape >= 0 and not SGR_RE.match(cut, escape):
        cut = cut[:escape]
    return cut, True


def plain_text(text: str) -> str:
    """What the operator reads: sanitised, without the SGR sequences.

    The filter matches against this. Equal to `to_text(text).plain` for lines that fit.
    """
    if len(text) <= RAW_LIMIT:
        if not NEEDS_WORK.search(text):
            return text
        # The filter runs this on every arriving line: coloured lines and tabbed ASCII lines
        # (most of what is not plain) take a shortcut with the same result.
        stripped = SGR_RE.sub("", text) if "\x1b" in text else text
        if stripped.isascii() and not NEEDS_WORK_BUT_TAB.search(stripped):
            return stripped.expandtabs(TAB_SIZE) if "\t" in stripped else stripped
    capped, _ = _cap(text, RAW_LIMIT)
    cleaned = sanitize(capped)
    return SGR_RE.sub("", cleaned) if "\x1b" in cleaned else cleaned


def _limit_sgr(text: str, keep: int) -> str:
    # Past `keep` colour changes the rest of the line keeps the last colour: parsing a million
    # of them would stall the screen for seconds.
    out: list[str] = []
    position = 0
    for count, sgr in enumerate(SGR_RE.finditer(text)):
        out.append(text[position : sgr.start()])
        if count < keep:
            out.append(sgr.group())
        position = sgr.end()
    out.append(text[position:])
    return "".join(out)


def to_text(text: str, max_width: int = MAX_WIDTH) -> Text:
    """`text` sanitised and its SGR colours parsed, cut to `max_width` cells with a `…`.

    `cell_len(result.plain) <= max_width` always holds.

    The cost is bounded by `max_width`, whatever the input: at most 16 raw characters per
    cell are looked at, and at most `MAX_SGR` colour changes are parsed.
    """
    max_width = max(1, max_width)
    capped, cut = _cap(text, min(RAW_LIMIT, max_width * 16 + 64))
    cleaned = sanitize(capped)
    if "\x1b" in cleaned:
        if cleaned.count("\x1b") > MAX_SGR:
            cleaned = _limit_sgr(cleaned, MAX_SGR)
        # One line, no CR left: the decoder's line parser alone, without from_ansi's split/join.
        result = AnsiDecoder().decode_line(cleaned)
        result.end, result.no_wrap = "", True
    else:
        result = Text(cleaned, end="", no_wrap=True)
    if cell_len(result.plain) > max_width:
        result.truncate(max_width, overflow="ellipsis")
    elif cut:
        result.truncate(max_width - 1, overflow="crop")
        result.append(ELLIPSIS)
    return result
