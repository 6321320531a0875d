"""The watchers and processes tables, kept in sync with the store: a refresh changes only the
rows whose text changed, never clears, and keeps the cursor on its row."""

from __future__ import annotations

from typing import Any

from tui.store import Store
from tui.widgets.row_table import Column, RowTable

WATCHER_COLUMNS = (
    Column("name", "Name"),
    Column("state", "State"),
    Column("procs", "Procs", right=True),
    Column("cpu", "CPU%", right=True),
    Column("mem", "Mem", right=True),
    Column("restarts", "Restarts", right=True),
    Column("uptime", "Uptime", right=True),
    Column("trend", "CPU trend"),
)
MIN_SPARK, MAX_SPARK = 12, 60  # cells of CPU trend in the watchers table

PROCESS_COLUMNS = (
    Column("pid", "PID", right=True),
    Column("wid", "WID", right=True),
    Column("cpu", "CPU%", right=True),
    Column("mem", "Mem", right=True),
    Column("age", "Age", right=True),
    Column("state", "State"),
    Column("last", "Last exit"),
)
# Once some watcher reports its processes' readiness (tui.store.Store.shows_health).
HEALTH_COLUMNS = (*PROCESS_COLUMNS[:-1], Column("health", "Health"), PROCESS_COLUMNS[-1])


def state_class(text: str) -> str | None:
    """How a state reads at a glance: failed in red, the policy at work in yellow."""
    word = text.split(" ", 1)[0].rstrip(":")
    if word in ("failed", "unhealthy"):
        return "row-table--bad"
    if word in ("backoff", "starting", "stopping", "waiting", "ready"):
        return "row-table--warn"
    if word in ("stopped", "completed"):
        return "row-table--muted"
    return None


class WatchersTable(RowTable):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(WATCHER_COLUMNS, **kwargs)
        self._store: Store | None = None
        self._spark = MIN_SPARK

    def cell_class(self, column: str, text: str) -> str | None:
        return state_class(text) if column == "state" else None

    def sync(self, store: Store, dirty: set[str], structure: bool) -> None:
        self._store = store
        if structure:
            for _ in range(2):  # the other columns' new widths may change the trend's room
                spark = self._spark
                names = store.sorted_names()
                rows = [(n, store.watcher_cells(n, spark)) for n in names]
                # The store's selection wins only if the table agrees with it so far: a
                # cursor move whose message is still on its way is the newer choice.
                agreed = self._cursor_key in (None, store.selected)
                self.set_rows(rows, keep=store.selected if agreed else None)
                self.set_sort_marker(store.sort_key, store.sort_reverse)
                if not self._fit_spark():
                    break
        else:
            for name in dirty:
                if name in store.watchers:
                    self.update_row(name, store.watcher_cells(name, self._spark))

    def _fit_spark(self) -> bool:
        """Give the CPU trend the room the other columns leave (more history on a wide
        screen). True if its width changed."""
        if not self.is_mounted:
            return False
        other = sum(self.column_widths[:-1]) + 2 * len(self.columns)
        room = self.scrollable_content_region.width - other - 1
        spark = max(MIN_SPARK, min(MAX_SPARK, room))
        if spark == self._spark:
            return False
        self._spark = spark
        return True

    def on_resize(self) -> None:
        if self._fit_spark() and self._store is not None:
            self.sync(self._store, set(), structure=True)


class ProcessTable(RowTable):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(PROCESS_COLUMNS, **kwargs)
        self.watcher: str | None = None

    def cell_class(self, column: str, text: str) -> str | None:
        if column == "health":
            # A ready process is the normal case: only the others stand out.
            return None if text.startswith("ready") else state_class(text)
        return state_class(text) if column == "state" else None

    def sync(self, store: Store) -> None:
        self.watcher = store.selected
        columns = HEALTH_COLUMNS if store.shows_health else PROCESS_COLUMNS
        if columns != self.columns:
            self.set_columns(columns)
        rows = store.process_rows(self.watcher) if self.watcher else []
        self.set_rows(rows)
