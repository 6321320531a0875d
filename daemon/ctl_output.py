"""How `ctl` shows a reply to an operator: one function per kind of reply, named in the
command table. The reply's strings are already printable (`ctl` makes them so first)."""

from __future__ import annotations

import time
from typing import Any

from daemon.printable import printable

Reply = dict[str, Any]


def ok(reply: Reply) -> str:
    return "ok"


def listing(reply: Reply) -> str:
    if "pids" in reply:
        return ",".join(str(p) for p in reply["pids"])
    return ",".join(reply.get("watchers", []))


def status(reply: Reply) -> str:
    if "statuses" in reply:
        details = reply.get("details", {})
        return "\n".join(
            f"{name}: {state}{_detail(details.get(name))}"
            for name, state in reply["statuses"].items()
        )
    return f"{reply['status']}{_detail(reply.get('details'))}"


def count(reply: Reply) -> str:
    if reply.get("singleton"):
        return "This watcher is a Singleton - not changing the number of processes"
    return str(reply.get("numprocesses", "ok"))


def count_watchers(reply: Reply) -> str:
    return str(reply["numwatchers"])


def options(reply: Reply) -> str:
    return "\n".join(f"{k}: {v}" for k, v in sorted(reply.get("options", {}).items()))


def stats(reply: Reply) -> str:
    if "infos" in reply:
        out = []
        for name, infos in reply["infos"].items():
            out.append(f"{name}:")
            out += [f"  {pid}: {_info_line(i)}" for pid, i in infos.items()]
        return "\n".join(out)
    if "name" in reply:
        return "\n".join(
            [f"{reply['name']}:"]
            + [f"  {pid}: {_info_line(i)}" for pid, i in reply["info"].items()]
        )
    return f"{reply.get('process')}: {_info_line(reply.get('info'))}"


def daemon_stats(reply: Reply) -> str:
    return _info_line(reply.get("info", {}))


def sockets(reply: Reply) -> str:
    return "\n".join(_socket_text(s) for s in reply.get("sockets", []))


def lines(reply: Reply) -> str:
    return "\n".join(line_text(ln) for ln in reply.get("lines", []))


def history(reply: Reply) -> str:
    hist = reply.get("history", {})
    return "\n".join(
        f"{name}: {len(h.get('t', []))} points" for name, h in hist.get("watchers", {}).items()
    )


def saved(reply: Reply) -> str:
    return f"saved to {reply.get('path')}"


def changes(reply: Reply) -> str:
    if "changes" not in reply:
        return "ok"
    return "; ".join(f"{k}: {', '.join(v) or '-'}" for k, v in reply["changes"].items())


def line_text(line: dict[str, Any]) -> str:
    """One output line as `tail` prints it; its text made printable here (`tail -f` prints
    lines straight from the stream)."""
    stamp = time.strftime("%H:%M:%S", time.localtime(line.get("time", 0)))
    text = printable(str(line.get("data", "")))
    return f"{stamp} {line.get('pid')} {printable(str(line.get('stream', '')))[3:]} {text}"


def _socket_text(sock: dict[str, Any]) -> str:
    where = sock.get("path") or f"{sock.get('host')}:{sock.get('port')}"
    return f"{sock.get('fd')}:{sock.get('name')} - {where}"


def _detail(details: dict[str, Any] | None) -> str:
    if not details:
        return ""
    parts = [f"{details.get('running', 0)}/{details.get('numprocesses', 0)} running"]
    if details.get("retry_at"):
        wait = max(0.0, details["retry_at"] - time.time())
        parts.append(f"next attempt in {wait:.1f} s")
    if details.get("reason"):
        parts.append(str(details["reason"]))
    elif details.get("last_exit"):
        parts.append(f"last exit: {details['last_exit']}")
    return " (" + "; ".join(parts) + ")"


def _info_line(info: Any) -> str:
    if not isinstance(info, dict):
        return str(info)
    return (
        f"{info.get('cmdline', '')} pid {info.get('pid')} cpu {info.get('cpu')}% "
        f"mem {info.get('mem')}% rss {info.get('mem_info1')} age {float(info.get('age', 0)):.0f}s"
    )
