"""Text from a program or a daemon, made safe to show on the operator's terminal.

Shared by `circus-tui ctl` and the console's log pane (`tui/sanitize.py`, which adds tab
expansion and turns the colours it keeps into Rich styles). Nothing a terminal would act on
gets through:

- recognised escape sequences (CSI such as `ESC[2J` or `ESC[?1049h`, OSC titles, hyperlinks
  and OSC 52 clipboard writes, DCS/SOS/PM/APC strings, two-byte escapes such as `ESC c`) are
  dropped: they carry no text, and showing `ESC[K` after every grep match would bury the line.
  SGR sequences (`ESC [ params m`: colour, bold, ...) are kept by `neutralise`, dropped by
  `printable`;
- an ESC that starts nothing recognisable (including a sequence cut off at the end of the text)
  becomes a visible `␛`, and whatever followed it stays as text;
- C0 controls but TAB become their Unicode control pictures (`\\x07` -> `␇`), DEL becomes `␡`;
  a single CR ending the text (a CRLF line ending) is dropped;
- 8-bit C1 controls (U+0080-U+009F, where U+009B is a one-character CSI) and lone surrogates
  become `�`; U+2028/U+2029 become `␤`, because terminals, Rich and `str.splitlines` treat them
  as line breaks;
- format characters (Unicode category Cf) become `�`: bidi controls (U+202A-U+202E,
  U+2066-U+2069, U+200E/U+200F, U+061C), which reorder what follows them on screen ("Trojan
  source"), and zero-width and invisible ones (U+200B-U+200D, U+2060-U+2064, U+FEFF, the soft
  hyphen, tag characters), which hide or forge differences between two texts.

Standard library only: `daemon/` never imports the console.
"""

from __future__ import annotations

import re
from typing import Final

# Bounded, so that a parameter string never reaches int()'s digit limit in Rich's decoder.
_SGR_BODY = r"\[[0-9;:]{0,64}m"
SGR_RE: Final = re.compile(r"\x1b" + _SGR_BODY)

# Unicode's format characters (category Cf), as of Unicode 15; a test checks the list against
# the running Python's own database.
_FORMAT = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
_SINGLES = r"\x7f-\x9f\u2028\u2029\ud800-\udfff" + _FORMAT

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
    r"|[\x00-\x08\x0a-\x1a\x1c-\x1f" + _SINGLES + "]"
)

# Anything that needs more than the identity: controls, ESC, TAB, line separators, surrogates,
# format characters.
NEEDS_WORK: Final = re.compile(r"[\x00-\x1f" + _SINGLES + "]")
NEEDS_WORK_BUT_TAB: Final = re.compile(r"[\x00-\x08\x0a-\x1f" + _SINGLES + "]")

_PICTURES: Final[dict[str, str]] = {
    **{chr(code): chr(0x2400 + code) for code in range(0x20)},
    "\x7f": "\u2421",
    "\u2028": "\u2424",
    "\u2029": "\u2424",
}


def _replace(match: re.Match[str]) -> str:
    found = match.group()
    return _PICTURES.get(found, "\ufffd") if len(found) == 1 else ""


def neutralise(text: str) -> str:
    """`text` with SGR sequences and TABs kept and everything else neutralised (see above)."""
    if not NEEDS_WORK_BUT_TAB.search(text):
        return text
    if text.endswith("\r"):
        # CRLF line endings: the CR ends the line, it is not content worth a `␍` on every line.
        text = text[:-1]
    return _NEUTRALISE.sub(_replace, text)


def printable(text: str) -> str:
    """`text` as plain characters for a terminal: neutralised, and without SGR sequences."""
    cleaned = neutralise(text)
    return SGR_RE.sub("", cleaned) if "\x1b" in cleaned else cleaned
