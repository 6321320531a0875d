"""One handler per control command, with Circus 0.19's property names, reply keys and errno
values. A handler returns the reply's extra keys, or raises ProtocolError."""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from daemon import procfs, protocol
from daemon.matching import PatternError, glob_matcher, regex_matcher
from daemon.options import (
    OptionError,
    WatcherConfig,
    check_name,
    check_options,
    make_watcher_config,
    parse_signal,
)
from daemon.protocol import (
    BAD_MSG_DATA_ERROR,
    COMMAND_ERROR,
    MESSAGE_ERROR,
    OS_ERROR,
    ProtocolError,
)
from daemon.stats import daemon_info, process_info
from daemon.trusted import UnsafeDirectoryError

if TYPE_CHECKING:
    from daemon.arbiter import Arbiter
    from daemon.output import Line
    from daemon.watcher import Watcher

_INTEGER = re.compile(r"-?0*([0-9]+)", re.ASCII)
MAX_INTEGER = 1_000_000_000

# Seconds of name matching after which other commands get their turn.
MATCH_SLICE = 0.01

Handler = Callable[["Arbiter", dict[str, Any]], Awaitable[dict[str, Any] | list[Any] | None]]
COMMANDS: dict[str, Handler] = {}


def command(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        COMMANDS[name] = fn
        return fn

    return register


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


def _watcher(arbiter: Arbiter, props: dict[str, Any]) -> Watcher:
    return arbiter.get(_str(props, "name", required=True) or "")


def _signal(value: Any) -> int:
    try:
        return parse_signal(value)
    except ValueError:
        raise ProtocolError("signal invalid", MESSAGE_ERROR) from None


async def _maybe_wait(arbiter: Arbiter, props: dict[str, Any], work: Awaitable[Any]) -> Any:
    """`waiting`: false replies at once and lets the work carry on."""
    if _bool(props, "waiting"):
        return await work
    arbiter.spawn_task(work)
    return None


async def _matching(arbiter: Arbiter, props: dict[str, Any]) -> list[Watcher]:
    name = _str(props, "name")
    if name is None:
        return list(arbiter.watchers.values())
    match = _str(props, "match") or "glob"
    if match == "simple":
        return [arbiter.get(name)]
    if match not in ("glob", "regex"):
        raise ProtocolError(f"unknown match method {match}", MESSAGE_ERROR)
    try:
        matches = glob_matcher(name) if match == "glob" else regex_matcher(name)
    except PatternError as exc:
        raise ProtocolError(f"bad {match}: {exc}", MESSAGE_ERROR) from None
    found = []
    slice_started = time.monotonic()
    for watcher in list(arbiter.watchers.values()):
        if matches(watcher.name):
            found.append(watcher)
        if time.monotonic() - slice_started > MATCH_SLICE:
            # A regex costs up to some milliseconds per name: a long list of watchers must not
            # hold up every other command meanwhile.
            await asyncio.sleep(0)
            slice_started = time.monotonic()
    found = [w for w in found if arbiter.watchers.get(w.name.lower()) is w]
    if not found:
        raise ProtocolError(f"program {name} not found", MESSAGE_ERROR)
    return found


# -- watchers and processes -------------------------------------------------------------


@command("add")
async def cmd_add(arbiter: Arbiter, props: dict[str, Any]) -> None:
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
    _check_log_files(arbiter, cfg)
    start = _bool(props, "start")
    await arbiter.add_watcher(cfg, start=False)
    if start:
        await _maybe_wait(arbiter, props, arbiter.get(name).start())


def _check_log_files(arbiter: Arbiter, cfg: WatcherConfig) -> None:
    """Before anything changes: log files that cannot be written are an error reply, not a
    change that fails later with an ok already sent."""
    try:
        arbiter.check_log_files(cfg)
    except UnsafeDirectoryError as exc:
        raise ProtocolError(str(exc), OS_ERROR) from None


@command("rm")
async def cmd_rm(arbiter: Arbiter, props: dict[str, Any]) -> None:
    watcher = _watcher(arbiter, props)
    await _maybe_wait(arbiter, props, arbiter.remove_watcher(watcher.name, _bool(props, "nostop")))


async def _scale(arbiter: Arbiter, props: dict[str, Any], sign: int) -> dict[str, Any]:
    watcher = _watcher(arbiter, props)
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
    arbiter.spawn_task(work)
    return {}


@command("incr")
async def cmd_incr(arbiter: Arbiter, props: dict[str, Any]) -> dict[str, Any]:
    return await _scale(arbiter, props, +1)


@command("decr")
async def cmd_decr(arbiter: Arbiter, props: dict[str, Any]) -> dict[str, Any]:
    return await _scale(arbiter, props, -1)


async def _each(watchers: list[Watcher], action: str, reverse: bool) -> None:
    by_priority: dict[int, list[Watcher]] = {}
    for w in watchers:
        by_priority.setdefault(w.config.priority, []).append(w)
    for prio in sorted(by_priority, reverse=reverse):
        await asyncio.gather(*(getattr(w, action)() for w in by_priority[prio]))


async def _start_stop(arbiter: Arbiter, props: dict[str, Any], action: str) -> dict[str, Any]:
    """As Circus: for one named watcher, `waiting` replies with the pids started, stopped
    and kept; for several, with no `info`."""
    watchers = await _matching(arbiter, props)
    work = _each(watchers, action, reverse=action != "stop")
    if not _bool(props, "waiting"):
        arbiter.spawn_task(work)
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
async def cmd_start(arbiter: Arbiter, props: dict[str, Any]) -> dict[str, Any]:
    return await _start_stop(arbiter, props, "start")


@command("stop")
async def cmd_stop(arbiter: Arbiter, props: dict[str, Any]) -> dict[str, Any]:
    return await _start_stop(arbiter, props, "stop")


@command("restart")
async def cmd_restart(arbiter: Arbiter, props: dict[str, Any]) -> dict[str, Any]:
    return await _start_stop(arbiter, props, "restart")


@command("reload")
async def cmd_reload(arbiter: Arbiter, props: dict[str, Any]) -> None:
    graceful = _bool(props, "graceful", True)
    sequential = _bool(props, "sequential")
    name = _str(props, "name")
    watchers = [arbiter.get(name)] if name else list(arbiter.watchers.values())

    async def work() -> None:
        if sequential:
            for w in watchers:
                await w.reload(graceful)
        else:
            await asyncio.gather(*(w.reload(graceful) for w in watchers))

    await _maybe_wait(arbiter, props, work())


@command("reloadconfig")
async def cmd_reloadconfig(arbiter: Arbiter, props: dict[str, Any]) -> dict[str, Any]:
    if _bool(props, "waiting"):
        return {"changes": await arbiter.reload_config()}
    arbiter.spawn_task(arbiter.reload_unattended())
    return {}


@command("quit")
async def cmd_quit(arbiter: Arbiter, props: dict[str, Any]) -> None:
    # The reply must leave before the sockets close, so quit a moment later.
    asyncio.get_running_loop().call_later(0.05, arbiter.request_quit)


@command("set")
async def cmd_set(arbiter: Arbiter, props: dict[str, Any]) -> None:
    watcher = _watcher(arbiter, props)
    options = _require(props, "options")
    if not isinstance(options, dict) or not options:
        raise ProtocolError("'options' property should be an object", MESSAGE_ERROR)
    try:
        changes = check_options(options)
        new = watcher.config.with_options(changes)
    except OptionError as exc:
        raise ProtocolError(str(exc), MESSAGE_ERROR) from None
    if {"stdout_file", "stderr_file"} & set(changes):
        _check_log_files(arbiter, new)
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

    await _maybe_wait(arbiter, props, work())


@command("get")
async def cmd_get(arbiter: Arbiter, props: dict[str, Any]) -> dict[str, Any]:
    watcher = _watcher(arbiter, props)
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
async def cmd_options(arbiter: Arbiter, props: dict[str, Any]) -> dict[str, Any]:
    return {"options": _watcher(arbiter, props).config.as_options()}


@command("globaloptions")
async def cmd_globaloptions(arbiter: Arbiter, props: dict[str, Any]) -> dict[str, Any]:
    options = arbiter.globaloptions()
    wanted = _str(props, "option")
    if wanted is not None:
        if wanted not in options:
            raise ProtocolError(f"{wanted!r} not an existing option", MESSAGE_ERROR)
        return {"options": {wanted: options[wanted]}}
    return {"options": options}


@command("list")
async def cmd_list(arbiter: Arbiter, props: dict[str, Any]) -> dict[str, Any]:
    if _str(props, "name") is not None:
        return {"pids": _watcher(arbiter, props).pids()}
    return {"watchers": [w.name for w in arbiter.sorted_watchers()]}


@command("listsockets")
async def cmd_listsockets(arbiter: Arbiter, props: dict[str, Any]) -> dict[str, Any]:
    return {"sockets": [s.info() for s in arbiter.sockets.values()]}


@command("numprocesses")
async def cmd_numprocesses(arbiter: Arbiter, props: dict[str, Any]) -> dict[str, Any]:
    # As Circus: processes running now, not the target (`status` details give the target).
    if _str(props, "name") is not None:
        watcher = _watcher(arbiter, props)
        return {"numprocesses": watcher.running(), "watcher_name": watcher.name}
    return {"numprocesses": sum(w.running() for w in arbiter.watchers.values())}


@command("numwatchers")
async def cmd_numwatchers(arbiter: Arbiter, props: dict[str, Any]) -> dict[str, Any]:
    return {"numwatchers": len(arbiter.watchers)}


@command("status")
async def cmd_status(arbiter: Arbiter, props: dict[str, Any]) -> dict[str, Any]:
    if _str(props, "name") is not None:
        watcher = _watcher(arbiter, props)
        return {"status": watcher.state, "details": watcher.details()}
    return {
        "statuses": arbiter.statuses(),
        "details": {w.name: w.details() for w in arbiter.sorted_watchers()},
    }


def _watcher_infos(arbiter: Arbiter, watcher: Watcher) -> dict[str, Any]:
    procs = arbiter.last_stats.get("procs", {})
    return {
        str(pid): process_info(pid, wid=p.wid, started=p.started, sample=procs.get(pid))
        for pid, p in sorted(watcher.processes.items())
    }


@command("stats")
async def cmd_stats(arbiter: Arbiter, props: dict[str, Any]) -> dict[str, Any]:
    if _str(props, "name") is None:
        return {"infos": {w.name: _watcher_infos(arbiter, w) for w in arbiter.sorted_watchers()}}
    watcher = _watcher(arbiter, props)
    if props.get("process") is not None:
        pid = _int(props, "process")
        proc = watcher.processes.get(pid or 0)
        if proc is None:
            raise ProtocolError(f"process {pid!r} not found in {watcher.name!r}", MESSAGE_ERROR)
        procs = arbiter.last_stats.get("procs", {})
        return {
            "process": pid,
            "info": process_info(
                proc.pid, wid=proc.wid, started=proc.started, sample=procs.get(proc.pid)
            ),
        }
    return {"name": watcher.name, "info": _watcher_infos(arbiter, watcher)}


@command("dstats")
async def cmd_dstats(arbiter: Arbiter, props: dict[str, Any]) -> dict[str, Any]:
    return {"info": daemon_info()}


@command("signal")
async def cmd_signal(arbiter: Arbiter, props: dict[str, Any]) -> None:
    watcher = _watcher(arbiter, props)
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
async def cmd_kill(arbiter: Arbiter, props: dict[str, Any]) -> None:
    watcher = _watcher(arbiter, props)
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

    await _maybe_wait(arbiter, props, work())


# -- extensions (ours; Circus tools never send them) ------------------------------------


@command("tail")
async def cmd_tail(arbiter: Arbiter, props: dict[str, Any]) -> dict[str, Any]:
    watcher = _watcher(arbiter, props)
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
        "lines": [ln.as_json() for ln in kept],
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
async def cmd_history(arbiter: Arbiter, props: dict[str, Any]) -> dict[str, Any]:
    name = _str(props, "name")
    if name is not None and name.lower() != "circus":
        name = arbiter.get(name).name
    since = props.get("since")
    if since is not None and (isinstance(since, bool) or not isinstance(since, int | float)):
        raise ProtocolError("property 'since' must be a time", BAD_MSG_DATA_ERROR)
    return {"history": arbiter.sampler.history(name, _int(props, "pid"), since)}


@command("save")
async def cmd_save(arbiter: Arbiter, props: dict[str, Any]) -> dict[str, Any]:
    from daemon.config import ConfigError, save_config

    if arbiter.config.path is None:
        raise ProtocolError("the daemon was not started from a file", COMMAND_ERROR)
    running = {w.name: w.config for w in arbiter.watchers.values()}
    try:
        await asyncio.to_thread(save_config, arbiter.config.path, running)
    except ConfigError as exc:
        raise ProtocolError(f"not saved: {exc}", COMMAND_ERROR) from None
    except OSError as exc:
        raise ProtocolError(f"not saved: {exc}", protocol.OS_ERROR) from None
    return {"path": str(arbiter.config.path)}
