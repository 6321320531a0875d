"""`circus-tui ctl`: every control command from the shell, human output by default,
`--json` for scripts, a non-zero exit status on any error.

Human output shows the daemon's and the programs' text (names, command lines, output, errors)
through `daemon.printable`, as the console does: a program's argv[0] must not retitle the
operator's terminal. `--json` prints the reply exactly; JSON escapes every control itself."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Callable
from typing import Any

from daemon.client import CallError, Client, connect
from daemon.command_table import COMMANDS, Param, UsageError
from daemon.ctl_output import line_text
from daemon.endpoints import EndpointError, check_client_endpoint
from daemon.paths import default_endpoints
from daemon.printable import printable
from daemon.targets import parse_target
from daemon.trusted import UnsafeDirectoryError
from daemon.tunnel import Reach, ssh_command


def _usage(message: str) -> None:
    """Exit as argparse does on a usage error: the message and status 2."""
    print(f"circus-tui ctl: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    # The global options are accepted before and after the command, as operators type them.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--endpoint",
        default=argparse.SUPPRESS,
        help="control endpoint, or ssh://[USER@]HOST[:PORT][/PATH] through OpenSSH (default: "
        "ipc://$XDG_RUNTIME_DIR/circus-tui/control.sock, else "
        "ipc:///tmp/circus-tui-$UID/control.sock)",
    )
    common.add_argument(
        "--ssh-command",
        default=argparse.SUPPRESS,
        help="for ssh:// endpoints: the ssh to run (default: $CIRCUS_TUI_SSH, else ssh)",
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
    for command in COMMANDS.values():
        sp = sub.add_parser(command.name, help=command.summary, parents=[common])
        for param in command.params:
            _add_param(sp, param)
    return p


def _add_param(sp: argparse.ArgumentParser, param: Param) -> None:
    if not param.flag.startswith("-"):
        nargs = argparse.REMAINDER if param.nargs == "..." else param.nargs
        kwargs: dict[str, Any] = {"help": param.help, "nargs": nargs}
        if param.type is not None:
            kwargs["type"] = param.type
        if param.default is not None:
            kwargs["default"] = param.default
        sp.add_argument(param.flag, **{k: v for k, v in kwargs.items() if v is not None})
        return
    flags = [param.short, param.flag] if param.short else [param.flag]
    if param.switch:
        sp.add_argument(*flags, action="store_true", help=param.help)
        return
    sp.add_argument(
        *flags,
        dest=param.dest,
        type=param.type,
        default=param.default,
        choices=param.choices,
        help=param.help,
    )


def human(command: str, reply: dict[str, Any]) -> str:
    """The reply as an operator wants to read it."""
    return COMMANDS[command].human(reply)


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
    endpoint = getattr(ns, "endpoint", None) or default_endpoints()["endpoint"]
    target = None
    try:
        if endpoint.startswith("ssh://") or "=ssh://" in endpoint:
            target = parse_target(endpoint)
        else:
            check_client_endpoint(endpoint)
    except EndpointError as exc:
        _usage(str(exc))
    except UnsafeDirectoryError as exc:
        print(f"circus-tui ctl: {exc}", file=sys.stderr)
        return 1
    try:
        props = COMMANDS[ns.command].properties(vars(ns))
    except UsageError as exc:
        _usage(str(exc))
    if target is None:
        return _run(ns, endpoint, props, _as_named)
    # Killed (a `tail -f` ended by its caller, the terminal closed), it still ends the ssh it
    # started: `finally` runs.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _exit_on_signal)
    reach = Reach(target, ssh_command(getattr(ns, "ssh_command", None)), ns.timeout * 3)
    try:
        endpoint = reach.control()
    except EndpointError as exc:
        print(f"circus-tui ctl: {printable(str(exc))}", file=sys.stderr)
        reach.close()
        return 1
    try:
        return _run(ns, endpoint, props, reach.local_for)
    finally:
        reach.close()


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _as_named(endpoint: str) -> str:
    """A daemon's endpoints as it names them: they are reachable from here as they are."""
    return endpoint


def _run(
    ns: argparse.Namespace, endpoint: str, props: dict[str, Any], local: Callable[[str], str]
) -> int:
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
                _follow(client, ns, reply.get("last_seq", 0), local)
    except CallError as exc:
        print(f"error: {printable(exc.reason)}", file=sys.stderr)
        return 1
    except (EndpointError, UnsafeDirectoryError) as exc:  # the daemon's pubsub endpoint
        print(f"circus-tui ctl: {printable(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


def _follow(client: Client, ns: argparse.Namespace, seq: int, local: Callable[[str], str]) -> None:
    """Print output batches as the daemon publishes them; refill any gap with `tail`."""
    import zmq

    from daemon import protocol

    pubsub = local(client.call("globaloptions")["options"]["pubsub_endpoint"])
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
            print(json.dumps(line) if ns.json else line_text(line), flush=True)

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
