"""Dependencies as the console sees them, and the details screen's readiness text: the
chain with each condition, and each process's health and last probe."""

from __future__ import annotations

from tests.tui.test_store import Clock, status
from tests.tui.test_store_readiness import NOW, health, web
from tui import readiness
from tui.details_text import dependency_lines, health_lines
from tui.store import Store

# -- dependencies ------------------------------------------------------------------------------


def test_a_condition_holds_as_the_console_sees_the_dependency() -> None:
    s = Store(clock=Clock(NOW))
    s.apply_status(
        status(
            db={"running": 1, "numprocesses": 1, "ready": 0},
            cache={"running": 2, "numprocesses": 2},
            migrate={"state": "completed", "running": 0},
            queue={"state": "waiting", "running": 0},
        )
    )
    db, cache, migrate, queue = (s.watchers[n] for n in ("db", "cache", "migrate", "queue"))
    assert readiness.holds("started", db) and not readiness.holds("ready", db)
    assert readiness.holds("ready", cache)  # no readiness reported: running is ready
    assert readiness.holds("completed", migrate) and readiness.holds("started", migrate)
    assert not readiness.holds("ready", migrate)
    assert not readiness.holds("started", queue) and not readiness.holds("completed", db)
    assert not readiness.holds("ready", None) and not readiness.holds("sometime", cache)


def test_the_chain_follows_dependencies_of_dependencies_once() -> None:
    s = Store(clock=Clock(NOW))
    s.apply_status(
        status(
            web={"state": "waiting", "depends_on": {"api": "ready", "migrate": "completed"}},
            api={"depends_on": {"db": "ready", "migrate": "completed"}},
            migrate={"state": "completed", "depends_on": {"db": "started"}},
            db={"depends_on": {"web": "started"}},  # a cycle: the daemon refuses it
        )
    )
    chain = [(c.depth, c.name, c.condition, c.holds) for c in readiness.chain(s.watchers, "web")]
    assert chain == [
        (0, "api", "ready", True),
        (1, "db", "ready", True),
        (2, "web", "started", False),
        (1, "migrate", "completed", True),
        (2, "db", "started", True),
        (0, "migrate", "completed", True),
    ]
    assert readiness.chain(s.watchers, "gone") == []


# -- the details screen's text ---------------------------------------------------------------


def test_the_details_list_the_chain_with_what_each_dependency_is_now() -> None:
    s = Store(clock=Clock(NOW))
    s.apply_status(
        status(
            web={
                "state": "waiting",
                "waiting_for": "migrate: running 3 s",
                "depends_on": {"migrate": "completed", "redis": "ready", "gone": "started"},
            },
            migrate={"depends_on": {"db": "ready"}},
            db={"ready": 1},
            redis={"ready": 0, "health": {"1": health("starting")}},
        )
    )
    assert dependency_lines(s.watchers, "web", NOW) == [
        "waiting for migrate: running 3 s",
        "✗ gone started (no such watcher)",
        "✗ migrate completed (now active)",
        "    ✓ db ready (now active)",
        "✗ redis ready (now starting)",
    ]
    assert dependency_lines(s.watchers, "db", NOW) == []


def test_the_details_list_each_process_s_health_by_slot() -> None:
    store = Store(clock=Clock(NOW))
    store.apply_status(status(web=web()))
    for pid, wid in ((4101, 1), (4102, 2)):
        store.apply_event("web", "spawn", {"process_pid": pid, "wid": wid, "time": NOW - 9})
    ok = {"ok": True, "detail": "200 OK", "time": NOW - 3}
    evil = "\x1b[2J\x1b]0;t\x07up\n"
    store.apply_status(
        status(
            web=web(
                health={
                    "4102": health("starting", evil, {"ok": False, "detail": "refused", "time": 0}),
                    "4101": health("ready", None, ok),
                }
            )
        )
    )
    assert health_lines(store.watchers["web"], NOW) == [
        "pid 4101 (wid 1) ready, probe passed 3s ago: 200 OK",
        "pid 4102 (wid 2) starting, “up␊”, probe failed: refused",
    ]
    store.apply_event("web", "probe_failed", {"process_pid": 4101, "probe": "alive",
                                              "detail": "timed out", "time": NOW - 1})  # fmt: skip
    assert health_lines(store.watchers["web"], NOW)[0] == (
        "pid 4101 (wid 1) ready, alive probe failed 1s ago: timed out"
    )
    # Nothing to say beyond "running, so ready": no section.
    store.apply_status(status(web=web(health={"4101": health("ready")})))
    assert health_lines(store.watchers["web"], NOW) == []
