"""Our extensions (Circus's tools never send them): tail, history, save."""

from __future__ import annotations

from typing import Any

from daemon.commands.props import _int, _str, _watcher
from daemon.commands.registry import command
from daemon.output import Line
from daemon.protocol import BAD_MSG_DATA_ERROR, ProtocolError
from daemon.wire.core import Core
from daemon.wire.output import line_body
from daemon.wire.stats import history_body


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
