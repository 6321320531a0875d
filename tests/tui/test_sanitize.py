"""Child output is shown, never obeyed: only colour survives sanitising."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len

from tui.sanitize import MAX_WIDTH, SGR_RE, plain_text, sanitize, to_text

ESC = "\x1b"
# Characters no display text may contain once sanitised (TAB included: it is expanded).
CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escapes_are_only_sgr(text: str) -> bool:
    return all(SGR_RE.match(text, i) for i, ch in enumerate(text) if ch == ESC)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain line", "plain line"),
        ("\x1b]0;pwned\x07hello", "hello"),  # window title, BEL-terminated
        ("\x1b]2;pwned\x1b\\hello", "hello"),  # window title, ST-terminated
        ("\x1b]52;c;cm0gLXJmIH4=\x07after", "after"),  # clipboard write
        ("\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\", "link"),  # hyperlink
        ("\x1b[2Jcleared", "cleared"),
        ("\x1b[?1049halt screen", "alt screen"),
        ("\x1b[10;20Hmoved\x1b[K", "moved"),
        ("\x1bcreset", "reset"),  # full terminal reset
        ("\x1b(Bcharset", "charset"),
        ("\x1b7\x1b8saved", "saved"),
        ("\x1bPq#0;2;0;0;0#0~~\x1b\\sixel", "sixel"),  # DCS
        ("\x1b_apc payload\x1b\\apc", "apc"),
        ("\x1b^pm\x1b\\pm", "pm"),
        ("\x1bXsos\x1b\\sos", "sos"),
        ("bell\x07", "bell\u2407"),
        ("nul\x00", "nul\u2400"),
        ("back\x08space", "back\u2408space"),
        ("del\x7f", "del\u2421"),
        ("crlf\r", "crlf"),  # a CRLF ending is no content
        ("over\rwrite", "over\u240dwrite"),  # a CR inside stays visible
        ("one\ntwo", "one\u240atwo"),
        ("8-bit csi \x9b2J", "8-bit csi \ufffd2J"),
        ("8-bit osc \x9d0;t\x9c", "8-bit osc \ufffd0;t\ufffd"),
        ("line\u2028sep", "line\u2424sep"),
        ("bare \x1b", "bare \u241b"),
        ("cut \x1b[12", "cut \u241b[12"),  # unterminated CSI at the end
        ("cut \x1b]0;title", "cut \u241b]0;title"),  # unterminated OSC at the end
        ("esc esc \x1b\x1b[2J[2J", "esc esc \u241b[2J"),  # no sequence is rebuilt by removal
        ("evil\u202etxt.exe", "evil\ufffdtxt.exe"),  # right-to-left override
        ("\u2066isolate\u2067\u2068\u2069", "\ufffdisolate\ufffd\ufffd\ufffd"),
        ("l\u200er\u200f al\u061cm", "l\ufffdr\ufffd al\ufffdm"),  # marks
        ("zero\u200bwidth\u200c\u200d\u2060\ufeff", "zero\ufffdwidth\ufffd\ufffd\ufffd\ufffd"),
        ("soft\u00adhyphen", "soft\ufffdhyphen"),
        ("tag\U000e0041\U000e007f", "tag\ufffd\ufffd"),  # invisible ASCII look-alikes
    ],
)
def test_hostile_sequences_are_neutralised(raw: str, shown: str) -> None:
    assert sanitize(raw) == shown
    assert to_text(raw).plain == shown


def test_sgr_is_kept_and_parsed_into_styles() -> None:
    raw = "\x1b[1;31mred bold\x1b[0m plain \x1b[38;5;208morange\x1b[m \x1b[38;2;1;2;3mrgb"
    assert sanitize(raw) == raw
    text = to_text(raw)
    assert text.plain == "red bold plain orange rgb"
    styles = {text.plain[s.start : s.end]: s.style for s in text.spans}
    assert styles["red bold"].color.name == "color(1)"  # type: ignore[union-attr]
    assert styles["red bold"].bold  # type: ignore[union-attr]
    assert styles["orange"].color.number == 208  # type: ignore[union-attr]


def test_colon_sgr_and_overlong_parameters() -> None:
    assert sanitize("\x1b[38:2::1:2:3mx") == "\x1b[38:2::1:2:3mx"
    long_params = "\x1b[" + "1;" * 100 + "31mx"
    assert sanitize(long_params) == "x"  # too long to be an SGR we parse: dropped as CSI
    huge_number = "\x1b[" + "9" * 60 + "mx"
    assert to_text(huge_number).plain == "x"


def test_tabs_expand_to_stops_of_eight_counting_cells_not_escapes() -> None:
    assert sanitize("a\tb") == "a       b"
    assert sanitize("\x1b[31mab\x1b[0m\tc") == "\x1b[31mab\x1b[0m      c"
    assert sanitize("12345678\tx") == "12345678        x"
    assert sanitize("日本\tx") == "日本    x"  # two wide characters take four cells
    assert sanitize("\x1b]0;t\x07ab\tc") == "ab      c"  # dropped sequences take no room


def test_long_lines_are_cut_with_a_marker() -> None:
    text = to_text("x" * 10_000)
    assert cell_len(text.plain) == MAX_WIDTH
    assert text.plain.endswith("…")
    assert to_text("abcdef", max_width=4).plain == "abc…"
    assert to_text("abcd", max_width=4).plain == "abcd"
    assert to_text("日本語", max_width=4).plain.endswith("…")


def test_pathological_lines_are_cheap() -> None:
    started = time.perf_counter()
    assert to_text("\x1b[31m" * 1_000_000 + "tail").plain == "…"
    wide = to_text("A" * 65_536)
    assert cell_len(wide.plain) == MAX_WIDTH
    colourful = to_text("".join(f"\x1b[38;5;{i % 256}m{i % 10}" for i in range(50_000)))
    assert len(colourful.spans) <= 1_001
    controls = to_text("\x07\x1b[2J" * 100_000)
    assert cell_len(controls.plain) <= MAX_WIDTH
    assert time.perf_counter() - started < 1.0


def test_plain_text_matches_what_to_text_shows() -> None:
    raw = "\x1b[31mERROR\x1b[0m\tdisk \x1b]0;t\x07full\x07"
    assert plain_text(raw) == to_text(raw).plain == "ERROR   disk full\u2407"
    assert plain_text("untouched") == "untouched"


# Weighted towards the characters that matter: ESC, C0/C1 controls and sequence bytes.
hostile_chars = st.sampled_from(
    [ESC, "[", "]", "\x07", "\\", "\t", "\r", "\n", "m", ";", "?", "0", "1", "P", "_"]
    + [chr(c) for c in range(0x00, 0x20)]
    + [chr(c) for c in range(0x7F, 0xA0)]
    + ["\u2028", "\u2029", "a", "é", "日", "\ud800"]
)
hostile_text = st.one_of(
    st.text(),
    st.lists(st.one_of(hostile_chars, st.text(max_size=3)), max_size=60).map("".join),
)


@given(
    st.one_of(hostile_text, st.text(alphabet="日本ab\x1b[31m\t", max_size=40)), st.integers(1, 30)
)
@settings(max_examples=300, deadline=None)
def test_to_text_never_exceeds_its_width(raw: str, width: int) -> None:
    assert cell_len(to_text(raw, width).plain) <= width


@given(hostile_text)
@settings(max_examples=600, deadline=None)
def test_no_control_survives_any_input(raw: str) -> None:
    cleaned = sanitize(raw)
    assert escapes_are_only_sgr(cleaned)
    assert not CONTROLS.search(SGR_RE.sub("", cleaned))
    text = to_text(raw)
    assert not CONTROLS.search(text.plain)
    assert ESC not in text.plain
    assert cell_len(text.plain) <= MAX_WIDTH


# Coloured, tabbed ASCII: the shortcut plain_text takes for the filter.
coloured_text = st.lists(
    st.sampled_from(["\t", "\x1b[31m", "\x1b[0m", "\x1b[1;32m", "\x1b[m", "ab", "x", " ", "\r"]),
    max_size=30,
).map("".join)


@given(st.one_of(hostile_text, coloured_text))
@settings(max_examples=400, deadline=None)
def test_sanitize_is_idempotent_and_plain_agrees_with_to_text(raw: str) -> None:
    cleaned = sanitize(raw)
    assert sanitize(cleaned) == cleaned
    assert plain_text(raw) == to_text(raw).plain


def test_every_format_character_is_made_visible() -> None:
    # Unicode category Cf: bidi controls, zero-width and other invisible characters. The list
    # in daemon.printable is written out; this catches a Python whose Unicode knows more.
    import sys
    import unicodedata

    for code in range(sys.maxunicode + 1):
        ch = chr(code)
        if unicodedata.category(ch) == "Cf":
            assert sanitize(f"a{ch}b") == "a\ufffdb", f"U+{code:04X}"
            assert plain_text(f"a{ch}b") == "a\ufffdb", f"U+{code:04X}"
