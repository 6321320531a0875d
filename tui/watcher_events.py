"""A daemon's event, applied to the watcher it concerns: what changes in the view model, and
the line the details screen lists for it. One function per kind of event."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from daemon import exits
from tui import readiness
from tui.cells import number, shown
from tui.views import ProbeView, ProcessView, RollView, WatcherView

LINE_CELLS = 200  # of a reason, a probe's detail or a STATUS= text in an event's line
# Why a process ended, when it was not simply its exit or a signal: said after the exit.
REAP_CAUSES = {
    "unready": "replaced: failed its liveness probe",
    "start_timeout": "replaced: not ready in time",
    "stopped": "stopped",
}


def _running(w: WatcherView) -> int:
    return sum(1 for p in w.processes.values() if p.state == "running")


def _line(value: str | None) -> str:
    """A daemon's text in an event's line: safe, and cut (a STATUS= text is a child's)."""
    return shown(value or "", LINE_CELLS)


def _pid(body: dict[str, Any]) -> int | None:
    pid = body.get("process_pid")
    return pid if isinstance(pid, int) and not isinstance(pid, bool) else None


def _spawn(w: WatcherView, body: dict[str, Any], now: float) -> str:
    pid = _pid(body)
    if pid is None:
        return "spawn"
    w.processes.setdefault(pid, ProcessView(pid, wid=body.get("wid"), started=now))
    w.running = _running(w)
    return f"spawned pid {pid}" + (f" (wid {body['wid']})" if "wid" in body else "")


def _reap(w: WatcherView, body: dict[str, Any], now: float) -> str:
    pid = _pid(body)
    if pid is None:
        return "reap"
    p = w.processes.pop(pid, None)
    h = w.health.pop(pid, None)
    if h is not None and h.health == "ready" and w.ready:
        w.ready -= 1
    code = body.get("exit_code")
    reason = body.get("reason") or (
        exits.describe_circus_code(code) if isinstance(code, int) else "exited"
    )
    cause = REAP_CAUSES.get(str(body.get("cause")))
    told = f"{reason} ({cause})" if cause is not None and cause not in reason else reason
    wid = body.get("wid", p.wid if p else None)
    if wid is not None:
        # A slot's last exit says why only when it was not asked for: a stop (or a roll's)
        # reads as the signal it took, as before.
        w.last_exit_by_wid[int(wid)] = reason if body.get("cause") == "stopped" else told
    w.running = _running(w)
    return f"pid {pid} {told}"


def _kill(w: WatcherView, body: dict[str, Any], now: float) -> str:
    pid = _pid(body)
    if pid is None:
        return "kill"
    if pid in w.processes:
        w.processes[pid].state = "stopping"
    return f"stopping pid {pid}"


def _backoff(w: WatcherView, body: dict[str, Any], now: float) -> str:
    w.retry_at = body.get("retry_at")
    w.last_exit = body.get("reason") or w.last_exit
    w.reason = f"backing off after {body.get('reason')}"
    return f"backoff {number(body.get('delay')):.1f}s after {body.get('reason')}"


def _failed(w: WatcherView, body: dict[str, Any], now: float) -> str:
    w.state = "failed"
    w.reason = body.get("reason")
    w.retry_at = None
    return f"failed: {body.get('reason')}"


def _log_error(w: WatcherView, body: dict[str, Any], now: float) -> str:
    lost = body.get("lost")
    count = lost if isinstance(lost, int) and not isinstance(lost, bool) else 0
    w.log_error = f"{body.get('reason')} ({count:,} lines not written)"
    return f"log file {body.get('path')}: {w.log_error}"


def _log_resumed(w: WatcherView, body: dict[str, Any], now: float) -> str:
    w.log_error = None
    return f"log file {body.get('path')} written again"


def _ready(w: WatcherView, body: dict[str, Any], now: float) -> str:
    pid = _pid(body)
    if pid is None:
        return "ready"
    h = readiness.health_of(w, pid)
    if h.health != "ready":
        h.health = "ready"
        w.ready = min((w.ready or 0) + 1, max(w.running, w.target))
    after = readiness.seconds(body.get("after"))
    took = f" after {after:.1f} s" if after is not None else ""
    return f"pid {pid} ready{took}"


def _unready(w: WatcherView, body: dict[str, Any], now: float) -> str:
    reason = readiness.text(body.get("reason")) or "liveness probe failed"
    w.probed = True
    w.unhealthy = (reason, now)
    pid = _pid(body)
    if pid is None:
        return f"unhealthy: {_line(reason)}"
    h = readiness.health_of(w, pid)
    if h.health == "ready" and w.ready:
        w.ready -= 1
    h.health = "unhealthy"
    return f"pid {pid} unhealthy, being replaced: {_line(reason)}"


def _probe_failed(w: WatcherView, body: dict[str, Any], now: float) -> str:
    kind = readiness.text(body.get("probe")) or "probe"
    detail = readiness.text(body.get("detail")) or "failed"
    w.probed = True
    failures = readiness.count(body.get("failures"))
    times = f" ({failures} in a row)" if failures and failures > 1 else ""
    pid = _pid(body)
    if kind == "alive":
        w.unhealthy = (detail, now)
    if pid is None:
        return f"{_line(kind)} probe failed{times}: {_line(detail)}"
    readiness.health_of(w, pid).probe = ProbeView(False, detail, now, kind)
    return f"pid {pid} {_line(kind)} probe failed{times}: {_line(detail)}"


def _status(w: WatcherView, body: dict[str, Any], now: float) -> str:
    pid = _pid(body)
    said = readiness.text(body.get("status"))
    if pid is None:
        return f"status: {_line(said)}"
    w.probed = True
    readiness.health_of(w, pid).status = said
    return f"pid {pid} status: {_line(said)}"


def _waiting(w: WatcherView, body: dict[str, Any], now: float) -> str:
    w.state = "waiting"
    w.waiting_for = readiness.text(body.get("reason"))
    return f"waiting for {_line(w.waiting_for)}" if w.waiting_for else "waiting"


def _completed(w: WatcherView, body: dict[str, Any], now: float) -> str:
    w.state = "completed"
    w.waiting_for = None
    w.retry_at = None
    return "completed: every process ended with a success code"


def _roll(w: WatcherView, body: dict[str, Any], now: float) -> str:
    phase = body.get("phase")
    replaced, total = readiness.count(body.get("replaced")), readiness.count(body.get("total"))
    progress = f"{replaced}/{total} replaced" if replaced is not None and total else ""
    if phase in ("started", "progress"):
        if replaced is not None and total is not None:
            w.roll = RollView(replaced, total)
        return f"rolling reload: {progress}" if progress else "rolling reload"
    w.roll = None
    if phase == "aborted":
        return (
            f"rolling reload aborted: {_line(readiness.text(body.get('reason')) or 'none given')}"
        )
    return f"rolling reload done: {progress}" if progress else "rolling reload done"


def _start(w: WatcherView, body: dict[str, Any], now: float) -> str:
    w.state = "active"
    w.retry_at = None
    w.started_at = now
    w.reason = None
    w.waiting_for = None
    return "start"


def _stop(w: WatcherView, body: dict[str, Any], now: float) -> str:
    w.state = "stopped"
    w.retry_at = None
    w.waiting_for = None
    return "stop"


def _limit(w: WatcherView, body: dict[str, Any], now: float) -> str:
    reason = _line(readiness.text(body.get("reason")) or "over a limit")
    pid = _pid(body)
    return f"pid {pid} replaced: {reason}" if pid is not None else f"replaced: {reason}"


def _hook_success(w: WatcherView, body: dict[str, Any], now: float) -> str:
    return f"hook {_line(readiness.text(body.get('name')) or '?')} ran"


def _hook_failure(w: WatcherView, body: dict[str, Any], now: float) -> str:
    name = _line(readiness.text(body.get("name")) or "?")
    return f"hook {name} failed: {_line(readiness.text(body.get('error')) or 'no reason given')}"


Apply = Callable[[WatcherView, dict[str, Any], float], str]

APPLY: dict[str, Apply] = {
    "spawn": _spawn,
    "reap": _reap,
    "kill": _kill,
    "backoff": _backoff,
    "failed": _failed,
    "log_error": _log_error,
    "log_resumed": _log_resumed,
    "start": _start,
    "stop": _stop,
    "ready": _ready,
    "unready": _unready,
    "probe_failed": _probe_failed,
    "status": _status,
    "waiting": _waiting,
    "completed": _completed,
    "roll": _roll,
    "limit": _limit,
    "hook_success": _hook_success,
    "hook_failure": _hook_failure,
}


def apply(w: WatcherView, event: str, body: dict[str, Any], now: float) -> str:
    """Change `w` as `event` says; return the line to list (the event's name when there is
    nothing more to say, as for `updated`)."""
    change = APPLY.get(event)
    return change(w, body, now) if change is not None else event
