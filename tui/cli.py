"""The `circus-tui` command: the console by default, `daemon`, `ctl` and `convert` otherwise.

The daemon's subcommands never import Textual, so a daemon starts fast and lean.
"""

from __future__ import annotations

import sys

from daemon import cli

USAGE = """usage: circus-tui [--endpoint E] [--config FILE]     open the console
       circus-tui daemon CONFIG.toml [--daemonize]      run the supervisor
       circus-tui ctl COMMAND [ARGS]                    control a running daemon
       circus-tui convert circus.ini                    print a Circus config as TOML
"""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-h", "--help"):
        print(USAGE, end="")
        return 0
    if args and args[0] == "daemon":
        return cli.run_daemon(args[1:])
    if args and args[0] == "ctl":
        return cli.run_ctl(args[1:])
    if args and args[0] == "convert":
        return cli.run_convert(args[1:])
    print(
        "circus-tui: the console is not built yet (issue 4); "
        "use `circus-tui ctl` to control a daemon.\n\n" + USAGE,
        end="",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main())
