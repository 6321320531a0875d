"""Fixed data for the snapshots of readiness: probes, dependencies, a one-shot and a rolling
reload in progress, as the daemon reports them (status details and events of the issue 10
wire contract). Built like tests/tui/demo_data.py: through the store's `apply_*` methods, on a
clock that never moves."""

from __future__ import annotations

from typing import Any

from tests.tui.demo_data import ENDPOINT, MIB, NOW, FakeClock
from tui.store import CONNECTED, Store

OK = {"ok": True, "detail": "200 OK in 4 ms", "time": NOW - 1}
REFUSED = {"ok": False, "detail": "connect 127.0.0.1:8000: connection refused", "time": NOW - 1}
TIMED_OUT = {"ok": False, "detail": "GET /_health: timed out after 2.0 s", "time": NOW - 3}


def _health(state: str, probe: dict[str, Any] | None, status: str | None = None) -> dict[str, Any]:
    return {"health": state, "status": status, "probe": probe}


# pid: (wid, cpu %, rss, seconds since it started)
PROCESSES: dict[str, dict[int, tuple[int, float, int, int]]] = {
    "web": {
        4201: (1, 11.5, 61 * MIB, 14),
        4202: (2, 10.25, 59 * MIB, 7),
        4103: (3, 14.0, 62 * MIB, 3 * 3600),
        4203: (3, 31.0, 40 * MIB, 2),  # the surge: the replacement of 4103, starting
        4104: (4, 12.0, 60 * MIB, 3 * 3600),
    },
    "api": {
        6001: (1, 5.5, 80 * MIB, 3 * 3600),
        6002: (2, 6.0, 82 * MIB, 3 * 3600),
        6003: (3, 48.0, 30 * MIB, 4),  # scaled up a moment ago
    },
    "redis": {3900: (1, 2.5, 9 * MIB, 3 * 3600 + 60)},
    "search": {5100: (1, 40.0, 512 * MIB, 3600), 5101: (2, 99.0, 530 * MIB, 3600)},
}

STARTED = NOW - 3 * 3600 - 60

DETAILS: dict[str, dict[str, Any]] = {
    "migrate": {
        "state": "completed",
        "running": 0,
        "numprocesses": 1,
        "completed": 1,
        "ready": 0,
        "last_exit": "exited with code 0 after 12.0 s",
        "started_at": None,
    },
    "redis": {
        "state": "active",
        "running": 1,
        "numprocesses": 1,
        "ready": 1,
        "started_at": STARTED,
        "health": {"3900": _health("ready", {**OK, "detail": "connected in 0 ms"})},
    },
    "web": {
        # A rolling reload, two of four replaced: one more process than numprocesses while
        # the replacement starts, and never fewer than four ready.
        "state": "active",
        "running": 5,
        "numprocesses": 4,
        "ready": 4,
        "started_at": STARTED + 60,
        "depends_on": {"migrate": "completed", "redis": "ready"},
        "roll": {"replaced": 2, "total": 4},
        "health": {
            "4201": _health("ready", OK, "12 req/s"),
            "4202": _health("ready", OK, "9 req/s"),
            "4103": _health("ready", OK, "14 req/s"),
            "4203": _health("starting", REFUSED, "booting"),
            "4104": _health("ready", OK, "11 req/s"),
        },
    },
    "api": {
        "state": "active",
        "running": 3,
        "numprocesses": 3,
        "ready": 2,
        "started_at": STARTED + 60,
        "depends_on": {"redis": "ready"},
        "health": {
            "6001": _health("ready", OK),
            "6002": _health("ready", OK),
            "6003": _health("starting", REFUSED, "warming cache"),
        },
    },
    "search": {
        "state": "active",
        "running": 2,
        "numprocesses": 2,
        "ready": 1,
        "restarts": 1,
        "started_at": STARTED,
        "health": {"5100": _health("ready", OK), "5101": _health("unhealthy", TIMED_OUT)},
    },
    "mailer": {
        "state": "waiting",
        "running": 0,
        "numprocesses": 1,
        "ready": 0,
        "started_at": None,
        "depends_on": {"search": "ready"},
        "waiting_for": "search: 1 of 2 ready",
    },
}


def _events() -> list[tuple[str, str, dict[str, Any]]]:
    def at(seconds_ago: float, **body: Any) -> dict[str, Any]:
        return {"time": NOW - seconds_ago, **body}

    return [
        ("migrate", "start", at(3 * 3600 + 80)),
        ("migrate", "spawn", at(3 * 3600 + 80, process_pid=3800, wid=1)),
        ("migrate", "reap", at(3 * 3600 + 68, process_pid=3800, wid=1, exit_code=0, cause="exit")),
        ("migrate", "completed", at(3 * 3600 + 68)),
        ("web", "roll", at(16, phase="started", replaced=0, total=4)),
        ("web", "spawn", at(16, process_pid=4201, wid=1)),
        ("web", "ready", at(14, process_pid=4201, wid=1, after=1.6)),
        ("web", "reap", at(13, process_pid=4101, wid=1, exit_code=-15, cause="stopped")),
        ("web", "roll", at(13, phase="progress", replaced=1, total=4)),
        ("web", "spawn", at(9, process_pid=4202, wid=2)),
        ("web", "ready", at(7, process_pid=4202, wid=2, after=1.5)),
        ("web", "reap", at(6, process_pid=4102, wid=2, exit_code=-15, cause="stopped")),
        ("web", "roll", at(6, phase="progress", replaced=2, total=4)),
        ("web", "spawn", at(2, process_pid=4203, wid=3)),
        ("web", "probe_failed", at(1, process_pid=4203, wid=3, probe="ready", failures=1,
                                   detail=REFUSED["detail"])),
        ("api", "spawn", at(4, process_pid=6003, wid=3)),
        ("search", "probe_failed", at(3, process_pid=5101, wid=2, probe="alive", failures=2,
                                      detail=TIMED_OUT["detail"])),
        ("mailer", "waiting", at(3600, reason="search: 1 of 2 ready")),
    ]  # fmt: skip


def status() -> dict[str, Any]:
    return {
        "status": "ok",
        "statuses": {name: d["state"] for name, d in DETAILS.items()},
        "details": {name: dict(d) for name, d in DETAILS.items()},
    }


def readiness_store(selected: str = "api") -> Store:
    """A store a few seconds into a rolling reload of web, whose dependencies hold, beside api
    with a process starting, an unhealthy search and a mailer waiting for it."""
    store = Store(clock=FakeClock())
    store.endpoint = ENDPOINT
    store.apply_status(status())
    for name, event, body in _events():
        store.apply_event(name, event, body)
    store.apply_status(status())  # the heartbeat settles what the events left behind
    for name, procs in PROCESSES.items():
        for pid, (wid, cpu, rss, age) in procs.items():
            body = {
                "pid": pid,
                "wid": wid,
                "cpu": cpu,
                "mem": 0.0,
                "rss": rss,
                "started": NOW - age,
            }
            store.apply_stat(name, pid, body)
        for i in range(120):
            total = sum(p[1] for p in procs.values()) * (0.5 + (i % 20) / 40)
            rss = sum(p[2] for p in procs.values())
            store.apply_stat(name, None, {"pid": sorted(procs), "cpu_total": total, "rss": rss})
    store.select(selected)
    store.set_connection(CONNECTED)
    return store
