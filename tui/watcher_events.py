"""A daemon's event, applied to the watcher it concerns: what changes in the view model, and
the line the details screen lists for it. One function per kind of event."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from daemon import exits
from tui.cells import number
from tui.views import ProcessView, WatcherView


def _running(w: WatcherView) -> int:
    return sum(1 for p in w.processes.values() if p.state == "running")


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
    code = body.get("exit_code")
    reason = body.get("reason") or (
        exits.describe_circus_code(code) if isinstance(code, int) else "exited"
    )
    wid = body.get("wid", p.wid if p else None)
    if wid is not None:
        w.last_exit_by_wid[int(wid)] = reason
    w.running = _running(w)
    return f"pid {pid} {reason}"


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


def _start(w: WatcherView, body: dict[str, Any], now: float) -> str:
    w.state = "active"
    w.retry_at = None
    w.started_at = now
    w.reason = None
    return "start"


def _stop(w: WatcherView, body: dict[str, Any], now: float) -> str:
    w.state = "stopped"
    w.retry_at = None
    return "stop"


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
}


def apply(w: WatcherView, event: str, body: dict[str, Any], now: float) -> str:
    """Change `w` as `event` says; return the line to list (the event's name when there is
    nothing more to say, as for `updated`)."""
    change = APPLY.get(event)
    return change(w, body, now) if change is not None else event
