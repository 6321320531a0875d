"""One handler per control command, with Circus 0.19's property names, reply keys and errno
values. A handler checks the properties, calls the core (daemon.wire.core.Core) and shapes the
reply: it returns the reply's extra keys, or raises ProtocolError. `run` dispatches, and gives
the core's refusals (daemon.errors) Circus's errno."""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from daemon import procfs
from daemon.errors import Refused, SystemRefused, UnknownWatcher
from daemon.matching import PatternError, glob_matcher, regex_matcher
from daemon.options import (
    OptionError,
    WatcherConfig,
    check_name,
    check_options,
    make_watcher_config,
    parse_signal,
)
from daemon.output import Line
from daemon.protocol import (
    BAD_MSG_DATA_ERROR,
    COMMAND_ERROR,
    MESSAGE_ERROR,
    OS_ERROR,
    UNKNOWN_COMMAND,
    ProtocolError,
)
from daemon.trusted import UnsafeDirectoryError
from daemon.wire.core import Core, WatcherView
from daemon.wire.output import line_body
from daemon.wire.stats import daemon_info, history_body, process_info
from daemon.wire.status import details, globaloptions, socket_info, statuses

_INTEGER = re.compile(r"-?0*([0-9]+)", re.ASCII)
MAX_INTEGER = 1_000_000_000

# Seconds of name matching after which other commands get their turn.
MATCH_SLICE = 0.01

Handler = Callable[[Core, dict[str, Any]], Awaitable[dict[str, Any] | list[Any] | None]]
COMMANDS: dict[str, Handler] = {}


def command(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        COMMANDS[name] = fn
        return fn

    return register


async def run(core: Core, name: str, props: dict[str, Any]) -> dict[str, Any] | list[Any] | None:
    """The reply's extra keys for command `name`, or ProtocolError with Circus's errno."""
    handler = COMMANDS.get(name.lower())
    if handler is None:
        raise ProtocolError(f'unknown command: "{name}"', UNKNOWN_COMMAND)
    try:
        return await handler(core, props)
    except UnknownWatcher as exc:
        raise ProtocolError(exc.reason, MESSAGE_ERROR) from None
    except SystemRefused as exc:
        raise ProtocolError(exc.reason, OS_ERROR) from None
    except Refused as exc:
        raise ProtocolError(exc.reason, COMMAND_ERROR) from None


# -- property checks -------------------------------------------------------------------


def _require(props: dict[str, Any], key: str) -> Any:
    if key not in props or props[key] is None:
        raise ProtocolError(f"message invalid: missing property {key!r}", MESSAGE_ERROR)
    return props[key]


def _str(props: dict[str, Any], key: str, required: bool = False) -> str | None:
    value = _require(props, key) if required else props.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ProtocolError(f"property {key!r} must be a string", BAD_MSG_DATA_ERROR)
    return value


def _bool(props: dict[str, Any], key: str, default: bool = False) -> bool:
    value = props.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ProtocolError(f"property {key!r} must be true or false", BAD_MSG_DATA_ERROR)


def _int(
    props: dict[str, Any], key: str, default: int | None = None, low: int | None = None
) -> int | None:
    value = props.get(key, default)
    if value is None:
        return default
    if isinstance(value, str):
        # ASCII digits only: int() also takes "٣" and "1_0", and raises on "²" (a digit to
        # str.isdigit) or past 4300 digits.
        text = _INTEGER.fullmatch(value.strip())
        if text is None:
            raise ProtocolError(f"property {key!r} must be an integer", BAD_MSG_DATA_ERROR)
        sign = -1 if text[0][0] == "-" else 1
        value = sign * int(text[1]) if len(text[1]) <= 10 else sign * (MAX_INTEGER + 1)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError(f"property {key!r} must be an integer", BAD_MSG_DATA_ERROR)
    if low is not None and value < low:
        raise ProtocolError(f"property {key!r} must be at least {low}", BAD_MSG_DATA_ERROR)
    if abs(value) > MAX_INTEGER:
        raise ProtocolError(f"property {key!r} is too large", BAD_MSG_DATA_ERROR)
    return value


def _seconds(props: dict[str, Any], key: str, high: float) -> float | None:
    """A number of seconds from 0 to `high`; NaN, infinities and strings are bad data."""
    value = props.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= high:
        raise ProtocolError(
            f"property {key!r} must be a number from 0 to {high:g}", BAD_MSG_DATA_ERROR
        )
    return float(value)


def _watcher(core: Core, props: dict[str, Any]) -> WatcherView:
    return core.get(_str(props, "name", required=True) or "")


def _signal(value: Any) -> int:
    try:
        return parse_signal(value)
    except ValueError:
        raise ProtocolError("signal invalid", MESSAGE_ERROR) from None


async def _maybe_wait(core: Core, props: dict[str, Any], work: Coroutine[Any, Any, Any]) -> Any:
    """`waiting`: false replies at once and lets the work carry on."""
    if _bool(props, "waiting"):
        return await work
    core.spawn_task(work)
    return None


async def _matching(core: Core, props: dict[str, Any]) -> list[WatcherView]:
    name = _str(props, "name")
    if name is None:
        return core.all_watchers()
    match = _str(props, "match") or "glob"
    if match == "simple":
        return [core.get(name)]
    if match not in ("glob", "regex"):
        raise ProtocolError(f"unknown match method {match}", MESSAGE_ERROR)
    try:
        matches = glob_matcher(name) if match == "glob" else regex_matcher(name)
    except PatternError as exc:
        raise ProtocolError(f"bad {match}: {exc}", MESSAGE_ERROR) from None
    found = []
    slice_started = time.monotonic()
    for watcher in core.all_watchers():
        if matches(watcher.name):
            found.append(watcher)
        if time.monotonic() - slice_started > MATCH_SLICE:
            # A regex costs up to some milliseconds per name: a long list of watchers must not
            # hold up every other command meanwhile.
            await asyncio.sleep(0)
            slice_started = time.monotonic()
    found = [w for w in found if core.find(w.name) is w]
    if not found:
        raise ProtocolError(f"program {name} not found", MESSAGE_ERROR)
    return found


# -- watchers and processes -------------------------------------------------------------


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
    start = _bool(props, "start")
    await core.add_watcher(cfg, start=False)
    if start:
        await _maybe_wait(core, props, core.get(name).start())


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
    if watcher.numprocesses + sign * nb > 100_000:
        raise ProtocolError("numprocesses would exceed 100000", BAD_MSG_DATA_ERROR)
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
async def cmd_reload(core: Core, props: dict[str, Any]) -> None:
    graceful = _bool(props, "graceful", True)
    sequential = _bool(props, "sequential")
    name = _str(props, "name")
    watchers = [core.get(name)] if name else core.all_watchers()

    async def work() -> None:
        if sequential:
            for w in watchers:
                await w.reload(graceful)
        else:
            await asyncio.gather(*(w.reload(graceful) for w in watchers))

    await _maybe_wait(core, props, work())


@command("reloadconfig")
async def cmd_reloadconfig(core: Core, props: dict[str, Any]) -> dict[str, Any]:
    if _bool(props, "waiting"):
        return {"changes": await core.reload_config()}
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
        changes = check_options(options)
        new = watcher.config.with_options(changes)
    except OptionError as exc:
        raise ProtocolError(str(exc), MESSAGE_ERROR) from None
    if {"stdout_file", "stderr_file"} & set(changes):
        _check_log_files(core, new)
    numprocesses = changes.pop("numprocesses", None)
    if new.singleton and max(numprocesses or 0, watcher.numprocesses) > 1:
        raise ProtocolError(
            "a singleton watcher runs at most one process: set numprocesses to 1 too",
            MESSAGE_ERROR,
        )

    async def work() -> None:
        await watcher.reconfigure(new.with_options({"numprocesses": watcher.numprocesses}))
        if numprocesses is not None:
            await watcher.scale(numprocesses)

    await _maybe_wait(core, props, work())


@command("get")
async def cmd_get(core: Core, props: dict[str, Any]) -> dict[str, Any]:
    watcher = _watcher(core, props)
    keys = _require(props, "keys")
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise ProtocolError("'keys' property should be a list of names", MESSAGE_ERROR)
    options = watcher.config.as_options()
    out = {}
    for key in keys:
        if key not in options:
            raise ProtocolError(f"{key!r} option not found", MESSAGE_ERROR)
        out[key] = options[key]
    return {"options": out}


@command("options")
async def cmd_options(core: Core, props: dict[str, Any]) -> dict[str, Any]:
    return {"options": _watcher(core, props).config.as_options()}


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


def _watcher_infos(core: Core, watcher: WatcherView) -> dict[str, Any]:
    return {
        str(pid): process_info(pid, wid=p.wid, started=p.started, sample=core.last_sample(pid))
        for pid, p in sorted(watcher.processes.items())
    }


@command("stats")
async def cmd_stats(core: Core, props: dict[str, Any]) -> dict[str, Any]:
    if _str(props, "name") is None:
        return {"infos": {w.name: _watcher_infos(core, w) for w in core.sorted_watchers()}}
    watcher = _watcher(core, props)
    if props.get("process") is not None:
        pid = _int(props, "process")
        proc = watcher.processes.get(pid or 0)
        if proc is None:
            raise ProtocolError(f"process {pid!r} not found in {watcher.name!r}", MESSAGE_ERROR)
        return {
            "process": pid,
            "info": process_info(
                proc.pid, wid=proc.wid, started=proc.started, sample=core.last_sample(proc.pid)
            ),
        }
    return {"name": watcher.name, "info": _watcher_infos(core, watcher)}


@command("dstats")
async def cmd_dstats(core: Core, props: dict[str, Any]) -> dict[str, Any]:
    return {"info": daemon_info()}


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


# -- extensions (ours; Circus tools never send them) ------------------------------------


@command("tail")
async def cmd_tail(core: Core, props: dict[str, Any]) -> dict[str, Any]:
    watcher = _watcher(core, props)
    count = _int(props, "count", None, low=0)
    since = _int(props, "since", None, low=0)
    pid = _int(props, "pid")
    stream = _str(props, "stream")
    if stream not in (None, "stdout", "stderr"):
        raise ProtocolError("property 'stream' must be stdout or stderr", BAD_MSG_DATA_ERROR)
    lines = watcher.output.tail(None, since, pid)
    if stream is not None:
        lines = [ln for ln in lines if ln.stream == stream]
    if count is not None:
        lines = lines[-count:] if count else []
    kept = _newest_within(lines, TAIL_REPLY_BYTES)
    return {
        "lines": [line_body(ln) for ln in kept],
        "last_seq": watcher.output.seq,
        "truncated": len(kept) < len(lines),
    }


# Below the controller's 32 MiB limit on a reply, with room for an estimate that errs.
TAIL_REPLY_BYTES = 30 * 1024 * 1024
# JSON around one line's data: {"seq":…,"time":…,"pid":…,"stream":"stdout","data":…}.
LINE_JSON_BYTES = 100


def _newest_within(lines: list[Line], budget: int) -> list[Line]:
    """The newest lines whose JSON fits in `budget` bytes. ASCII costs its length; anything
    else up to six times it (`\\ufffd` for an invalid byte, `\\u00e9` for a 2-byte é)."""
    total = 0
    for n in range(len(lines) - 1, -1, -1):
        data = lines[n].data
        total += (len(data) if data.isascii() else 6 * len(data)) + LINE_JSON_BYTES
        if total > budget:
            return lines[n + 1 :]
    return lines


@command("history")
async def cmd_history(core: Core, props: dict[str, Any]) -> dict[str, Any]:
    name = _str(props, "name")
    if name is not None and name.lower() != "circus":
        name = core.get(name).name
    since = props.get("since")
    if since is not None and (isinstance(since, bool) or not isinstance(since, int | float)):
        raise ProtocolError("property 'since' must be a time", BAD_MSG_DATA_ERROR)
    return {"history": history_body(core.history(name, _int(props, "pid"), since))}


@command("save")
async def cmd_save(core: Core, props: dict[str, Any]) -> dict[str, Any]:
    return {"path": str(await core.save_config())}
