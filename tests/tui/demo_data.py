"""Fixed data for the console's snapshot tests and the documentation's screenshots.

A `Store` is filled only through its `apply_*` methods, with replies and stream messages shaped
as the daemon sends them, and reads the time from a clock that never moves. Every number is
computed with integer arithmetic, so the pictures are the same on every machine. Log times are
rendered in local time: run with `TZ=UTC` (see `utc`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tui.store import CONNECTED, DISCONNECTED, Store

NOW = 1_780_000_000.0  # 2026-05-28 20:26:40 UTC
ENDPOINT = "ipc:///run/demo/control.sock"
HISTORY = 300  # stats samples per watcher: five minutes at one a second
MIB = 2**20


class FakeClock:
    """The store's clock: uptimes, ages and backoff countdowns are measured from `now`."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@contextmanager
def utc() -> Iterator[None]:
    """Render local times as UTC, whatever the machine's zone."""
    from tui.widgets import log_view

    before = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    log_view._clock.cache_clear()  # HH:MM:SS strings are cached per second
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()
        log_view._clock.cache_clear()


# -- the watchers: what `status` says about each ----------------------------------------

DETAILS: dict[str, dict[str, Any]] = {
    "web": {
        "state": "active",
        "running": 4,
        "numprocesses": 4,
        "restarts": 0,
        "started_at": NOW - 3 * 3600 - 25 * 60,
    },
    "worker": {
        "state": "active",
        "running": 3,
        "numprocesses": 3,
        "restarts": 2,
        "last_exit": "killed by SIGKILL after 3612.4 s",
        "started_at": NOW - 2 * 86400 - 5 * 3600,
    },
    "celery": {
        "state": "active",
        "running": 2,
        "numprocesses": 2,
        "restarts": 1,
        "last_exit": "exited with code 0 after 5400.0 s",
        "started_at": NOW - 47 * 60 - 12,
    },
    "flaky": {
        "state": "active",
        "running": 0,
        "numprocesses": 1,
        "restarts": 7,
        "last_exit": "exited with code 1 after 0.8 s",
        "reason": "backing off after exited with code 1 after 0.8 s",
        "retry_at": NOW + 4,
        "started_at": NOW - 95,
    },
    "nightly-report": {
        "state": "stopped",
        "running": 0,
        "numprocesses": 1,
        "restarts": 0,
        "started_at": None,
    },
}

# pid: (wid, cpu %, mem %, rss, seconds since it started)
PROCESSES: dict[str, dict[int, tuple[int, float, float, int, int]]] = {
    "web": {
        4101: (1, 12.5, 1.4, 58 * MIB + 300 * 1024, 3 * 3600 + 25 * 60),
        4102: (2, 9.75, 1.3, 55 * MIB + 112 * 1024, 3 * 3600 + 25 * 60),
        4103: (3, 14.25, 1.5, 61 * MIB + 900 * 1024, 3 * 3600 + 25 * 60),
        4104: (4, 7.25, 1.2, 52 * MIB + 48 * 1024, 3 * 3600 + 25 * 60),
    },
    "worker": {
        5211: (1, 31.5, 3.2, 142 * MIB, 2 * 86400 + 5 * 3600),
        5388: (2, 28.0, 2.9, 128 * MIB + 512 * 1024, 3611),
        5213: (3, 35.25, 3.4, 150 * MIB + 256 * 1024, 2 * 86400 + 5 * 3600),
    },
    "celery": {
        6020: (1, 4.5, 2.1, 96 * MIB, 47 * 60 + 12),
        6021: (2, 3.75, 2.0, 93 * MIB + 640 * 1024, 47 * 60 + 12),
    },
    "flaky": {},
    "nightly-report": {},
}

WORKER_OPTIONS: dict[str, Any] = {
    "cmd": "python3 ticker.py",
    "args": [],
    "numprocesses": 3,
    "working_dir": "/srv/demo",
    "graceful_timeout": 30.0,
    "stop_signal": 15,
    "max_retry": 5,
    "backoff_min": 0.5,
    "backoff_max": 60.0,
    "stable_after": 10.0,
    "max_age": 0,
    "stdout": "pipe",
    "stderr": "pipe",
    "max_bytes": 10485760,
    "backup_count": 5,
    "respawn": True,
    "use_sockets": False,
}


def status() -> dict[str, Any]:
    """The `status` reply of our daemon: states and details of every watcher."""
    return {
        "status": "ok",
        "statuses": {name: d["state"] for name, d in DETAILS.items()},
        "details": {name: dict(d) for name, d in DETAILS.items()},
    }


# -- stats history: a deterministic pattern per watcher --------------------------------


def _triangle(i: int, period: int) -> int:
    """0 .. period/2 .. 0, in integers."""
    phase = i % period
    return min(phase, period - phase)


def cpu_at(name: str, i: int) -> float:
    """Whole-watcher CPU (percent of one core) at sample `i`."""
    jitter = ((i * 7919) % 13) / 4
    if name == "web":
        return 28.0 + _triangle(i, 60) * 0.75 + jitter  # a daily-ish traffic wave
    if name == "worker":
        return 80.0 + _triangle(i, 24) * 1.5 + jitter  # batches
    if name == "celery":
        return 5.0 + (18.0 if i % 45 < 6 else 0.0) + jitter / 2  # a periodic task
    if name == "flaky":
        return 60.0 if i % 20 == 0 else 0.0  # each short-lived attempt
    return 0.0


def rss_at(name: str, i: int) -> int:
    """Whole-watcher resident memory (bytes) at sample `i`."""
    if name == "web":
        return 212 * MIB + _triangle(i, 60) * 512 * 1024
    if name == "worker":
        return 380 * MIB + (i % 150) * 256 * 1024  # grows, until the oldest worker is recycled
    if name == "celery":
        return 185 * MIB + (i % 45) * 64 * 1024
    if name == "flaky":
        return 22 * MIB if i % 20 == 0 else 0
    return 0


# -- events: the "why did it restart?" timeline --------------------------------------------


def _event(name: str, kind: str, at: float, **body: Any) -> tuple[str, str, dict[str, Any]]:
    return (name, kind, {"time": at, **body})


def _events() -> list[tuple[str, str, dict[str, Any]]]:
    report_end = NOW - 7 * 3600 - 50 * 60
    celery_respawn = NOW - 47 * 60 - 12
    events = [
        _event("nightly-report", "start", NOW - 8 * 3600),
        _event("nightly-report", "spawn", NOW - 8 * 3600, process_pid=3001, wid=1),
        _event("nightly-report", "reap", report_end, process_pid=3001, wid=1, exit_code=0),
        _event("nightly-report", "stop", report_end),
        _event("celery", "reap", celery_respawn - 1, process_pid=5999, wid=2, exit_code=0),
        _event("celery", "spawn", celery_respawn, process_pid=6021, wid=2),
        _event("worker", "spawn", NOW - 2 * 86400 - 5 * 3600, process_pid=5212, wid=2),
        _event("worker", "kill", NOW - 3615, process_pid=5212, wid=2),
        _event("worker", "reap", NOW - 3612, process_pid=5212, wid=2, exit_code=-9),
        _event("worker", "spawn", NOW - 3611, process_pid=5388, wid=2),
    ]
    why = "exited with code 1 after 0.8 s"
    delay = 0.5
    for attempt in range(7):
        at = NOW - 95 + attempt * 12
        pid = 7001 + attempt
        events += [
            _event("flaky", "spawn", at, process_pid=pid, wid=1),
            _event("flaky", "reap", at + 0.8, process_pid=pid, wid=1, exit_code=1),
            _event(
                "flaky", "backoff", at + 0.8, delay=delay, retry_at=at + 0.8 + delay, reason=why
            ),
        ]
        delay = min(delay * 2, 60.0)
    # The last backoff: the next attempt is 4 s away (DETAILS' retry_at).
    events.append(_event("flaky", "backoff", NOW - 4, delay=8.0, retry_at=NOW + 4, reason=why))
    return events


# -- output: what `tail` returns at attach ----------------------------------------------

RED, YELLOW, GREEN, CYAN, BOLD, RESET = (
    "\x1b[31m",
    "\x1b[33m",
    "\x1b[32m",
    "\x1b[36m",
    "\x1b[1m",
    "\x1b[0m",
)
PATHS = ("/", "/api/items", "/api/items/42", "/static/app.css", "/healthz", "/api/orders")


def _web_lines(count: int) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for k in range(count):
        path = PATHS[(k * 5) % len(PATHS)]
        code = 500 if k % 17 == 11 else (404 if k % 13 == 7 else 200)
        size = 120 + (k * 389) % 4000
        ms = 2 + (k * 31) % 90
        colour = RED if code >= 500 else (YELLOW if code >= 400 else GREEN)
        out.append(
            (
                "stdout",
                f'10.0.0.{10 + k % 7} "GET {path} HTTP/1.1" {colour}{code}{RESET} {size} {ms}ms',
            )
        )
        if code == 500:
            out.append(("stderr", f"ERROR handling {path}: database is locked (retry {k % 3})"))
    return out


def _worker_lines(count: int) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for k in range(count):
        job = 81_000 + k
        if k % 9 == 4:
            out.append(("stderr", f"{RED}{BOLD}ERROR{RESET} job {job}: timeout after 30 s"))
            out.append(("stderr", "Traceback (most recent call last):"))
            out.append(("stderr", '  File "/srv/demo/ticker.py", line 41, in run'))
            out.append(("stderr", "TimeoutError: upstream did not answer"))
        elif k % 5 == 2:
            out.append(("stdout", f"{YELLOW}WARN{RESET}  job {job}: slow ({1200 + k * 7} ms)"))
        else:
            out.append(
                ("stdout", f"{GREEN}INFO{RESET}  job {job}: done in {40 + (k * 13) % 300} ms")
            )
    return out


def _celery_lines(count: int) -> list[tuple[str, str]]:
    return [
        (
            "stdout",
            f"[{CYAN}tasks.send_digest{RESET}] succeeded in {(k * 37) % 900 / 100:.2f}s: None",
        )
        for k in range(count)
    ]


def _flaky_lines() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for _ in range(7):
        out += [
            ("stdout", "starting flaky service on port 9000"),
            ("stderr", "Traceback (most recent call last):"),
            ("stderr", '  File "/srv/demo/flaky.py", line 12, in <module>'),
            ("stderr", "ConnectionRefusedError: [Errno 111] Connection refused"),
        ]
    return out


def _nightly_lines() -> list[tuple[str, str]]:
    return [
        ("stdout", "report: 1,204 orders, 37 refunds"),
        ("stdout", "report: written to /srv/reports/2026-05-28.pdf"),
    ]


def _tail(name: str, texts: list[tuple[str, str]], end: float, step: float) -> dict[str, Any]:
    pids = sorted(PROCESSES[name]) or [3001]
    lines = [
        {
            "seq": seq,
            "time": end - (len(texts) - seq) * step,
            "pid": pids[seq % len(pids)],
            "stream": stream,
            "data": text,
        }
        for seq, (stream, text) in enumerate(texts, start=1)
    ]
    return {"lines": lines, "last_seq": len(lines)}


def _output() -> dict[str, dict[str, Any]]:
    return {
        "web": _tail("web", _web_lines(80), NOW - 1, 0.5),
        "worker": _tail("worker", _worker_lines(60), NOW - 2, 3.0),
        "celery": _tail("celery", _celery_lines(30), NOW - 20, 60.0),
        "flaky": _tail("flaky", _flaky_lines(), NOW - 4, 3.0),
        "nightly-report": _tail("nightly-report", _nightly_lines(), NOW - 7 * 3600 - 50 * 60, 1),
    }


def _stats_from_our_daemon(store: Store) -> None:
    """HISTORY aggregate samples per watcher, as `stat.<watcher>` messages, then each process."""
    for name, procs in PROCESSES.items():
        pids = sorted(procs)
        for i in range(HISTORY - 1):
            cpu = cpu_at(name, i)
            body = {
                "pid": pids,
                "cpu": cpu / max(1, len(pids)),
                "cpu_total": cpu,
                "mem": 0.0,
                "rss": rss_at(name, i),
            }
            store.apply_stat(name, None, body)
        for pid, (wid, cpu, mem, rss, age) in procs.items():
            body = {
                "pid": pid,
                "wid": wid,
                "cpu": cpu,
                "mem": mem,
                "rss": rss,
                "started": NOW - age,
            }
            store.apply_stat(name, pid, body)
        # The latest sample agrees with the processes' own numbers.
        body = {
            "pid": pids,
            "cpu_total": sum(p[1] for p in procs.values()),
            "mem": sum(p[2] for p in procs.values()),
            "rss": sum(p[3] for p in procs.values()) or rss_at(name, HISTORY - 1),
        }
        store.apply_stat(name, None, body)


def _circus_info(pid: int, cpu: float, mem: float, rss: int, age: int) -> dict[str, Any]:
    """One process as Circus's `stats` command and circus-stats describe it: no rss in bytes,
    no wid, memory as a percentage."""
    return {
        "pid": pid,
        "cpu": cpu,
        "mem": mem,
        "mem_info1": f"{rss // MIB}M",
        "mem_info2": f"{rss * 3 // MIB}M",
        "create_time": NOW - age,
        "age": float(age),
        "nice": 0,
        "username": "demo",
    }


def _stats_from_circus(store: Store) -> None:
    """The `stats` reply at attach, then HISTORY samples of circus-stats' aggregates."""
    store.apply_stats_infos(
        {
            name: {
                str(pid): _circus_info(pid, cpu, mem, rss, age)
                for pid, (_wid, cpu, mem, rss, age) in procs.items()
            }
            for name, procs in PROCESSES.items()
        }
    )
    for name, procs in PROCESSES.items():
        pids = sorted(procs)
        for i in range(HISTORY):
            cpu = cpu_at(name, i) if i < HISTORY - 1 else sum(p[1] for p in procs.values())
            mem = rss_at(name, i) * 100 / (16 * 1024 * MIB)  # of 16 GiB
            body = {"pid": pids, "cpu": cpu / max(1, len(pids)), "mem": round(mem, 3)}
            store.apply_stat(name, None, body)


def apply_output(store: Store) -> None:
    """The backlog of the output on screen (one watcher's, or all of them with `a`), as the
    link fetches it with `tail` when it is shown."""
    names = list(store.watchers) if store.log_all else [store.selected or ""]
    output = _output()
    backlogs = {
        name: (output[name]["lines"], output[name]["lines"][-1]["seq"])
        for name in names
        if output.get(name, {}).get("lines")
    }
    store.finish_refill(store.scrollback.begin_refill(backlogs), backlogs)


# -- the store ----------------------------------------------------------------------------


def demo_store(
    *,
    selected: str = "web",
    connected: bool = True,
    daemon_kind: str = "circus-tui",
) -> Store:
    """A store as the console holds it a few minutes after attaching to the demo daemon."""
    store = Store(clock=FakeClock())
    store.endpoint = ENDPOINT
    store.daemon_kind = daemon_kind
    ours = daemon_kind == "circus-tui"
    reply = status()
    if not ours:
        # Circus's `status` has states only; targets come from each watcher's `options`.
        del reply["details"]
    store.apply_status(reply)
    for name, event, body in _events():
        if ours or event != "backoff":  # Circus has no backoff
            store.apply_event(name, event, body)
    store.apply_status(reply)  # the heartbeat settles what the events left behind
    if not ours:
        for name, d in DETAILS.items():
            store.apply_options(name, {"numprocesses": d["numprocesses"]})
    if ours:
        _stats_from_our_daemon(store)
    else:
        _stats_from_circus(store)
    store.apply_options("worker", WORKER_OPTIONS)
    store.select(selected)
    if ours:
        apply_output(store)
    if connected:
        store.set_connection(CONNECTED)
    else:
        store.set_connection(DISCONNECTED, f"reconnecting to {ENDPOINT}")
    return store
