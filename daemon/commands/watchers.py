"""The commands that change watchers and processes: add, rm, incr, decr, start, stop,
restart, reload, reloadconfig, quit, set, signal, kill."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from daemon import checks, procfs
from daemon.commands.props import (
    _bool,
    _int,
    _matching,
    _maybe_wait,
    _require,
    _seconds,
    _signal,
    _str,
    _watcher,
)
from daemon.commands.registry import command
from daemon.dependencies import dependency_order
from daemon.options import (
    OptionError,
    WatcherConfig,
    check_name,
    check_options,
    make_watcher_config,
    merge_dotted,
)
from daemon.protocol import BAD_MSG_DATA_ERROR, MESSAGE_ERROR, OS_ERROR, ProtocolError
from daemon.trusted import UnsafeDirectoryError
from daemon.wire.circus_options import from_circus
from daemon.wire.core import Core, WatcherView
from daemon.wire.events import reload_changes


@command("add")
async def cmd_add(core: Core, props: dict[str, Any]) -> None:
    name = _str(props, "name", required=True) or ""
    try:
        check_name(name)
    except ValueError as exc:
        raise ProtocolError(str(exc), MESSAGE_ERROR) from None
    options = props.get("options") or {}
    if not isinstance(options, dict):
        raise ProtocolError("'options' property should be an object", MESSAGE_ERROR)
    values = {k: v for k, v in options.items() if k != "name"}
    values["cmd"] = _str(props, "cmd", required=True)
    if props.get("args") is not None:
        values["args"] = props["args"]
    try:
        cfg = make_watcher_config(name, values)
    except OptionError as exc:
        raise ProtocolError(str(exc), MESSAGE_ERROR) from None
    _check_log_files(core, cfg)
    _check_dependencies(core, cfg)
    start = _bool(props, "start")
    await core.add_watcher(cfg, start=False)
    if start:
        await _maybe_wait(core, props, core.get(name).start())


def _check_dependencies(core: Core, cfg: WatcherConfig) -> None:
    """Its depends_on names watchers that exist, and closes no cycle."""
    others = [w.config for w in core.all_watchers() if w.name.lower() != cfg.name.lower()]
    try:
        dependency_order([*others, cfg])
    except checks.CheckError as exc:
        other = exc.key.partition(".")[2]
        raise ProtocolError(f"depends_on.{other}: {exc.message}", MESSAGE_ERROR) from None


def _check_log_files(core: Core, cfg: WatcherConfig) -> None:
    """Before anything changes: log files that cannot be written are an error reply, not a
    change that fails later with an ok already sent."""
    try:
        core.check_log_files(cfg)
    except UnsafeDirectoryError as exc:
        raise ProtocolError(str(exc), OS_ERROR) from None


@command("rm")
async def cmd_rm(core: Core, props: dict[str, Any]) -> None:
    watcher = _watcher(core, props)
    await _maybe_wait(core, props, core.remove_watcher(watcher.name, _bool(props, "nostop")))


async def _scale(core: Core, props: dict[str, Any], sign: int) -> dict[str, Any]:
    watcher = _watcher(core, props)
    nb = _int(props, "nb", 1, low=0) or 0
    if watcher.config.singleton:
        return {"numprocesses": watcher.numprocesses, "singleton": True}
    try:
        checks.scaled(watcher.numprocesses, sign * nb)
    except checks.CheckError as exc:
        raise ProtocolError(exc.message, BAD_MSG_DATA_ERROR) from None
    # The change is applied under the watcher's lock: two quick `incr` both count.
    work = watcher.scale(delta=sign * nb)
    if _bool(props, "waiting"):
        return {"numprocesses": await work}
    # As Circus: without waiting the reply carries no count (circusctl then prints "ok").
    core.spawn_task(work)
    return {}


@command("incr")
async def cmd_incr(core: Core, props: dict[str, Any]) -> dict[str, Any]:
    return await _scale(core, props, +1)


@command("decr")
async def cmd_decr(core: Core, props: dict[str, Any]) -> dict[str, Any]:
    return await _scale(core, props, -1)


async def _each(watchers: list[WatcherView], action: str, reverse: bool) -> None:
    by_priority: dict[int, list[WatcherView]] = {}
    for w in watchers:
        by_priority.setdefault(w.config.priority, []).append(w)
    for prio in sorted(by_priority, reverse=reverse):
        await asyncio.gather(*(getattr(w, action)() for w in by_priority[prio]))


async def _start_stop(core: Core, props: dict[str, Any], action: str) -> dict[str, Any]:
    """As Circus: for one named watcher, `waiting` replies with the pids started, stopped
    and kept; for several, with no `info`."""
    watchers = await _matching(core, props)
    # Checked before the work exists: a bad property leaves no coroutine unawaited.
    waiting = _bool(props, "waiting")
    work = _each(watchers, action, reverse=action != "stop")
    if not waiting:
        core.spawn_task(work)
        return {}
    single = watchers[0] if _str(props, "name") is not None and len(watchers) == 1 else None
    before = set(single.pids()) if single is not None else set()
    await work
    if single is None:
        return {}
    if action == "stop":
        return {"info": None}
    after = set(single.pids())
    info: dict[str, list[int]] = {"started": sorted(after - before), "kept": sorted(after & before)}
    if action == "restart":
        info["stopped"] = sorted(before - after)
    return {"info": info}


@command("start")
async def cmd_start(core: Core, props: dict[str, Any]) -> dict[str, Any]:
    return await _start_stop(core, props, "start")


@command("stop")
async def cmd_stop(core: Core, props: dict[str, Any]) -> dict[str, Any]:
    return await _start_stop(core, props, "stop")


@command("restart")
async def cmd_restart(core: Core, props: dict[str, Any]) -> dict[str, Any]:
    return await _start_stop(core, props, "restart")


@command("reload")
async def cmd_reload(core: Core, props: dict[str, Any]) -> dict[str, Any] | None:
    graceful = _bool(props, "graceful", True)
    sequential = _bool(props, "sequential")
    name = _str(props, "name")
    watchers = [core.get(name)] if name else core.all_watchers()
    before = set(watchers[0].pids()) if name else set()

    async def work() -> dict[str, Any] | None:
        if sequential:
            for w in watchers:
                await w.reload(graceful)
        else:
            await asyncio.gather(*(w.reload(graceful) for w in watchers))
        if not name:
            return None
        # As circusd answers a waited-for reload of one watcher.
        after = set(watchers[0].pids())
        return {
            "info": {
                "stopped": sorted(before - after),
                "started": sorted(after - before),
                "kept": sorted(before & after),
            }
        }

    return await _maybe_wait(core, props, work())


@command("reloadconfig")
async def cmd_reloadconfig(core: Core, props: dict[str, Any]) -> dict[str, Any]:
    if _bool(props, "waiting"):
        return {"changes": reload_changes(await core.reload_config())}
    core.spawn_task(core.reload_unattended())
    return {}


@command("quit")
async def cmd_quit(core: Core, props: dict[str, Any]) -> None:
    # The reply must leave before the sockets close, so quit a moment later.
    asyncio.get_running_loop().call_later(0.05, core.request_quit)


@command("set")
async def cmd_set(core: Core, props: dict[str, Any]) -> None:
    watcher = _watcher(core, props)
    options = _require(props, "options")
    if not isinstance(options, dict) or not options:
        raise ProtocolError("'options' property should be an object", MESSAGE_ERROR)
    try:
        changes = check_options(merge_dotted(watcher.config, from_circus(options)))
        new = watcher.config.with_options(changes)
    except OptionError as exc:
        raise ProtocolError(str(exc), MESSAGE_ERROR) from None
    if "depends_on" in changes:
        _check_dependencies(core, new)
    if {"stdout_file", "stderr_file"} & set(changes):
        _check_log_files(core, new)
    if "hooks" in changes:
        problem = await watcher.hooks_problem(new.hooks)
        if problem is not None:
            raise ProtocolError(problem, MESSAGE_ERROR)
    numprocesses = changes.pop("numprocesses", None)
    target = watcher.numprocesses if numprocesses is None else numprocesses
    try:
        # The running count when none is given: `set singleton true` on three processes.
        checks.singleton_count(new.singleton, target)
    except checks.CheckError as exc:
        raise ProtocolError(f"{exc.message}: set numprocesses to 1 too", MESSAGE_ERROR) from None

    async def work() -> None:
        # Fewer processes first: a singleton of three becomes one process, then a singleton.
        if numprocesses is not None and numprocesses < watcher.numprocesses:
            await watcher.scale(numprocesses)
        await watcher.reconfigure(new.with_options({"numprocesses": watcher.numprocesses}))
        if numprocesses is not None and numprocesses != watcher.numprocesses:
            await watcher.scale(numprocesses)

    await _maybe_wait(core, props, work())


@command("signal")
async def cmd_signal(core: Core, props: dict[str, Any]) -> None:
    watcher = _watcher(core, props)
    signum = _signal(_require(props, "signum"))
    pid = _int(props, "pid")
    childpid = _int(props, "childpid")
    if childpid is not None and pid is None:
        raise ProtocolError("cannot specify childpid without pid", MESSAGE_ERROR)
    children = _bool(props, "children")
    recursive = _bool(props, "recursive")
    pids = [pid] if pid is not None else watcher.pids()
    for target in pids:
        proc = watcher.processes.get(target)
        if proc is None:
            raise ProtocolError(f"process {target} not found in {watcher.name!r}", MESSAGE_ERROR)
        try:
            if childpid is not None:
                if childpid not in procfs.descendants([proc.pid]):
                    raise ProtocolError(f"child {childpid} not found", MESSAGE_ERROR)
                os.kill(childpid, signum)
            else:
                proc.send_signal(signum, children=children, recursive=recursive)
        except ProcessLookupError:
            continue


@command("kill")
async def cmd_kill(core: Core, props: dict[str, Any]) -> None:
    watcher = _watcher(core, props)
    pid = _int(props, "pid")
    signum = _signal(props["signum"]) if props.get("signum") is not None else None
    # The bounds of the graceful_timeout option: asyncio never times out after NaN or 1e308.
    timeout = _seconds(props, "graceful_timeout", 86400)
    pids = [pid] if pid is not None else watcher.pids()
    for target in pids:
        if target not in watcher.processes:
            raise ProtocolError(f"process {target} not found in {watcher.name!r}", MESSAGE_ERROR)

    async def work() -> None:
        await asyncio.gather(*(watcher.kill_process(p, signum, timeout) for p in pids))

    await _maybe_wait(core, props, work())
