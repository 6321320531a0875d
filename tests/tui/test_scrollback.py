"""The log pane's scrollback: batches and backlogs shaped as the daemon sends them, fitted in
by sequence number, one feed per thing the pane shows."""

from __future__ import annotations

from typing import Any

import pytest

from tui.scrollback import REFILL_LINES, Scrollback


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def line(seq: int, text: str, pid: int = 10, stream: str = "stdout") -> dict[str, Any]:
    return {"seq": seq, "time": 1.0, "pid": pid, "stream": stream, "data": text}


def batch(name: str, *lines: dict[str, Any]) -> dict[str, Any]:
    return {"watcher": name, "first": lines[0]["seq"], "last": lines[-1]["seq"], "lines": lines}


def shown(sb: Scrollback) -> list[str]:
    return [sb.buffer.visible(i).text for i in range(len(sb.buffer))]


def refill(sb: Scrollback, name: str, lines: list[dict[str, Any]], last_seq: int) -> None:
    """What the link does when a watcher is shown: fetch its backlog with `tail`."""
    sb.finish_refill(sb.begin_refill([name]), {name: (lines, last_seq)})


@pytest.fixture
def sb() -> Scrollback:
    return Scrollback(clock=Clock())


def test_output_gap_waits_for_refill_and_keeps_order(sb: Scrollback) -> None:
    sb.show("web")
    refill(sb, "web", [line(1, "a"), line(2, "b")], last_seq=2)
    assert sb.add("web", batch("web", line(3, "c"))) is None
    gap = sb.add("web", batch("web", line(6, "f")))
    assert gap is not None and gap.since == {"web": 3} and gap.count == REFILL_LINES
    # Batches that arrive while the refill is on its way wait for it.
    assert sb.add("web", batch("web", line(7, "g"))) is None
    assert shown(sb) == ["a", "b", "c"]
    backlog = [line(4, "d"), line(5, "e"), line(6, "f")]
    sb.finish_refill(gap, {"web": (backlog, 6)})
    assert shown(sb) == ["a", "b", "c", "d", "e", "f", "g"]


def test_batches_wait_for_the_backlog_of_a_watcher_just_shown(sb: Scrollback) -> None:
    sb.show("web")
    pending = sb.begin_refill(["web"])
    # Live output can beat the backlog's reply: it must not make the backlog look old.
    sb.add("web", batch("web", line(8, "h")))
    sb.finish_refill(pending, {"web": ([line(6, "f"), line(7, "g")], 7)})
    assert shown(sb) == ["f", "g", "h"]


def test_duplicate_lines_from_backlog_and_stream_are_shown_once(sb: Scrollback) -> None:
    sb.show("web")
    sb.add("web", batch("web", line(5, "x"), line(6, "y")))
    refill(sb, "web", [line(4, "w"), line(5, "x"), line(6, "y")], last_seq=6)
    assert shown(sb).count("x") == 1 and shown(sb).count("y") == 1


def test_each_watcher_keeps_its_own_scrollback() -> None:
    sb = Scrollback(clock=Clock(), log_lines=50)
    sb.show("quiet")
    refill(sb, "quiet", [line(1, "quiet 1"), line(2, "quiet 2")], last_seq=2)
    sb.show("chatty")
    refill(sb, "chatty", [line(n, f"chatty {n}") for n in range(1, 501)], last_seq=500)
    assert len(sb.buffer) == 50  # bounded
    sb.show("quiet")
    # Its lines were not pushed out by the other's; only what is new is fetched.
    assert shown(sb) == ["quiet 1", "quiet 2"]
    assert sb.begin_refill(["quiet"]).since == {"quiet": 2}
    refill(sb, "quiet", [line(3, "quiet 3")], last_seq=3)
    assert shown(sb) == ["quiet 1", "quiet 2", "quiet 3"]


def test_a_backlog_too_long_to_fetch_leaves_a_note(sb: Scrollback) -> None:
    sb.show("web")
    refill(sb, "web", [line(1, "a")], last_seq=1)
    sb.show("api")
    sb.show("web")
    refill(sb, "web", [line(2000, "new")], last_seq=2000)
    texts = shown(sb)
    assert texts[0] == "a" and texts[-1] == "new"
    assert "1,998 lines not fetched" in texts[1] and sb.buffer.visible(1).stream == "note"


def test_only_the_last_watchers_shown_keep_their_scrollback() -> None:
    sb = Scrollback(clock=Clock(), kept_logs=2)
    for name in ("a", "b", "c"):
        sb.show(name)
        refill(sb, name, [line(1, f"from {name}")], last_seq=1)
    sb.show("a")  # a was dropped: shown again from scratch
    assert shown(sb) == [] and "a" not in sb.feed.seen
    assert sb.begin_refill(["a"]).since == {"a": 0}
    sb.show("c")
    assert shown(sb) == ["from c"]


def test_all_watchers_view_merges_backlogs_in_time_order(sb: Scrollback) -> None:
    def at(seq: int, text: str, when: float) -> dict[str, Any]:
        return {**line(seq, text), "time": when}

    sb.show("web", everything=True)
    pending = sb.begin_refill(["web", "api", "worker"])
    sb.finish_refill(
        pending,
        {
            "web": ([at(1, "web 1", 1.0), at(2, "web 2", 3.0)], 2),
            "api": ([at(1, "api 1", 2.0)], 1),
            "worker": None,  # could not be fetched: nothing to show, nothing waits
        },
    )
    assert shown(sb) == ["web 1", "api 1", "web 2"]
    sb.add("worker", batch("worker", line(1, "worker 1")))
    assert shown(sb)[-1] == "worker 1"
    sb.set_filter("API")
    assert shown(sb) == ["api 1"]
    sb.show("web")
    assert not sb.all.seen and len(sb.all.buffer) == 0  # left: refetched when shown again


def test_a_restarted_daemon_keeps_what_was_shown_and_starts_afresh(sb: Scrollback) -> None:
    sb.show("web")
    refill(sb, "web", [line(41, "before")], last_seq=41)
    sb.forget()
    assert sb.feed.seen == {}
    refill(sb, "web", [line(1, "after")], last_seq=1)
    texts = shown(sb)
    assert texts[0] == "before" and "daemon restarted" in texts[1] and texts[2] == "after"


def test_a_refill_from_before_a_daemon_restart_is_dropped(sb: Scrollback) -> None:
    sb.show("a")
    refill(sb, "a", [line(n, f"old{n}") for n in range(1, 4)], last_seq=3)
    gap = sb.add("a", batch("a", line(9, "old9")))  # a gap: a refill goes out
    assert gap is not None
    sb.forget()  # the link met a new daemon instance
    pending = sb.begin_refill(["a"])
    sb.add("a", batch("a", line(5, "new5"), line(6, "new6")))  # waits
    sb.finish_refill(gap, {"a": None})  # the old session's, timed out
    sb.finish_refill(pending, {"a": ([line(n, f"new{n}") for n in range(1, 7)], 6)})
    assert [t for t in shown(sb) if t.startswith("new")] == [f"new{n}" for n in range(1, 7)]
    assert not any(t.startswith("…") for t in shown(sb))


def test_batches_lost_after_a_refill_are_counted_exactly(sb: Scrollback) -> None:
    sb.show("a")
    pending = sb.begin_refill(["a"])
    sb.add("a", batch("a", line(9, "a9")))  # waits; 6, 7 and 8 were never published
    sb.finish_refill(pending, {"a": ([line(4, "a4"), line(5, "a5")], 5)})
    assert shown(sb)[:2] == ["a4", "a5"] and shown(sb)[-1] == "a9"
    assert shown(sb)[2].startswith("… 3 lines lost here")
    pending = sb.begin_refill(["a"])
    sb.add("a", batch("a", line(11, "a11")))
    sb.finish_refill(pending, {"a": None})
    assert shown(sb)[-2].startswith("… 1 line could not be fetched here")


def test_a_kept_scrollback_the_filter_hides_is_still_kept(sb: Scrollback) -> None:
    sb.show("a")
    refill(sb, "a", [line(n, f"a {n}") for n in range(1, 101)], last_seq=100)
    kept = sb.feed
    sb.set_filter("ERROR")  # nothing of a's matches: the buffer shows no line
    sb.show("b")
    sb.show("a")
    assert sb.feed is kept and kept.seen == {"a": 100}


def test_a_stream_from_the_wire_is_never_the_consoles_own_note(sb: Scrollback) -> None:
    sb.show("web")
    refill(sb, "web", [line(1, "\x1b]0;x\x07 pretend", stream="note")], last_seq=1)
    assert sb.buffer.visible(0).stream == "stdout"


# -- what the split made testable without a link ---------------------------------------


def test_what_is_shown_again_is_refilled_since_it_was_last_seen(sb: Scrollback) -> None:
    sb.show("web")
    refill(sb, "web", [line(1, "a"), line(7, "b")], last_seq=7)
    sb.show("api")
    first = sb.refill_shown(["api"])
    assert first.since == {"api": 0} and first.count == REFILL_LINES
    sb.show("web")
    assert sb.refill_shown(["web"]).since == {"web": 7}


def test_the_all_watchers_view_shares_out_what_it_keeps() -> None:
    sb = Scrollback(clock=Clock(), all_log_lines=100)
    sb.show(None, everything=True)
    assert sb.refill_shown(["a", "b", "c"]).count == 33
    # Many watchers: each still gets a screenful.
    assert sb.refill_shown([f"w{n}" for n in range(50)]).count == 20
    assert sb.refill_shown([]).count == 100


def test_the_view_changes_only_when_another_feed_is_shown(sb: Scrollback) -> None:
    assert sb.show("web")
    sb.changed = False
    assert not sb.show("web")
    assert not sb.changed
    assert sb.show(None, everything=True)
    assert not sb.show("api", everything=True)  # moving within the all-watchers view
    assert sb.show(None)
    assert sb.changed


def test_the_filter_follows_the_feed_on_screen(sb: Scrollback) -> None:
    sb.show("web")
    refill(sb, "web", [line(1, "GET /"), line(2, "ERROR boom")], last_seq=2)
    sb.set_filter("error")
    sb.show("api")
    refill(sb, "api", [line(1, "api ERROR"), line(2, "api fine")], last_seq=2)
    assert shown(sb) == ["api ERROR"]
    sb.show("web")
    assert shown(sb) == ["ERROR boom"]


def test_a_removed_watcher_added_again_starts_afresh(sb: Scrollback) -> None:
    sb.show("web")
    refill(sb, "web", [line(1, "old")], last_seq=1)
    sb.drop("web")
    sb.show(None)
    sb.show("web")
    assert shown(sb) == [] and sb.feed.seen == {}
    assert sb.refill_shown(["web"]).since == {"web": 0}


def test_a_dropped_watcher_leaves_the_all_watchers_view(sb: Scrollback) -> None:
    sb.show(None, everything=True)
    refill(sb, "web", [line(3, "web 3")], last_seq=3)
    pending = sb.begin_refill(["api"])
    sb.drop("web")
    sb.drop("api")
    assert "web" not in sb.all.seen
    # Added again: its output is shown at once, and the backlog asked before is not.
    assert sb.add("api", batch("api", line(1, "api again"))) is None
    sb.finish_refill(pending, {"api": ([line(1, "late")], 1)})
    assert shown(sb) == ["web 3", "api again"]
