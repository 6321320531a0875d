"""Events as Circus's subscribers read them: the topic word each kind of event goes out under,
and the body's keys (`process_pid`, as circus-top and circusctl's `listen` expect)."""

from __future__ import annotations

import dataclasses
from typing import Any

from daemon import events

# Circus's own words where Circus has the event; ours (backoff, failed, log_*) beside them.
TOPICS: dict[type[events.Event], str] = {
    events.Added: "add",
    events.Removed: "remove",
    events.Started: "start",
    events.Stopped: "stop",
    events.Updated: "updated",
    events.Reloaded: "reload",
    events.Spawned: "spawn",
    events.Stopping: "kill",
    events.Reaped: "reap",
    events.Ready: "ready",
    events.Unready: "unready",
    events.ProbeFailed: "probe_failed",
    events.Waiting: "waiting",
    events.Rolling: "roll",
    events.StatusText: "status",
    events.LimitExceeded: "limit",
    events.HookSucceeded: "hook_success",
    events.HookFailed: "hook_failure",
    events.BackingOff: "backoff",
    events.Failed: "failed",
    events.Completed: "completed",
    events.LogError: "log_error",
    events.LogResumed: "log_resumed",
}

_WIRE_NAMES = {"pid": "process_pid"}


def event_body(event: events.Event) -> tuple[str, dict[str, Any]]:
    """The topic word and the body (without its `time`, which the sender stamps)."""
    body = {
        _WIRE_NAMES.get(f.name, f.name): getattr(event, f.name)
        for f in dataclasses.fields(event)
        if f.name != "watcher"
    }
    return TOPICS[type(event)], body


def reload_changes(changes: events.ReloadChanges) -> dict[str, list[str]]:
    return dataclasses.asdict(changes)
