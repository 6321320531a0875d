"""The `circus-tui` command: the console by default, `daemon`, `ctl` and `convert` otherwise.

The daemon's subcommands never import Textual, so a daemon starts fast and lean.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tomllib
from pathlib import Path

from daemon import cli
from daemon.client import CallError, Client
from daemon.paths import default_endpoints

USAGE = """usage: circus-tui [--endpoint E] [--config FILE]     open the console
       circus-tui daemon CONFIG.toml [--daemonize]      run the supervisor
       circus-tui ctl COMMAND [ARGS]                    control a running daemon
       circus-tui convert circus.ini                    print a Circus config as TOML
"""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "daemon":
        return cli.run_daemon(args[1:])
    if args and args[0] == "ctl":
        return cli.run_ctl(args[1:])
    if args and args[0] == "convert":
        return cli.run_convert(args[1:])
    return run_console(args)


def run_console(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="circus-tui",
        description="The console of a circus-tui (or Circus 0.19) daemon.",
        epilog=USAGE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--endpoint", help="the daemon's control endpoint")
    parser.add_argument(
        "--config", help="a TOML file: start a daemon for it first when none answers"
    )
    parser.add_argument("--readonly", action="store_true", help="hide every action that changes")
    ns = parser.parse_args(argv)
    endpoint = ns.endpoint
    if ns.config:
        endpoint = endpoint or _config_endpoint(Path(ns.config))
    endpoint = endpoint or default_endpoints()["endpoint"]
    if ns.config and not _answers(endpoint):
        print(f"circus-tui: no daemon at {endpoint}; starting one for {ns.config}", file=sys.stderr)
        started = subprocess.run(
            [sys.executable, "-m", "tui.cli", "daemon", ns.config, "--daemonize"],
            check=False,
        )
        if started.returncode != 0:
            return started.returncode
    from tui.app import CircusApp

    CircusApp(endpoint, readonly=ns.readonly).run()
    return 0


def _config_endpoint(path: Path) -> str | None:
    """The endpoint a config file names, read without the daemon's config module: the
    console only needs this one key."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SystemExit(f"circus-tui: {path}: {exc}") from None
    value = data.get("circus", {}).get("endpoint")
    return value if isinstance(value, str) else None


def _answers(endpoint: str) -> bool:
    try:
        with Client(endpoint, timeout=1.0) as client:
            client.call("numwatchers")
    except CallError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
