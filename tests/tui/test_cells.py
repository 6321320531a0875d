"""What a cell shows, from the view model's values."""

from __future__ import annotations

import pytest

from tui.cells import (
    fmt_age,
    fmt_bytes,
    fmt_duration,
    fmt_memory,
    number,
    process_rows,
    short_exit,
    sparkline,
    state_text,
    watcher_cells,
)
from tui.views import ProcessView, WatcherView

NOW = 1_000_000.0


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0B"), (1023, "1023B"), (1536, "1.5K"), (5 * 2**20, "5.0M"), (3 * 2**30, "3.0G")],
)
def test_fmt_bytes(value: int, text: str) -> None:
    assert fmt_bytes(value) == text


def test_fmt_duration_and_sparkline() -> None:
    assert [fmt_duration(s) for s in (None, 5, 65, 3700, 90000)] == [
        "-", "5s", "1m05s", "1h01m", "1d01h",
    ]  # fmt: skip
    assert sparkline([0, 50, 100], 3, top=100) == "▁▅█"
    assert sparkline([], 5) == ""
    assert len(sparkline(range(100), 12)) == 12


def test_memory_is_bytes_when_counted_and_circus_percent_otherwise() -> None:
    assert fmt_memory(5 * 2**20, 1.25) == "5.0M"
    assert fmt_memory(0, 1.25) == "1.2%"


def test_an_age_not_known_is_a_dash() -> None:
    assert fmt_age(None, NOW) == "-"
    assert fmt_age(NOW - 65, NOW) == "1m05s"


def test_only_real_numbers_from_the_wire_count() -> None:
    assert [number(v) for v in (3, 2.5, True, "7", None)] == [3.0, 2.5, 0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    ("last_exit", "short"),
    [
        ("exited with code 3 after 1.2 s", "code 3"),
        ("killed by SIGKILL after 3612.4 s", "SIGKILL"),
        ("killed by signal 99", "signal"),
        ("exited", "exited"),
        (None, ""),
    ],
)
def test_short_exit(last_exit: str | None, short: str) -> None:
    assert short_exit(last_exit) == short


def test_state_wording_shows_the_policy_at_work() -> None:
    w = WatcherView("web", state="active", last_exit="exited with code 1 after 0.8 s")
    assert state_text(w, NOW) == "active"
    w.retry_at = NOW + 2.4
    assert state_text(w, NOW) == "backoff 2s (code 1)"
    assert state_text(w, NOW + 10) == "backoff 0s (code 1)"
    w.state, w.retry_at = "failed", None
    assert state_text(w, NOW) == "failed (code 1)"
    w.last_exit = None
    assert state_text(w, NOW) == "failed"


def test_a_watcher_row() -> None:
    w = WatcherView("web", state="active", running=2, target=3, cpu=12.345, rss=2048)
    w.started_at, w.restarts = NOW - 3700, 4
    w.cpu_history.extend([0.0, 100.0])
    assert watcher_cells(w, NOW, spark_width=4) == (
        "web", "active", "2/3", "12.3", "2.0K", "4", "1h01m", "▁█",
    )  # fmt: skip
    w.running = 0  # no uptime while nothing runs
    assert watcher_cells(w, NOW)[6] == "-"


def test_process_rows_by_worker_id_with_their_last_exit() -> None:
    w = WatcherView("web")
    w.processes = {
        20: ProcessView(20, wid=2, cpu=1.0, mem=0.5, started=NOW - 5),
        10: ProcessView(10, wid=1, cpu=2.0, rss=1536, state="stopping"),
    }
    w.last_exit_by_wid[2] = "killed by SIGKILL"
    assert process_rows(w, NOW) == [
        ("0", ("10", "1", "2.0", "1.5K", "-", "stopping", "")),
        ("1", ("20", "2", "1.0", "0.5%", "5s", "running", "killed by SIGKILL")),
    ]
