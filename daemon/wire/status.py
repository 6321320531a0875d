"""Status bodies: a watcher's `details` (our extension of `status`), `statuses`,
`globaloptions` and `listsockets` entries, as Circus's tools (and the console) read them."""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable
from typing import Any

from daemon import substitute
from daemon.sockets import ManagedSocket
from daemon.wire.circus_options import circus_options
from daemon.wire.core import Core, ProcessView, WatcherView


def details(watcher: WatcherView) -> dict[str, Any]:
    return {
        "state": watcher.state,
        "running": sum(1 for p in watcher.live() if p.alive),
        "numprocesses": watcher.numprocesses,
        "restarts": watcher.restarts,
        "failures": watcher.policy.failures,
        "last_exit": watcher.last_exit,
        "reason": watcher.reason,
        "retry_at": watcher.retry_at,
        "started_at": watcher.started_at,
        "output_seq": watcher.output.seq,
        "log_error": watcher.output.log_problem(),
        "log_lines_lost": watcher.output.lost(),
        "ready": watcher.ready(),
        "waiting_for": watcher.waiting_for,
        "depends_on": dict(watcher.config.depends_on),
        "completed": watcher.completed,
        "roll": (
            None
            if watcher.roll_progress is None
            else {"replaced": watcher.roll_progress[0], "total": watcher.roll_progress[1]}
        ),
        "health": {str(pid): process_health(p) for pid, p in watcher.processes.items()},
    }


def watcher_options(watcher: WatcherView) -> dict[str, Any]:
    """Every option as `options` and `get` give it, as circusd does: `args` as one string,
    `working_dir` the directory the processes start in (the daemon's own when none is set),
    and Circus's names for options spelled otherwise here (daemon.wire.circus_options)."""
    cfg = watcher.config
    options = cfg.as_options()
    options["args"] = shlex.join(cfg.args)
    options["working_dir"] = substitute.working_dir(cfg, watcher.base_dir) or os.getcwd()
    options.update(circus_options(watcher))
    return options


def process_health(proc: ProcessView) -> dict[str, Any]:
    health = proc.health
    if health is None:
        return {"health": "starting", "status": None, "probe": None}
    probe = health.last_probe
    return {
        "health": health.state,
        "status": health.status,
        "probe": None
        if probe is None
        else {"ok": probe.ok, "detail": probe.detail, "time": probe.at},
    }


def statuses(watchers: Iterable[WatcherView]) -> dict[str, str]:
    return {w.name: w.state for w in watchers}


def globaloptions(daemon: Core) -> dict[str, Any]:
    path = daemon.config_path
    return {
        "endpoint": daemon.endpoint,
        "pubsub_endpoint": daemon.pubsub_endpoint,
        "stats_endpoint": daemon.stats_endpoint,
        "check_delay": 0,
        "multicast_endpoint": None,
        "state_dir": str(daemon.state_dir),
        "stats_interval": daemon.settings.stats_interval,
        "config": str(path) if path else None,
        "instance": daemon.instance,
        "pid": os.getpid(),
    }


def socket_info(sock: ManagedSocket) -> dict[str, Any]:
    """One entry of `listsockets`, as Circus spells it."""
    if sock.path is not None:
        return {"fd": sock.fd, "name": sock.name, "path": str(sock.path)}
    host, port = sock.bound()
    return {
        "fd": sock.fd,
        "name": sock.name,
        "backlog": sock.config.backlog,
        "host": host,
        "port": port,
    }
