"""The view model, fed with replies and stream messages shaped as the daemon sends them."""

from __future__ import annotations

from typing import Any

import pytest

from daemon.process import ExitStatus
from tui.scrollback import MIN_REFILL_LINES, REFILL_LINES
from tui.store import CONNECTED, DISCONNECTED, Store


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def status(**watchers: dict[str, Any]) -> dict[str, Any]:
    return {
        "statuses": {n: d.get("state", "active") for n, d in watchers.items()},
        "details": {
            n: {"state": "active", "running": 1, "numprocesses": 1, "restarts": 0, **d}
            for n, d in watchers.items()
        },
    }


def line(seq: int, text: str, pid: int = 10, stream: str = "stdout") -> dict[str, Any]:
    return {"seq": seq, "time": 1.0, "pid": pid, "stream": stream, "data": text}


@pytest.fixture
def store() -> Store:
    s = Store(clock=Clock())
    s.apply_status(status(web={"running": 2, "numprocesses": 3}, worker={}, api={}))
    return s


def test_snapshot_builds_watchers_sorted_by_name_with_first_selected(store: Store) -> None:
    assert store.sorted_names() == ["api", "web", "worker"]
    assert store.selected == "api"
    assert store.watcher_cells("web")[2] == "2/3"
    assert store.structure_changed


def test_sorting_by_column_and_reversing(store: Store) -> None:
    store.apply_stat("web", None, {"pid": [1], "cpu": 50.0, "cpu_total": 50.0, "mem": 1.0})
    store.apply_stat("api", None, {"pid": [2], "cpu": 5.0, "cpu_total": 5.0, "mem": 1.0})
    store.set_sort("cpu")
    assert store.sorted_names()[:2] == ["web", "api"]  # busiest first
    store.set_sort("cpu")
    assert store.sorted_names()[-1] == "web"
    store.set_sort("name")
    assert store.sorted_names() == ["api", "web", "worker"]
    with pytest.raises(KeyError):
        store.set_sort("bogus")


def test_watchers_that_vanish_from_status_are_removed_and_selection_moves(store: Store) -> None:
    store.select("api")
    store.apply_status(status(web={}, worker={}))
    assert "api" not in store.watchers
    assert store.selected == "web"


def test_events_update_processes_and_timeline(store: Store) -> None:
    store.apply_event("web", "spawn", {"process_pid": 42, "wid": 1, "time": 5.0})
    assert 42 in store.watchers["web"].processes
    store.apply_event("web", "reap", {"process_pid": 42, "wid": 1, "exit_code": -9, "time": 6.0})
    assert 42 not in store.watchers["web"].processes
    assert store.watchers["web"].last_exit_by_wid[1] == "killed by SIGKILL"
    store.apply_event(
        "web",
        "backoff",
        {"delay": 2.0, "retry_at": 1_000_002.0, "reason": "exited with code 1", "time": 7.0},
    )
    assert store.watcher_cells("web")[1] == "backoff 2s (code 1)"
    kinds = [e.kind for e in store.watchers["web"].events]
    assert kinds == ["spawn", "reap", "backoff"]
    store.apply_event("web", "failed", {"reason": "5 quick restarts", "time": 8.0})
    assert store.watchers["web"].state == "failed"
    assert store.watcher_cells("web")[1] == "failed (code 1)"


def test_a_log_file_that_is_not_written_is_known_until_it_is_again(store: Store) -> None:
    body = {"path": "/var/log/web.log", "reason": "No space left on device", "lost": 57106}
    store.apply_event("web", "log_error", {**body, "time": 5.0})
    assert store.watchers["web"].log_error == "No space left on device (57,106 lines not written)"
    store.apply_event("web", "log_resumed", {"path": "/var/log/web.log", "lost": 57106})
    assert store.watchers["web"].log_error is None
    # A console attaching meanwhile learns it from the status details.
    store.apply_status(status(web={"log_error": "No space left on device (3 lines not written)"}))
    assert store.watchers["web"].log_error == "No space left on device (3 lines not written)"
    assert [e.kind for e in store.watchers["web"].events] == ["log_error", "log_resumed"]


def test_event_topics_with_lowercased_names_find_the_watcher() -> None:
    s = Store(clock=Clock())
    s.apply_status(status(WebApp={}))
    s.apply_event("webapp", "spawn", {"process_pid": 7, "time": 1.0})
    assert 7 in s.watchers["WebApp"].processes


def test_stats_stream_keeps_history_and_drops_gone_processes(store: Store) -> None:
    store.apply_stat("web", 1, {"pid": 1, "cpu": 10.0, "mem": 1.0, "rss": 1000, "wid": 1})
    store.apply_stat("web", 2, {"pid": 2, "cpu": 20.0, "mem": 1.0, "rss": 2000, "wid": 2})
    store.apply_stat("web", None, {"pid": [1, 2], "cpu": 15.0, "cpu_total": 30.0, "mem": 2.0})
    w = store.watchers["web"]
    assert w.cpu == 30.0 and w.rss == 3000 and list(w.cpu_history) == [30.0]
    store.apply_stat("web", None, {"pid": [2], "cpu": 20.0, "cpu_total": 20.0, "mem": 1.0})
    assert set(w.processes) == {2}
    rows = store.process_rows("web")
    assert rows[0][1][0] == "2" and rows[0][1][2] == "20.0"


def shown(store: Store) -> list[str]:
    return [store.log.visible(i).text for i in range(len(store.log))]


def batch(name: str, *lines: dict[str, Any]) -> dict[str, Any]:
    return {"watcher": name, "first": lines[0]["seq"], "last": lines[-1]["seq"], "lines": lines}


def refill(store: Store, name: str, lines: list[dict[str, Any]], last_seq: int) -> None:
    """What the link does when a watcher is shown: fetch its backlog with `tail`."""
    store.finish_refill(store.scrollback.begin_refill([name]), {name: (lines, last_seq)})


def test_output_that_ended_while_the_console_was_stopped_is_fetched(store: Store) -> None:
    """The last batches were dropped (the console was stopped, its queue full) and no more
    came: no later batch shows the gap, the daemon's status does."""
    store.select("web")
    refill(store, "web", [line(1, "a"), line(2, "b")], last_seq=2)
    # Heartbeat 1: the daemon is at 5; batches 3 to 5 may still be on their way.
    store.apply_status(status(web={"output_seq": 5}))
    assert store.stale_output() == []
    store.apply_output(batch("web", line(3, "c")))
    # Heartbeat 2, a heartbeat later: 4 and 5 never came. Now they are fetched.
    store.apply_status(status(web={"output_seq": 5}))
    [stale] = store.stale_output()
    assert stale.since == {"web": 3} and stale.count == REFILL_LINES
    store.finish_refill(stale, {"web": ([line(5, "e")], 5)})
    assert shown(store)[:3] == ["a", "b", "c"] and shown(store)[-1] == "e"
    assert "1 line not fetched" in " ".join(shown(store))
    # Caught up: nothing more to fetch.
    store.apply_status(status(web={"output_seq": 5}))
    store.apply_status(status(web={"output_seq": 5}))
    assert store.stale_output() == []


def test_output_of_a_watcher_not_on_screen_is_ignored(store: Store) -> None:
    store.select("web")
    assert store.apply_output(batch("api", line(1, "late"))) is None
    assert shown(store) == []


def test_connection_state_changes_are_flagged(store: Store) -> None:
    store.connection_changed = False
    store.set_connection(CONNECTED)
    assert store.connection_changed
    store.connection_changed = False
    store.set_connection(CONNECTED)
    assert not store.connection_changed
    store.set_connection(DISCONNECTED, "daemon went away")
    assert store.connection_changed and store.connection_note == "daemon went away"


def test_circusd_targets_come_from_options() -> None:
    s = Store(clock=Clock())
    s.daemon_kind = "circusd"
    s.apply_status({"statuses": {"sl": "active"}})
    s.apply_options("sl", {"numprocesses": 4})
    s.apply_stats_infos({"sl": {"1": {"pid": 1, "cpu": 0.0, "mem": 0.1}}})
    assert s.watcher_cells("sl")[2] == "1/4"
    assert not s.streams_output


def test_a_later_refill_supersedes_an_earlier_one_of_the_same_buffer() -> None:
    # Quick back and forth: a, b, a again while a's first backlog is still on its way.
    store = Store(clock=Clock())
    store.apply_status(status(a={}, b={}))
    store.select("a")
    refill(store, "a", [line(n, f"a{n}") for n in range(1, 6)], last_seq=5)
    store.select("b")
    store.select("a")
    first = store.refill_on_screen()
    assert first is not None and first.since == {"a": 5}
    store.select("b")
    store.apply_output(batch("a", line(11, "a11")))  # a is not on screen: not taken
    store.select("a")
    second = store.refill_on_screen()
    assert second is not None and second.since == {"a": 5}
    store.apply_output(batch("a", line(12, "a12")))  # waits for the second
    store.finish_refill(first, {"a": ([line(n, f"a{n}") for n in range(6, 11)], 10)})
    assert shown(store) == [f"a{n}" for n in range(1, 6)]  # superseded: nothing taken
    store.finish_refill(second, {"a": ([line(n, f"a{n}") for n in range(6, 12)], 11)})
    assert shown(store) == [f"a{n}" for n in range(1, 13)]


def test_moving_in_the_all_watchers_view_fetches_nothing_again(store: Store) -> None:
    changes: list[str | None] = []
    store.on_scope_change = lambda: changes.append(store.selected)
    store.set_log_all(True)
    store.select("web")
    store.select("worker")
    assert len(changes) == 1  # entering the view; moving within it shows the same output


def test_removing_the_selected_watcher_shows_the_next_once(store: Store) -> None:
    store.select("web")
    changes: list[str | None] = []
    store.on_scope_change = lambda: changes.append(store.selected)
    store.remove("web")
    assert changes == [store.selected] and store.selected is not None


def test_what_is_refilled_follows_what_is_on_screen() -> None:
    store = Store(clock=Clock(), all_log_lines=300)
    assert store.refill_on_screen() is None  # nothing on screen
    store.apply_status(status(web={}, api={}, worker={}))
    refill(store, "api", [line(4, "api 4")], last_seq=4)
    one = store.refill_on_screen()
    assert one is not None and one.since == {"api": 4} and one.count == REFILL_LINES
    store.set_log_all(True)
    every = store.refill_on_screen()
    assert every is not None and every.since == {"web": 0, "api": 0, "worker": 0}
    assert every.count == max(MIN_REFILL_LINES, 300 // 3)


def test_output_named_as_topics_spell_it_finds_the_watcher() -> None:
    store = Store(clock=Clock())
    store.apply_status(status(**{"Web App": {}}))
    refill(store, "Web App", [line(1, "a")], last_seq=1)
    store.apply_output(batch("web_app", line(2, "b")))
    assert shown(store) == ["a", "b"]


@pytest.mark.parametrize("exit_code", [3, 0, -9, -15, -99])
def test_a_reap_is_worded_as_the_daemon_words_the_exit(store: Store, exit_code: int) -> None:
    store.apply_event("web", "spawn", {"process_pid": 42, "wid": 1, "time": 5.0})
    store.apply_event("web", "reap", {"process_pid": 42, "wid": 1, "exit_code": exit_code})
    exit_status = ExitStatus(None, -exit_code) if exit_code < 0 else ExitStatus(exit_code, None)
    assert store.watchers["web"].last_exit_by_wid[1] == exit_status.describe()
    assert exit_status.circus_code == exit_code


def test_a_reap_without_an_exit_code_says_only_that_it_exited(store: Store) -> None:
    store.apply_event("web", "reap", {"process_pid": 42, "wid": 2})
    assert store.watchers["web"].last_exit_by_wid[2] == "exited"
