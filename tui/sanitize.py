"""Child output made safe to show: colour kept, every other terminal control neutralised.

A supervised program writes whatever it likes; the console draws it in the operator's
terminal. Only SGR sequences (`ESC [ params m`: colour, bold, ...) survive, and they are parsed
into Rich styles, never written through. Everything else a terminal would act on is removed or
made visible:

- recognised escape sequences (other CSI such as `ESC[2J` or `ESC[?1049h`, OSC titles,
  hyperlinks and OSC 52 clipboard writes, DCS/SOS/PM/APC strings, two-byte escapes such as
  `ESC c`) are dropped: they carry no text, and showing `ESC[K` after every grep match would
  bury the line;
- an ESC that starts nothing recognisable (including a sequence cut off at the end of the text)
  becomes a visible `␛`, and whatever followed it stays as text;
- C0 controls become their Unicode control pictures (`\\x07` -> `␇`), DEL becomes `␡`; a
  single CR ending the text (a CRLF line ending) is dropped;
- 8-bit C1 controls (U+0080-U+009F, where U+009B is a one-character CSI), lone surrogates
  become `�`; U+2028/U+2029 become `␤`, because Rich and `str.splitlines` treat them as
  line breaks;
- TAB expands to spaces at tab stops of 8, counted in cells of the visible text.

Nothing here imports Textual; `to_text` builds a Rich `Text` for the log view.
"""

from __future__ import annotations

import re
from typing import Final

from rich.ansi import AnsiDecoder
from rich.cells import cell_len
from rich.text import Text

TAB_SIZE: Final = 8
MAX_WIDTH: Final = 4_000  # cells shown of one line, at most
MAX_SGR: Final = 1_000  # colour changes parsed in one line, at most
RAW_LIMIT: Final = 65_536  # characters of one entry looked at, at most (the daemon's line limit)
ELLIPSIS: Final = "…"

# Bounded, so that a parameter string never reaches int()'s digit limit in Rich's decoder.
_SGR_BODY = r"\[[0-9;:]{0,64}m"
SGR_RE: Final = re.compile(r"\x1b" + _SGR_BODY)

# One pass. An ESC that starts a valid SGR is not matched at all, so the common coloured line
# costs no Python callback. A match longer than one character is a whole sequence to drop; a
# single character is a control to make visible.
_NEUTRALISE = re.compile(
    r"\x1b(?!" + _SGR_BODY + r")"
    r"(?:\[[0-?]*[ -/]*[@-~]"  # CSI: cursor moves, erase, modes, reports
    r"|\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC: title, hyperlink, clipboard
    r"|[PX^_][^\x07\x1b]*(?:\x07|\x1b\\)"  # DCS, SOS, PM, APC strings
    r"|[ -/]+[0-~]"  # nF: character set designation and the like
    r"|[0-OQ-WYZ\\`-~]"  # Fp/Fe/Fs: ESC 7, ESC M, ESC c (full reset), stray ST
    r")?"
    r"|[\x00-\x08\x0a-\x1a\x1c-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]"
)

# Anything that needs more than the identity: controls, ESC, TAB, line separators, surrogates.
_NEEDS_WORK = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_NEEDS_WORK_BUT_TAB = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")

_PICTURES: Final[dict[str, str]] = {
    **{chr(code): chr(0x2400 + code) for code in range(0x20)},
    "\x7f": "\u2421",
    "\u2028": "\u2424",
    "\u2029": "\u2424",
}


def _replace(match: re.Match[str]) -> str:
    found = match.group()
    return _PICTURES.get(found, "\ufffd") if len(found) == 1 else ""


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
    if not _NEEDS_WORK.search(text):
        return text
    if text.endswith("\r"):
        # CRLF line endings: the CR ends the line, it is not content worth a `␍` on every line.
        text = text[:-1]
    cleaned = _NEUTRALISE.sub(_replace, text)
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
        if not _NEEDS_WORK.search(text):
            return text
        # The filter runs this on every arriving line: coloured lines and tabbed ASCII lines
        # (most of what is not plain) take a shortcut with the same result.
        stripped = SGR_RE.sub("", text) if "\x1b" in text else text
        if stripped.isascii() and not _NEEDS_WORK_BUT_TAB.search(stripped):
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
