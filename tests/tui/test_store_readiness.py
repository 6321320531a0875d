"""The view model of readiness, dependencies, one-shots and rolling reloads, fed with status
details and events shaped as docs/protocol.md and the issue 10 wire contract give them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.tui.test_store import Clock, status
from tui.readiness import UNHEALTHY_FOR
from tui.store import Store
from tui.views import HealthView, ProbeView, RollView
from tui.widgets.tables import state_class

NOW = 1_000_000.0


def health(state: str, status: str | None = None, probe: Any = None) -> dict[str, Any]:
    return {"health": state, "status": status, "probe": probe}


def web(**details: Any) -> dict[str, Any]:
    """web's details: 4 processes, 4101..4104, running and probed."""
    return {"running": 4, "numprocesses": 4, **details}


@pytest.fixture
def store() -> Store:
    s = Store(clock=Clock(NOW))
    s.apply_status(status(web=web(), migrate={}, api={}))
    s.select("web")
    for pid in range(4101, 4105):
        s.apply_event("web", "spawn", {"process_pid": pid, "wid": pid - 4100, "time": NOW - 9})
    return s


def state(store: Store, name: str = "web") -> str:
    return store.watcher_cells(name)[1]


# -- status details --------------------------------------------------------------------------


def test_the_readiness_keys_of_the_details_are_applied(store: Store) -> None:
    ok = {"ok": True, "detail": "200 OK", "time": NOW - 1}
    store.apply_status(
        status(
            web=web(
                ready=3,
                completed=0,
                depends_on={"migrate": "completed"},
                roll={"replaced": 2, "total": 4},
                health={
                    "4101": health("ready", probe=ok),
                    "4102": health("starting", "booting: 40%"),
                },
            ),
            api={"state": "waiting", "waiting_for": "migrate: running 3 s"},
            migrate={"state": "completed", "running": 0, "completed": 1},
        )
    )
    w = store.watchers["web"]
    assert w.ready == 3 and w.depends_on == {"migrate": "completed"}
    assert w.roll == RollView(2, 4)
    assert w.health == {
        4101: HealthView("ready", None, ProbeView(True, "200 OK", NOW - 1)),
        4102: HealthView("starting", "booting: 40%", None),
    }
    assert w.probed and store.shows_health
    assert store.watchers["api"].waiting_for == "migrate: running 3 s"
    assert store.watchers["migrate"].completed == 1
    # The next heartbeat's details replace what the last one said.
    store.apply_status(status(web=web(ready=4, roll=None, health={})))
    assert w.ready == 4 and w.roll is None and w.health == {}


def test_details_of_the_wrong_type_read_as_absent(store: Store) -> None:
    store.apply_status(
        status(
            web=web(
                ready=True,
                completed="2",
                waiting_for=7,
                depends_on=["migrate"],
                roll={"replaced": "2", "total": 4},
                health={"x": health("ready"), "4101": "ready", "4102": {"health": 3}},
            )
        )
    )
    w = store.watchers["web"]
    assert (w.ready, w.completed, w.waiting_for, w.depends_on, w.roll) == (None, 0, None, {}, None)
    assert w.health == {4102: HealthView("starting")}


def test_a_daemon_without_readiness_leaves_the_console_as_it_was(store: Store) -> None:
    """No probes anywhere: every process is ready at once, and nothing changes on screen."""
    every = {str(pid): health("ready") for pid in range(4101, 4105)}
    store.apply_status(status(web=web(ready=4, health=every, depends_on={}, roll=None)))
    assert not store.watchers["web"].probed and not store.shows_health
    assert state(store) == "active"
    assert [len(cells) for _, cells in store.process_rows("web")] == [7] * 4
    # A process missing (respawning) reads as it does today: active, with Procs 3/4.
    store.apply_status(status(web=web(running=3, ready=3, health=every)))
    assert state(store) == "active"


# -- the State column --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("details", "text"),
    [
        ({"ready": 3}, "ready 3/4"),
        ({"ready": 0}, "starting"),
        ({"ready": 4}, "active"),
        ({"ready": 5}, "active"),  # a roll's surge: capacity is whole
        ({"state": "waiting", "waiting_for": "migrate: running 3 s"}, "waiting for migrate"),
        ({"state": "waiting", "waiting_for": "migrate: failed: exited with code 1"},
         "waiting for migrate"),
        ({"state": "waiting", "waiting_for": None}, "waiting"),
        ({"state": "completed", "running": 0, "completed": 4}, "completed"),
        ({"state": "starting", "ready": 0}, "starting"),
    ],
)  # fmt: skip
def test_the_state_says_how_ready_a_probed_watcher_is(
    store: Store, details: dict[str, Any], text: str
) -> None:
    probed = {"4101": health("starting")}
    store.apply_status(status(web=web(**{"health": probed, **details})))
    assert state(store) == text


def test_a_process_unhealthy_now_makes_the_watcher_unhealthy_with_the_probe_s_reason(
    store: Store,
) -> None:
    failed = {"ok": False, "detail": "GET /healthz: timed out after 2.0 s", "time": NOW - 1}
    sick = {"4101": health("unhealthy", probe=failed), "4102": health("ready")}
    store.apply_status(status(web=web(ready=3, health=sick)))
    assert state(store) == "unhealthy (GET /healthz: timed out…)"
    assert state_class(state(store)) == "row-table--bad"


def test_a_failed_liveness_probe_reads_unhealthy_for_a_minute(store: Store) -> None:
    store.apply_status(status(web=web(ready=4, health={"4101": health("ready")})))
    body = {"process_pid": 4101, "wid": 1, "reason": "3 liveness probes failed", "time": NOW}
    store.apply_event("web", "unready", body)
    assert state(store) == "unhealthy (3 liveness probes failed)"
    # Replaced, and the replacement ready: the reason stays in view a while, then goes.
    store.apply_status(status(web=web(ready=4, health={"4105": health("ready")})))
    assert state(store).startswith("unhealthy")
    store.clock.now = NOW + UNHEALTHY_FOR + 1  # type: ignore[attr-defined]
    assert state(store) == "active"


@pytest.mark.parametrize(
    ("text", "cls"),
    [("waiting for migrate", "row-table--warn"), ("ready 3/4", "row-table--warn"),
     ("completed", "row-table--muted"), ("unhealthy (x)", "row-table--bad"),
     ("active", None)],
)  # fmt: skip
def test_new_states_read_at_a_glance(text: str, cls: str | None) -> None:
    assert state_class(text) == cls


# -- events ------------------------------------------------------------------------------------


def events(store: Store, name: str = "web") -> list[tuple[str, str]]:
    return [(e.kind, e.text) for e in store.watchers[name].events if e.kind != "spawn"]


def test_ready_counts_a_process_ready_once(store: Store) -> None:
    store.apply_status(status(web=web(ready=2, health={"4103": health("starting")})))
    store.apply_event("web", "ready", {"process_pid": 4103, "wid": 3, "after": 1.5, "time": NOW})
    store.apply_event("web", "ready", {"process_pid": 4103, "wid": 3, "after": 1.5, "time": NOW})
    w = store.watchers["web"]
    assert w.ready == 3 and w.health[4103].health == "ready"
    assert events(store)[-1] == ("ready", "pid 4103 ready after 1.5 s")


def test_unready_marks_the_process_and_the_reap_says_why_it_ended(store: Store) -> None:
    store.apply_status(status(web=web(ready=4, health={"4101": health("ready")})))
    reason = "GET /healthz: 503 three times in a row"
    store.apply_event("web", "unready", {"process_pid": 4101, "wid": 1, "reason": reason})
    w = store.watchers["web"]
    assert w.health[4101].health == "unhealthy" and w.ready == 3 and w.probed
    store.apply_event(
        "web", "reap", {"process_pid": 4101, "wid": 1, "exit_code": -15, "cause": "unready"}
    )
    assert 4101 not in w.health
    assert w.last_exit_by_wid[1] == "killed by SIGTERM (replaced: failed its liveness probe)"
    assert events(store) == [
        ("unready", f"pid 4101 unhealthy, being replaced: {reason}"),
        ("reap", "pid 4101 killed by SIGTERM (replaced: failed its liveness probe)"),
    ]


@pytest.mark.parametrize(
    ("cause", "said"),
    [("exit", "exited with code 1"), ("signal", "killed by SIGKILL"),
     ("start_timeout", "killed by SIGKILL (replaced: not ready in time)"),
     ("stopped", "killed by SIGKILL")],
)  # fmt: skip
def test_a_reap_s_cause_is_told_when_the_exit_alone_does_not_say_it(
    store: Store, cause: str, said: str
) -> None:
    code = 1 if cause == "exit" else -9
    body = {"process_pid": 4102, "wid": 2, "exit_code": code, "cause": cause}
    store.apply_event("web", "reap", body)
    assert store.watchers["web"].last_exit_by_wid[2] == said
    told = f"{said} (stopped)" if cause == "stopped" else said
    assert events(store)[-1] == ("reap", f"pid 4102 {told}")


def test_probe_failures_are_the_process_s_last_probe_result(store: Store) -> None:
    body = {"process_pid": 4102, "wid": 2, "probe": "ready", "detail": "connection refused"}
    store.apply_event("web", "probe_failed", {**body, "failures": 1, "time": NOW - 2})
    w = store.watchers["web"]
    assert w.health[4102] == HealthView(
        "starting", None, ProbeView(False, "connection refused", NOW - 2, "ready")
    )
    assert w.unhealthy is None  # a readiness probe failing is a process still starting
    body = {**body, "probe": "alive", "detail": "timed out", "failures": 2, "time": NOW}
    store.apply_event("web", "probe_failed", body)
    assert w.unhealthy == ("timed out", NOW) and state(store) == "unhealthy (timed out)"
    assert events(store)[-1] == (
        "probe_failed",
        "pid 4102 alive probe failed (2 in a row): timed out",
    )


def test_status_texts_go_to_the_process_s_health_cell(store: Store) -> None:
    store.apply_event("web", "status", {"process_pid": 4101, "status": "Listening on :8000"})
    assert store.watchers["web"].health[4101].status == "Listening on :8000"
    rows = dict(store.process_rows("web"))
    assert rows["0"][6] == "starting: Listening on :8000"  # no ready yet: starting
    assert events(store)[-1] == ("status", "pid 4101 status: Listening on :8000")


def test_waiting_then_completed(store: Store) -> None:
    store.apply_event("api", "waiting", {"reason": "migrate: running 3 s", "time": NOW})
    assert store.watchers["api"].state == "waiting" and state(store, "api") == "waiting for migrate"
    store.apply_event("migrate", "completed", {"time": NOW})
    assert state(store, "migrate") == "completed"
    store.apply_event("api", "start", {"time": NOW})
    assert store.watchers["api"].waiting_for is None and state(store, "api") == "active"
    assert events(store, "api")[0] == ("waiting", "waiting for migrate: running 3 s")


def test_a_roll_s_progress_is_in_the_status_line_until_it_ends(store: Store) -> None:
    store.rolls_changed = False
    assert store.rolls_text() == ""
    store.apply_event("web", "roll", {"phase": "started", "replaced": 0, "total": 4})
    assert store.rolls_changed and store.rolls_text() == "reloading web: 0/4 replaced"
    store.rolls_changed = False
    store.apply_event("web", "roll", {"phase": "progress", "replaced": 2, "total": 4})
    assert store.rolls_changed and store.rolls_text() == "reloading web: 2/4 replaced"
    store.apply_event("web", "roll", {"phase": "done", "replaced": 4, "total": 4})
    assert store.rolls_text() == "" and store.take_notices() == []
    assert [t for k, t in events(store)] == [
        "rolling reload: 0/4 replaced",
        "rolling reload: 2/4 replaced",
        "rolling reload done: 4/4 replaced",
    ]


def test_an_aborted_roll_is_told_with_its_reason(store: Store) -> None:
    store.apply_event("web", "roll", {"phase": "started", "replaced": 0, "total": 4})
    reason = "pid 4200 not ready after 60.0 s"
    store.apply_event(
        "web", "roll", {"phase": "aborted", "replaced": 1, "total": 4, "reason": reason}
    )
    assert store.rolls_text() == ""
    [notice] = store.take_notices()
    assert notice.key == ("roll-aborted", "web") and notice.severity == "error"
    assert notice.text == f"reload web aborted: {reason}"
    assert store.take_notices() == []
    assert events(store)[-1] == ("roll", f"rolling reload aborted: {reason}")


def test_removing_a_rolling_watcher_clears_its_progress(store: Store) -> None:
    store.apply_status(status(web=web(roll={"replaced": 1, "total": 4}), api={}))
    store.rolls_changed = False
    store.apply_status(status(api={}))
    assert store.rolls_changed and store.rolls_text() == ""


# -- the Health column -----------------------------------------------------------------------


def test_the_health_column_comes_with_the_first_probed_watcher(store: Store) -> None:
    store.select("api")
    store.take_dirty()
    assert not store.shows_health
    store.apply_status(status(web=web(health={"4101": health("starting")}), api={}))
    # api is on screen: its processes table gains the column too.
    assert store.shows_health and "api" in store.take_dirty()
    rows = dict(store.process_rows("web"))
    assert [rows[k][6] for k in sorted(rows)] == ["starting", "", "", ""]
    assert rows["0"][-1] == ""  # Last exit stays the last cell


def test_daemon_text_in_cells_is_made_safe_and_cut(store: Store) -> None:
    """A child writes its STATUS= text and a probe's output: no control reaches the terminal,
    no line break splits a row, and a long text does not widen a column without end."""
    evil = "\x1b]0;owned\x07\x1b[2Jok\nline two " + "x" * 500
    store.apply_event("web", "status", {"process_pid": 4101, "status": evil})
    store.apply_event(
        "web", "probe_failed", {"process_pid": 4102, "probe": "alive", "detail": evil}
    )
    cell = dict(store.process_rows("web"))["0"][6]
    text = state(store)
    for shown in (cell, text):
        assert "\x1b" not in shown and "\x07" not in shown and "\n" not in shown
        assert "ok␊line two" in shown and "x…" in shown
    assert len(cell) < 60 and len(text) < 50
    store.apply_event("web", "roll", {"phase": "aborted", "reason": evil * 10})
    [notice] = store.take_notices()
    lines = [notice.text] + [text for _, text in events(store)]
    for line in lines:
        assert "\x1b" not in line and "\n" not in line and "ok␊line two" in line
        assert len(line) <= 320


def test_hook_events_are_listed_with_their_error_made_safe(store: Store) -> None:
    store.apply_event("web", "hook_success", {"name": "before_start"})
    store.apply_event(
        "web", "hook_failure", {"name": "after_spawn", "error": "exit 1: \x1b[2Jboom\nagain"}
    )
    said = events(store)[-2:]
    assert said[0] == ("hook_success", "hook before_start ran")
    kind, text = said[1]
    assert kind == "hook_failure" and text.startswith("hook after_spawn failed: exit 1: ")
    assert "\x1b" not in text and "\n" not in text


def test_a_limit_replacement_is_listed_with_its_reason(store: Store) -> None:
    body = {
        "process_pid": 4101,
        "wid": 1,
        "limit": "max_memory",
        "reason": "memory 530M over max_memory 512M",
    }
    store.apply_event("web", "limit", body)
    assert events(store)[-1] == ("limit", "pid 4101 replaced: memory 530M over max_memory 512M")
