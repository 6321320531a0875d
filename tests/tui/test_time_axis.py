"""The details screen's charts read in time before now, not in sample numbers."""

from __future__ import annotations

import pytest

from tui import time_axis


@pytest.mark.parametrize(
    ("span", "labels"),
    [
        (600, ["-10m", "-5m", "now"]),
        (299, ["-4m", "-3m", "-2m", "-1m", "now"]),
        (45, ["-40s", "-30s", "-20s", "-10s", "now"]),
        (3600, ["-1h", "-45m", "-30m", "-15m", "now"]),
        (0, ["now"]),
    ],
)
def test_ticks_are_whole_steps_before_now(span: float, labels: list[str]) -> None:
    xs, shown = time_axis.ticks(span)
    assert shown == labels
    assert xs[-1] == 0 and all(-span <= x <= 0 for x in xs)
    assert len(xs) <= time_axis.MOST_TICKS


def test_samples_end_now_one_interval_apart() -> None:
    assert time_axis.seconds_before(3, 2.0) == [-4.0, -2.0, 0.0]
    assert time_axis.seconds_before(0, 1.0) == []
