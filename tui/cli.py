"""The `circus-tui` command: the console by default, `daemon`, `ctl` and `convert` otherwise.

Only what a subcommand needs is imported: the daemon never loads Textual, and `--version` or
`--help` load neither Textual nor ZeroMQ.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path
from typing import Any

# name, arguments, what it does: the subcommands as `circus-tui --help` lists them.
SUBCOMMANDS = (
    ("daemon", "CONFIG.toml", "run the supervisor, in the foreground (--daemonize detaches)"),
    ("ctl", "COMMAND ...", "control a running daemon (ctl --help lists every command)"),
    ("convert", "circus.ini", "print a Circus configuration as TOML, warnings on stderr"),
    ("endpoints", "", "print this user's default endpoints as JSON (what ssh:// targets ask)"),
)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in {name for name, _, _ in SUBCOMMANDS}:
        from daemon import cli

        run = {
            "daemon": cli.run_daemon,
            "ctl": cli.run_ctl,
            "convert": cli.run_convert,
            "endpoints": cli.run_endpoints,
        }
        return run[args[0]](args[1:])
    return run_console(args)


class _Version(argparse.Action):
    """--version, reading the package metadata only when asked: that costs more than the rest
    of the command line together."""

    def __call__(self, parser: argparse.ArgumentParser, *_args: Any, **_kwargs: Any) -> None:
        from daemon.version import version

        print(f"circus-tui {version()}")
        parser.exit()


def _parser() -> argparse.ArgumentParser:
    width = max(len(f"{name} {args}") for name, args, _ in SUBCOMMANDS)
    commands = "\n".join(
        f"  {f'{name} {args}':<{width}}  {what}" for name, args, what in SUBCOMMANDS
    )
    parser = argparse.ArgumentParser(
        prog="circus-tui",
        usage="circus-tui [-h] [-V] [--endpoint E] [--ssh-command CMD] [--config FILE] "
        "[--readonly] [--keys FILE]\n"
        f"       circus-tui {{{','.join(name for name, _, _ in SUBCOMMANDS)}}} ...",
        description=textwrap.fill(
            "The console of a circus-tui (or Circus 0.19) daemon: every watcher with its "
            "processes, CPU, memory and output; keys to start, stop, restart and scale. "
            "Quitting it leaves the daemon and its programs running.",
            width=78,
        ),
        epilog=f"commands:\n{commands}\n\nEach command has its own --help.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "-V", "--version", action=_Version, nargs=0, help="show the version and exit"
    )
    parser.add_argument(
        "--endpoint",
        metavar="E",
        help="the daemon's control endpoint, ipc://PATH or tcp://HOST:PORT, or "
        "ssh://[USER@]HOST[:PORT][/PATH] through OpenSSH (default: "
        "ipc://$XDG_RUNTIME_DIR/circus-tui/control.sock, else "
        "ipc:///tmp/circus-tui-$UID/control.sock)",
    )
    parser.add_argument(
        "--ssh-command",
        metavar="CMD",
        help="for ssh:// endpoints: the ssh to run (default: $CIRCUS_TUI_SSH, else ssh)",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="a TOML file: its daemon's endpoint, and start that daemon first when none answers",
    )
    parser.add_argument("--readonly", action="store_true", help="hide every action that changes")
    parser.add_argument(
        "--keys",
        metavar="FILE",
        help="a keymap, a [keys] table of action-id = key (default: "
        "$XDG_CONFIG_HOME/circus-tui/keys.toml, else ~/.config/circus-tui/keys.toml, if it "
        "exists; docs/keybindings.md lists the ids)",
    )
    return parser


def run_console(argv: list[str]) -> int:
    ns = _parser().parse_args(argv)
    import subprocess

    from daemon.cli import EXIT_CONFIG
    from daemon.endpoints import EndpointError, check_client_endpoint
    from daemon.paths import UnsafeDirectoryError, default_endpoints

    # A keymap it cannot use stops it before anything starts, a daemon included.
    from tui.keymap import NO_KEYMAP, KeymapError, default_path, load

    keys_file = Path(ns.keys) if ns.keys else default_path()
    try:
        keymap = load(keys_file) if ns.keys or keys_file.exists() else NO_KEYMAP
    except KeymapError as exc:
        print(f"circus-tui: {exc}", file=sys.stderr)
        return EXIT_CONFIG

    endpoint = ns.endpoint
    if ns.config:
        endpoint = endpoint or _config_endpoint(Path(ns.config))
    endpoint = endpoint or default_endpoints()["endpoint"]
    reach = None
    try:
        if endpoint.startswith("ssh://") or "=ssh://" in endpoint:
            from daemon.targets import parse_target
            from daemon.tunnel import Reach, ssh_command

            reach = Reach(parse_target(endpoint), ssh_command(ns.ssh_command))
        else:
            check_client_endpoint(endpoint)
    except EndpointError as exc:
        print(f"circus-tui: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except UnsafeDirectoryError as exc:
        print(f"circus-tui: {exc}", file=sys.stderr)
        return 1
    if reach is not None:
        # The first tunnel before the screen: a host that refuses is said here, plainly.
        try:
            reach.control()
            return _run_app(endpoint, ns, keymap, reach)
        except EndpointError as exc:
            print(f"circus-tui: {exc}", file=sys.stderr)
            return 1
        finally:
            reach.close()
    if ns.config and not _answers(endpoint):
        print(f"circus-tui: no daemon at {endpoint}; starting one for {ns.config}", file=sys.stderr)
        started = subprocess.run(
            [sys.executable, "-m", "tui.cli", "daemon", ns.config, "--daemonize"],
            check=False,
        )
        if started.returncode != 0:
            return started.returncode
    return _run_app(endpoint, ns, keymap)


def _run_app(endpoint: str, ns: argparse.Namespace, keymap: Any, reach: Any = None) -> int:
    from tui.app import CircusApp

    app = CircusApp(
        endpoint,
        readonly=ns.readonly,
        keys=keymap.keys,
        table_keys=keymap.table_keys,
        reach=reach,
    )
    app.run()
    # Textual has shown why it failed, if it did; the status says that it did.
    return app.return_code or 0


def _config_endpoint(path: Path) -> str | None:
    """The endpoint a config file names, read without the daemon's config module: the
    console only needs this one key."""
    import tomllib

    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SystemExit(f"circus-tui: {path}: {exc}") from None
    value = data.get("circus", {}).get("endpoint")
    return value if isinstance(value, str) else None


def _answers(endpoint: str) -> bool:
    from daemon.client import CallError, Client

    try:
        with Client(endpoint, timeout=1.0) as client:
            client.call("numwatchers")
    except CallError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
