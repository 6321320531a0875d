"""`circus-tui ctl`: every control command from the shell, human output by default,
`--json` for scripts, a non-zero exit status on any error.

Human output shows the daemon's and the programs' text (names, command lines, output, errors)
through `daemon.printable`, as the console does: a program's argv[0] must not retitle the
operator's terminal. `--json` prints the reply exactly; JSON escapes every control itself."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections.abc import Callable
from typing import Any

from daemon.client import CallError, Client, connect
from daemon.endpoints import EndpointError, check_client_endpoint
from daemon.paths import default_endpoints
from daemon.printable import printable
from daemon.trusted import UnsafeDirectoryError

Builder = Callable[[argparse.Namespace], dict[str, Any]]


def _usage(message: str) -> None:
    """Exit as argparse does on a usage error: the message and status 2."""
    print(f"circus-tui ctl: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _name_opt(ns: argparse.Namespace) -> dict[str, Any]:
    return {"name": ns.name} if ns.name else {}


def _waiting(ns: argparse.Namespace) -> dict[str, Any]:
    return {"waiting": True} if getattr(ns, "waiting", False) else {}


def _signal_props(ns: argparse.Namespace) -> dict[str, Any]:
    props: dict[str, Any] = {"name": ns.name, "signum": ns.signum}
    if ns.pid is not None:
        props["pid"] = ns.pid
    if ns.children:
        props["children"] = True
    if ns.recursive:
        props["recursive"] = True
    return props


def _set_props(ns: argparse.Namespace) -> dict[str, Any]:
    if len(ns.pairs) % 2:
        _usage("set: give KEY VALUE pairs")
    options = dict(zip(ns.pairs[::2], ns.pairs[1::2], strict=True))
    return {"name": ns.name, "options": options, **_waiting(ns)}


def _add_props(ns: argparse.Namespace) -> dict[str, Any]:
    if not ns.cmd:
        _usage("add: give NAME CMD [ARGS...]")
    props: dict[str, Any] = {"name": ns.name, "cmd": shlex.join(ns.cmd), "start": ns.start}
    return {**props, **_waiting(ns)}


def _parser() -> argparse.ArgumentParser:
    # The global options are accepted before and after the command, as operators type them.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--endpoint",
        default=argparse.SUPPRESS,
        help="control endpoint (default: ipc://$XDG_RUNTIME_DIR/circus-tui/control.sock, "
        "else ipc:///tmp/circus-tui-$UID/control.sock)",
    )
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print the raw reply"
    )
    common.add_argument(
        "--timeout", type=float, default=argparse.SUPPRESS, help="seconds to wait (default 5)"
    )
    p = argparse.ArgumentParser(
        prog="circus-tui ctl", description="Control a running daemon.", parents=[common]
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def cmd(name: str, help_: str, build: Builder) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, parents=[common])
        sp.set_defaults(build=build)
        return sp

    def waiting(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--waiting", action="store_true", help="reply only when done")

    cmd("list", "watchers, or the pids of one", _name_opt).add_argument("name", nargs="?")
    cmd("status", "state of every watcher, or of one", _name_opt).add_argument("name", nargs="?")
    for verb in ("start", "stop", "restart"):
        sp = cmd(
            verb, f"{verb} one watcher (glob) or all", lambda ns: {**_name_opt(ns), **_waiting(ns)}
        )
        sp.add_argument("name", nargs="?")
        waiting(sp)
    for verb in ("incr", "decr"):
        sp = cmd(
            verb,
            f"{verb}ease the number of processes",
            lambda ns: {"name": ns.name, "nb": ns.nb, **_waiting(ns)},
        )
        sp.add_argument("name")
        sp.add_argument("nb", nargs="?", type=int, default=1)
        waiting(sp)
    cmd("numprocesses", "processes running now", _name_opt).add_argument("name", nargs="?")
    cmd("numwatchers", "number of watchers", lambda ns: {})
    sp = cmd(
        "stats",
        "cpu and memory per process",
        lambda ns: {**_name_opt(ns), **({"process": ns.pid} if ns.pid else {})},
    )
    sp.add_argument("name", nargs="?")
    sp.add_argument("pid", nargs="?", type=int)
    cmd("dstats", "the daemon's own stats", lambda ns: {})
    cmd("options", "every option of a watcher", lambda ns: {"name": ns.name}).add_argument("name")
    sp = cmd("get", "some options of a watcher", lambda ns: {"name": ns.name, "keys": ns.keys})
    sp.add_argument("name")
    sp.add_argument("keys", nargs="+")
    sp = cmd("set", "change options: set NAME KEY VALUE [KEY VALUE ...]", _set_props)
    sp.add_argument("name")
    sp.add_argument("pairs", nargs="+")
    waiting(sp)
    cmd(
        "globaloptions",
        "the daemon's options",
        lambda ns: {"option": ns.option} if ns.option else {},
    ).add_argument("option", nargs="?")
    sp = cmd("signal", "send a signal: signal NAME [PID] SIGNAL", _signal_props)
    sp.add_argument("name")
    sp.add_argument("rest", nargs="+")
    sp.add_argument("--children", action="store_true")
    sp.add_argument("--recursive", action="store_true")
    sp = cmd(
        "kill",
        "stop processes with a signal",
        lambda ns: {
            "name": ns.name,
            **({"pid": ns.pid} if ns.pid else {}),
            **({"signum": ns.signum} if ns.signum else {}),
            **_waiting(ns),
        },
    )
    sp.add_argument("name")
    sp.add_argument("pid", nargs="?", type=int)
    sp.add_argument("--signum")
    waiting(sp)
    sp = cmd("add", "add a watcher: add [--start] NAME CMD [ARGS...]", _add_props)
    sp.add_argument("--start", action="store_true")
    waiting(sp)
    sp.add_argument("name")
    # Everything after the name is the command line, options such as `-m` included.
    sp.add_argument("cmd", nargs=argparse.REMAINDER)
    sp = cmd(
        "rm", "remove a watcher", lambda ns: {"name": ns.name, "nostop": ns.nostop, **_waiting(ns)}
    )
    sp.add_argument("name")
    sp.add_argument("--nostop", action="store_true")
    waiting(sp)
    sp = cmd(
        "reload",
        "restart processes gracefully",
        lambda ns: {
            **_name_opt(ns),
            "graceful": not ns.terminate,
            "sequential": ns.sequential,
            **_waiting(ns),
        },
    )
    sp.add_argument("name", nargs="?")
    sp.add_argument("--terminate", action="store_true")
    sp.add_argument("--sequential", action="store_true")
    waiting(sp)
    cmd("reloadconfig", "re-read the configuration file", lambda ns: {"waiting": True})
    cmd("quit", "stop every program and the daemon", lambda ns: {**_waiting(ns)})
    cmd("listsockets", "sockets the daemon owns", lambda ns: {})
    sp = cmd(
        "tail",
        "program output: tail NAME [-n N] [-f]",
        lambda ns: {
            "name": ns.name,
            "count": ns.n,
            **({"pid": ns.pid} if ns.pid else {}),
            **({"stream": ns.stream} if ns.stream else {}),
        },
    )
    sp.add_argument("name")
    sp.add_argument("-n", type=int, default=20, help="lines of backlog (default 20)")
    sp.add_argument("-f", "--follow", action="store_true", help="keep printing new output")
    sp.add_argument("--pid", type=int)
    sp.add_argument("--stream", choices=("stdout", "stderr"))
    sp = cmd("history", "stats history", lambda ns: _name_opt(ns))
    sp.add_argument("name", nargs="?")
    cmd("save", "write the running state back to the TOML file", lambda ns: {})
    return p


def _fix_signal_args(ns: argparse.Namespace) -> None:
    if ns.command != "signal":
        return
    if len(ns.rest) == 1:
        ns.pid, ns.signum = None, ns.rest[0]
    elif len(ns.rest) == 2:
        ns.pid, ns.signum = int(ns.rest[0]), ns.rest[1]
    else:
        _usage("signal: give NAME [PID] SIGNAL")


def human(command: str, reply: dict[str, Any]) -> str:
    """The reply as an operator wants to read it."""
    if command == "list":
        if "pids" in reply:
            return ",".join(str(p) for p in reply["pids"])
        return ",".join(reply.get("watchers", []))
    if command == "status":
        if "statuses" in reply:
            details = reply.get("details", {})
            return "\n".join(
                f"{name}: {state}{_detail(details.get(name))}"
                for name, state in reply["statuses"].items()
            )
        return f"{reply['status']}{_detail(reply.get('details'))}"
    if command in ("incr", "decr", "numprocesses"):
        if reply.get("singleton"):
            return "This watcher is a Singleton - not changing the number of processes"
        return str(reply.get("numprocesses", "ok"))
    if command == "numwatchers":
        return str(reply["numwatchers"])
    if command in ("options", "get", "globaloptions"):
        return "\n".join(f"{k}: {v}" for k, v in sorted(reply.get("options", {}).items()))
    if command == "stats":
        return _stats_text(reply)
    if command == "dstats":
        return _info_line(reply.get("info", {}))
    if command == "listsockets":
        return "\n".join(_socket_text(s) for s in reply.get("sockets", []))
    if command == "tail":
        return "\n".join(_line_text(ln) for ln in reply.get("lines", []))
    if command == "history":
        hist = reply.get("history", {})
        rows = [
            f"{name}: {len(h.get('t', []))} points" for name, h in hist.get("watchers", {}).items()
        ]
        return "\n".join(rows)
    if command == "save":
        return f"saved to {reply.get('path')}"
    if command == "reloadconfig" and "changes" in reply:
        ch = reply["changes"]
        return "; ".join(f"{k}: {', '.join(v) or '-'}" for k, v in ch.items())
    return "ok"


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


def _stats_text(reply: dict[str, Any]) -> str:
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


def _line_text(line: dict[str, Any]) -> str:
    stamp = time.strftime("%H:%M:%S", time.localtime(line.get("time", 0)))
    text = printable(str(line.get("data", "")))
    return f"{stamp} {line.get('pid')} {printable(str(line.get('stream', '')))[3:]} {text}"


def _printable_reply(value: Any) -> Any:
    """`value` with every string in it, keys too, made printable: `human` shows only these."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {_printable_reply(k): _printable_reply(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_printable_reply(v) for v in value]
    return value


def main(argv: list[str]) -> int:
    ns = _parser().parse_args(argv)
    ns.json = getattr(ns, "json", False)
    ns.timeout = getattr(ns, "timeout", 5.0)
    _fix_signal_args(ns)
    endpoint = getattr(ns, "endpoint", None) or default_endpoints()["endpoint"]
    try:
        check_client_endpoint(endpoint)
    except EndpointError as exc:
        _usage(str(exc))
    except UnsafeDirectoryError as exc:
        print(f"circus-tui ctl: {exc}", file=sys.stderr)
        return 1
    props = ns.build(ns)
    try:
        with Client(endpoint, timeout=ns.timeout) as client:
            reply = client.call(ns.command, **props)
            if ns.json:
                print(json.dumps(reply, indent=2, sort_keys=True))
            else:
                text = human(ns.command, _printable_reply(reply))
                if text:
                    print(text)
            if ns.command == "tail" and ns.follow:
                _follow(client, ns, reply.get("last_seq", 0))
    except CallError as exc:
        print(f"error: {printable(exc.reason)}", file=sys.stderr)
        return 1
    except (EndpointError, UnsafeDirectoryError) as exc:  # the daemon's pubsub endpoint
        print(f"circus-tui ctl: {printable(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


def _follow(client: Client, ns: argparse.Namespace, seq: int) -> None:
    """Print output batches as the daemon publishes them; refill any gap with `tail`."""
    import zmq

    from daemon import protocol

    pubsub = client.call("globaloptions")["options"]["pubsub_endpoint"]
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, protocol.output_topic(ns.name))
    connect(sub, pubsub)

    def show(lines: list[dict[str, Any]]) -> None:
        for line in lines:
            if (ns.pid and line.get("pid") != ns.pid) or (
                ns.stream and line["stream"] != ns.stream
            ):
                continue
            print(json.dumps(line) if ns.json else _line_text(line), flush=True)

    # Lines written between the backlog and the subscription are fetched once connected.
    reply = client.call("tail", name=ns.name, since=seq)
    show(reply.get("lines", []))
    seq = reply.get("last_seq", seq)
    try:
        while True:
            _topic, raw = sub.recv_multipart()
            batch = json.loads(raw)
            if batch["last"] <= seq:
                continue
            if batch["first"] > seq + 1:
                reply = client.call("tail", name=ns.name, since=seq)
                show([ln for ln in reply.get("lines", []) if ln["seq"] < batch["first"]])
            show([ln for ln in batch["lines"] if ln["seq"] > seq])
            seq = batch["last"]
    finally:
        ctx.destroy(linger=0)
