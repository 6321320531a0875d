"""A chart's time axis: ticks at whole minutes or seconds before now, labelled as an operator
reads them ("-10m", "-30s", "now"), not as sample numbers."""

from __future__ import annotations

STEPS = (5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600)  # seconds
MOST_TICKS = 5


def label(seconds_ago: float) -> str:
    ago = round(seconds_ago)
    if ago <= 0:
        return "now"
    if ago % 3600 == 0:
        return f"-{ago // 3600}h"
    if ago % 60 == 0:
        return f"-{ago // 60}m"
    return f"-{ago}s"


def ticks(span: float, most: int = MOST_TICKS) -> tuple[list[float], list[str]]:
    """Ticks from `span` seconds ago to now, as x values (seconds, negative: before now) and
    their labels: the smallest step that needs at most `most` of them."""
    span = max(0.0, span)
    step = next((s for s in STEPS if span // s + 1 <= most), STEPS[-1])
    xs = [-float(k * step) for k in range(int(span // step), -1, -1)]
    return xs, [label(-x) for x in xs]


def seconds_before(count: int, interval: float) -> list[float]:
    """The x values of `count` samples taken every `interval` seconds, the last one now."""
    return [-(count - 1 - i) * interval for i in range(count)]
