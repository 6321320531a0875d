"""The watchers and processes tables. Both are updated in place, keyed by row: a refresh
changes only the cells whose text changed, never clears, and keeps the cursor on its row."""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable

from tui.store import Store

WATCHER_COLUMNS = (
    ("name", "Name"),
    ("state", "State"),
    ("procs", "Procs"),
    ("cpu", "CPU%"),
    ("mem", "Mem"),
    ("restarts", "Restarts"),
    ("uptime", "Uptime"),
    ("trend", "CPU trend"),
)
PROCESS_COLUMNS = (
    ("pid", "PID"),
    ("wid", "WID"),
    ("cpu", "CPU%"),
    ("mem", "Mem"),
    ("age", "Age"),
    ("state", "State"),
    ("last", "Last exit"),
)


class KeyedTable(DataTable[str]):
    """A DataTable whose rows are kept in sync with a list of (key, cells)."""

    def __init__(self, columns: tuple[tuple[str, str], ...], **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self._columns = columns
        self._cells: dict[str, tuple[str, ...]] = {}
        self._order: list[str] = []  # row keys in display order

    def on_mount(self) -> None:
        for key, label in self._columns:
            self.add_column(label, key=key)

    def current_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
        except Exception:
            return None

    def sync_rows(self, rows: list[tuple[str, tuple[str, ...]]], keep: str | None = None) -> None:
        """Make the table show exactly `rows`, in that order."""
        wanted = dict(rows)
        for key in [k for k in self._cells if k not in wanted]:
            self.remove_row(key)
            del self._cells[key]
            self._order.remove(key)
        for key, cells in rows:
            self.update_row(key, cells)
        keys = [key for key, _ in rows]
        if keys != self._order:
            self._reorder({key: i for i, key in enumerate(keys)})
            self._order = keys
        if keep is not None and keep in self._cells:
            index = self.get_row_index(keep)
            if index != self.cursor_row:
                self.move_cursor(row=index, animate=False)

    def _reorder(self, order: dict[str, int]) -> None:
        # DataTable sorts by cell values; the first column holds the row key's text.
        self.sort(self._columns[0][0], key=lambda value: order.get(str(value), 1 << 30))

    def update_row(self, key: str, cells: tuple[str, ...]) -> None:
        old = self._cells.get(key)
        if old is None:
            self.add_row(*cells, key=key)
            self._order.append(key)
        else:
            for (column, _label), before, after in zip(self._columns, old, cells, strict=True):
                if before != after:
                    # Re-measuring a column costs a pass over every row: only when it grows.
                    wider = len(after) > self.columns[column].content_width
                    self.update_cell(key, column, after, update_width=wider)
        self._cells[key] = cells


class WatchersTable(KeyedTable):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(WATCHER_COLUMNS, **kwargs)

    def sync(self, store: Store, dirty: set[str], structure: bool) -> None:
        if structure:
            names = store.sorted_names()
            self.sync_rows([(n, store.watcher_cells(n)) for n in names], keep=store.selected)
        else:
            for name in dirty:
                if name in self._cells and name in store.watchers:
                    self.update_row(name, store.watcher_cells(name))


class ProcessTable(KeyedTable):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(PROCESS_COLUMNS, **kwargs)
        self.watcher: str | None = None

    def sync(self, store: Store) -> None:
        if store.selected != self.watcher:
            self.watcher = store.selected
        rows = store.process_rows(self.watcher) if self.watcher else []
        keep = self.current_key()
        self.sync_rows(rows, keep=keep)
