"""The commands that only read: get, options, globaloptions, list, listsockets,
numprocesses, numwatchers, status, stats, dstats."""

from __future__ import annotations

from typing import Any

from daemon.commands.props import _bool, _int, _require, _str, _watcher
from daemon.commands.registry import command
from daemon.protocol import MESSAGE_ERROR, ProtocolError
from daemon.wire.core import Core, WatcherView
from daemon.wire.stats import daemon_info, process_info
from daemon.wire.status import details, globaloptions, socket_info, statuses, watcher_options


@command("get")
async def cmd_get(core: Core, props: dict[str, Any]) -> dict[str, Any]:
    watcher = _watcher(core, props)
    keys = _require(props, "keys")
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise ProtocolError("'keys' property should be a list of names", MESSAGE_ERROR)
    options = watcher_options(watcher)
    out = {}
    for key in keys:
        stream, dot, inner = key.partition("_stream.")
        if dot and stream in ("stdout", "stderr"):
            # One key of the stream's Circus configuration (`stdout_stream.filename`).
            conf = options[f"{stream}_stream_conf"]
            if inner not in conf:
                raise ProtocolError(f"{key!r} option not found", MESSAGE_ERROR)
            out[key] = conf[inner]
        elif key not in options:
            raise ProtocolError(f"{key!r} option not found", MESSAGE_ERROR)
        else:
            out[key] = options[key]
    return {"options": out}


@command("options")
async def cmd_options(core: Core, props: dict[str, Any]) -> dict[str, Any]:
    return {"options": watcher_options(_watcher(core, props))}


@command("globaloptions")
async def cmd_globaloptions(core: Core, props: dict[str, Any]) -> dict[str, Any]:
    options = globaloptions(core)
    wanted = _str(props, "option")
    if wanted is not None:
        if wanted not in options:
            raise ProtocolError(f"{wanted!r} not an existing option", MESSAGE_ERROR)
        return {"options": {wanted: options[wanted]}}
    return {"options": options}


@command("list")
async def cmd_list(core: Core, props: dict[str, Any]) -> dict[str, Any]:
    if _str(props, "name") is not None:
        return {"pids": _watcher(core, props).pids()}
    return {"watchers": [w.name for w in core.sorted_watchers()]}


@command("listsockets")
async def cmd_listsockets(core: Core, props: dict[str, Any]) -> dict[str, Any]:
    return {"sockets": [socket_info(s) for s in core.listening()]}


@command("numprocesses")
async def cmd_numprocesses(core: Core, props: dict[str, Any]) -> dict[str, Any]:
    # As Circus: processes running now, not the target (`status` details give the target).
    if _str(props, "name") is not None:
        watcher = _watcher(core, props)
        return {"numprocesses": watcher.running(), "watcher_name": watcher.name}
    return {"numprocesses": sum(w.running() for w in core.all_watchers())}


@command("numwatchers")
async def cmd_numwatchers(core: Core, props: dict[str, Any]) -> dict[str, Any]:
    return {"numwatchers": len(core.all_watchers())}


@command("status")
async def cmd_status(core: Core, props: dict[str, Any]) -> dict[str, Any]:
    if _str(props, "name") is not None:
        watcher = _watcher(core, props)
        return {"status": watcher.state, "details": details(watcher)}
    watchers = core.sorted_watchers()
    return {"statuses": statuses(watchers), "details": {w.name: details(w) for w in watchers}}


async def _watcher_infos(
    core: Core, watcher: WatcherView, extended: bool = False
) -> dict[str, Any]:
    infos = {
        str(pid): process_info(pid, wid=p.wid, started=p.started, sample=core.last_sample(pid))
        for pid, p in sorted(watcher.processes.items())
    }
    if extended:
        # Circus's extended_stats hook adds to each process's figures.
        for pid, info in infos.items():
            if isinstance(info, dict):  # not for a process gone in the meantime
                await watcher.extended_stats(int(pid), info)
    return infos


@command("stats")
async def cmd_stats(core: Core, props: dict[str, Any]) -> dict[str, Any]:
    extended = _bool(props, "extended")
    if _str(props, "name") is None:
        return {
            "infos": {
                w.name: await _watcher_infos(core, w, extended) for w in core.sorted_watchers()
            }
        }
    watcher = _watcher(core, props)
    if props.get("process") is not None:
        pid = _int(props, "process")
        proc = watcher.processes.get(pid or 0)
        if proc is None:
            raise ProtocolError(f"process {pid!r} not found in {watcher.name!r}", MESSAGE_ERROR)
        info = process_info(
            proc.pid, wid=proc.wid, started=proc.started, sample=core.last_sample(proc.pid)
        )
        if extended:
            await watcher.extended_stats(proc.pid, info)
        return {"process": pid, "info": info}
    return {"name": watcher.name, "info": await _watcher_infos(core, watcher, extended)}


@command("dstats")
async def cmd_dstats(core: Core, props: dict[str, Any]) -> dict[str, Any]:
    return {"info": daemon_info()}
