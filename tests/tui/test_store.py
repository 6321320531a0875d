"""The view model, fed with replies and stream messages shaped as the daemon sends them."""

from __future__ import annotations

from typing import Any

import pytest

from tui.store import (
    CONNECTED,
    DISCONNECTED,
    Store,
    fmt_bytes,
    fmt_duration,
    sparkline,
)


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
    token = store.begin_refill(store.log, [name])
    store.finish_refill(store.log, {name: (lines, last_seq)}, token)


def test_output_gap_waits_for_refill_and_keeps_order(store: Store) -> None:
    store.select("web")
    refill(store, "web", [line(1, "a"), line(2, "b")], last_seq=2)
    assert store.apply_output(batch("web", line(3, "c"))) is None
    gap = store.apply_output(batch("web", line(6, "f")))
    assert gap is not None and gap[:2] == ("web", 3)
    # Batches that arrive while the refill is on its way wait for it.
    assert store.apply_output(batch("web", line(7, "g"))) is None
    assert shown(store) == ["a", "b", "c"]
    backlog = [line(4, "d"), line(5, "e"), line(6, "f")]
    store.finish_refill(store.log, {"web": (backlog, 6)}, gap[2])
    assert shown(store) == ["a", "b", "c", "d", "e", "f", "g"]


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
    [(name, since, token)] = store.stale_output()
    assert (name, since) == ("web", 3)
    store.finish_refill(store.log, {"web": ([line(5, "e")], 5)}, token)
    assert shown(store)[:3] == ["a", "b", "c"] and shown(store)[-1] == "e"
    assert "1 line not fetched" in " ".join(shown(store))
    # Caught up: nothing more to fetch.
    store.apply_status(status(web={"output_seq": 5}))
    store.apply_status(status(web={"output_seq": 5}))
    assert store.stale_output() == []


def test_batches_wait_for_the_backlog_of_a_watcher_just_shown(store: Store) -> None:
    store.select("web")
    token = store.begin_refill(store.log, ["web"])
    # Live output can beat the backlog's reply: it must not make the backlog look old.
    store.apply_output(batch("web", line(8, "h")))
    store.finish_refill(store.log, {"web": ([line(6, "f"), line(7, "g")], 7)}, token)
    assert shown(store) == ["f", "g", "h"]


def test_duplicate_lines_from_backlog_and_stream_are_shown_once(store: Store) -> None:
    store.select("web")
    store.apply_output(batch("web", line(5, "x"), line(6, "y")))
    refill(store, "web", [line(4, "w"), line(5, "x"), line(6, "y")], last_seq=6)
    assert shown(store).count("x") == 1 and shown(store).count("y") == 1


def test_output_of_a_watcher_not_on_screen_is_ignored(store: Store) -> None:
    store.select("web")
    assert store.apply_output(batch("api", line(1, "late"))) is None
    assert shown(store) == []


def test_each_watcher_keeps_its_own_scrollback() -> None:
    store = Store(clock=Clock(), log_lines=50)
    store.apply_status(status(quiet={}, chatty={}))
    store.select("quiet")
    refill(store, "quiet", [line(1, "quiet 1"), line(2, "quiet 2")], last_seq=2)
    store.select("chatty")
    refill(store, "chatty", [line(n, f"chatty {n}") for n in range(1, 501)], last_seq=500)
    assert len(store.log) == 50  # bounded
    store.select("quiet")
    # Its lines were not pushed out by the other's; only what is new is fetched.
    assert shown(store) == ["quiet 1", "quiet 2"]
    refill(store, "quiet", [line(3, "quiet 3")], last_seq=3)
    assert shown(store) == ["quiet 1", "quiet 2", "quiet 3"]


def test_a_backlog_too_long_to_fetch_leaves_a_note(store: Store) -> None:
    store.select("web")
    refill(store, "web", [line(1, "a")], last_seq=1)
    store.select("api")
    store.select("web")
    refill(store, "web", [line(2000, "new")], last_seq=2000)
    texts = shown(store)
    assert texts[0] == "a" and texts[-1] == "new"
    assert "1,998 lines not fetched" in texts[1] and store.log.visible(1).stream == "note"


def test_only_the_last_watchers_shown_keep_their_scrollback() -> None:
    store = Store(clock=Clock(), kept_logs=2)
    store.apply_status(status(a={}, b={}, c={}))
    for name in ("a", "b", "c"):
        store.select(name)
        refill(store, name, [line(1, f"from {name}")], last_seq=1)
    store.select("a")  # a was dropped: shown again from scratch
    assert shown(store) == [] and "a" not in store.log.seen
    store.select("c")
    assert shown(store) == ["from c"]


def test_all_watchers_view_merges_backlogs_in_time_order(store: Store) -> None:
    def at(seq: int, text: str, when: float) -> dict[str, Any]:
        return {**line(seq, text), "time": when}

    store.set_log_all(True)
    token = store.begin_refill(store.log, ["web", "api", "worker"])
    store.finish_refill(
        store.log,
        {
            "web": ([at(1, "web 1", 1.0), at(2, "web 2", 3.0)], 2),
            "api": ([at(1, "api 1", 2.0)], 1),
            "worker": None,  # could not be fetched: nothing to show, nothing waits
        },
        token,
    )
    assert shown(store) == ["web 1", "api 1", "web 2"]
    store.apply_output(batch("worker", line(1, "worker 1")))
    assert shown(store)[-1] == "worker 1"
    store.set_filter("API")
    assert shown(store) == ["api 1"]
    store.set_log_all(False)
    assert not store.all_log.seen  # left: refetched when shown again


def test_a_restarted_daemon_keeps_what_was_shown_and_starts_afresh(store: Store) -> None:
    store.select("web")
    refill(store, "web", [line(41, "before")], last_seq=41)
    store.forget_output()
    assert store.log.seen == {}
    refill(store, "web", [line(1, "after")], last_seq=1)
    texts = shown(store)
    assert texts[0] == "before" and "daemon restarted" in texts[1] and texts[2] == "after"


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


def test_a_later_refill_supersedes_an_earlier_one_of_the_same_buffer() -> None:
    # Quick back and forth: a, b, a again while a's first backlog is still on its way.
    store = Store(clock=Clock())
    store.apply_status(status(a={}, b={}))
    store.select("a")
    refill(store, "a", [line(n, f"a{n}") for n in range(1, 6)], last_seq=5)
    buffer = store.log
    store.select("b")
    store.select("a")
    first = store.begin_refill(buffer, ["a"])  # since 5
    store.select("b")
    store.apply_output(batch("a", line(11, "a11")))  # a is not on screen: not taken
    store.select("a")
    second = store.begin_refill(buffer, ["a"])  # since 5 as well
    store.apply_output(batch("a", line(12, "a12")))  # waits for the second
    store.finish_refill(buffer, {"a": ([line(n, f"a{n}") for n in range(6, 11)], 10)}, first)
    assert shown(store) == [f"a{n}" for n in range(1, 6)]  # superseded: nothing taken
    store.finish_refill(buffer, {"a": ([line(n, f"a{n}") for n in range(6, 12)], 11)}, second)
    assert shown(store) == [f"a{n}" for n in range(1, 13)]


def test_a_refill_from_before_a_daemon_restart_is_dropped() -> None:
    store = Store(clock=Clock())
    store.apply_status(status(a={}))
    store.select("a")
    refill(store, "a", [line(n, f"old{n}") for n in range(1, 4)], last_seq=3)
    buffer = store.log
    gap = store.apply_output(batch("a", line(9, "old9")))  # a gap: a refill goes out
    assert gap is not None
    store.forget_output()  # the link met a new daemon instance
    token = store.begin_refill(buffer, ["a"])
    store.apply_output(batch("a", line(5, "new5"), line(6, "new6")))  # waits
    store.finish_refill(buffer, {"a": None}, gap[2])  # the old session's, timed out
    store.finish_refill(buffer, {"a": ([line(n, f"new{n}") for n in range(1, 7)], 6)}, token)
    assert [t for t in shown(store) if t.startswith("new")] == [f"new{n}" for n in range(1, 7)]
    assert not any(t.startswith("…") for t in shown(store))


def test_batches_lost_after_a_refill_are_counted_exactly() -> None:
    store = Store(clock=Clock())
    store.apply_status(status(a={}))
    store.select("a")
    token = store.begin_refill(store.log, ["a"])
    store.apply_output(batch("a", line(9, "a9")))  # waits; 6, 7 and 8 were never published
    store.finish_refill(store.log, {"a": ([line(4, "a4"), line(5, "a5")], 5)}, token)
    assert shown(store)[:2] == ["a4", "a5"] and shown(store)[-1] == "a9"
    assert shown(store)[2].startswith("… 3 lines lost here")
    token = store.begin_refill(store.log, ["a"])
    store.apply_output(batch("a", line(11, "a11")))
    store.finish_refill(store.log, {"a": None}, token)
    assert shown(store)[-2].startswith("… 1 line could not be fetched here")


def test_a_kept_scrollback_the_filter_hides_is_still_kept() -> None:
    store = Store(clock=Clock())
    store.apply_status(status(a={}, b={}))
    store.select("a")
    refill(store, "a", [line(n, f"a {n}") for n in range(1, 101)], last_seq=100)
    kept = store.log
    store.set_filter("ERROR")  # nothing of a's matches: the buffer shows no line
    store.select("b")
    store.select("a")
    assert store.log is kept and kept.seen == {"a": 100}


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


def test_a_stream_from_the_wire_is_never_the_consoles_own_note(store: Store) -> None:
    store.select("web")
    refill(store, "web", [line(1, "\x1b]0;x\x07 pretend", stream="note")], last_seq=1)
    assert store.log.visible(0).stream == "stdout"
