"""One line of a RowTable as segments: each cell fitted to its column's width (cut with "…",
numbers on the right) and padded, the header with the sort marker."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style

PAD = 1  # cells each side of a cell's text


class Column(NamedTuple):
    key: str
    label: str
    right: bool = False  # numbers line up on the right


def header(
    columns: Sequence[Column],
    widths: Sequence[int],
    style: Style,
    sorted_by: tuple[str, bool, Style] | None,
) -> list[Segment]:
    """`sorted_by`: the sorted column's key, whether it is descending, and its style."""
    segments = []
    for column, width in zip(columns, widths, strict=True):
        label, cell_style = column.label, style
        if sorted_by is not None and sorted_by[0] == column.key:
            label += " ▼" if sorted_by[1] else " ▲"
            cell_style = sorted_by[2]
        segments.append(Segment(pad(fit(label, width, column.right)), cell_style))
    return segments


def row(
    columns: Sequence[Column],
    widths: Sequence[int],
    cells: Sequence[str],
    styles: Sequence[Style],
) -> list[Segment]:
    return [
        Segment(pad(fit(text, width, column.right)), style)
        for column, width, text, style in zip(columns, widths, cells, styles, strict=True)
    ]


def fit(text: str, width: int, right: bool) -> str:
    length = cell_len(text)
    if length > width:
        return set_cell_size(text, width - 1) + "…"
    room = " " * (width - length)
    return room + text if right else text + room


def pad(text: str) -> str:
    return " " * PAD + text + " " * PAD
