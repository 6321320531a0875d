"""`circus-tui daemon` and `circus-tui convert`: the daemon's command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys

EXIT_CONFIG = 2


def run_daemon(argv: list[str]) -> int:
    from daemon.arbiter import Arbiter, StateDirBusy
    from daemon.config import ConfigError, load_config
    from daemon.endpoints import EndpointError
    from daemon.paths import UnsafeDirectoryError
    from daemon.sockets import SocketError

    p = argparse.ArgumentParser(prog="circus-tui daemon", description="Run the supervisor.")
    p.add_argument("config", help="the TOML configuration file")
    p.add_argument("--daemonize", action="store_true", help="detach from the terminal")
    p.add_argument("--pidfile", help="write the daemon's pid here")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    ns = p.parse_args(argv)
    logging.basicConfig(
        level=ns.log_level.upper(),
        format="%(asctime)s circus-tui[%(process)d] %(levelname)s %(message)s",
    )
    try:
        config = load_config(ns.config)
        arbiter = Arbiter(config, subreaper=True)
    except ConfigError as exc:
        print(f"circus-tui: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except EndpointError as exc:
        print(f"circus-tui: {ns.config}: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except OSError as exc:
        print(f"circus-tui: cannot read {ns.config}: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if ns.daemonize:
        _daemonize()
    try:
        arbiter.prepare()
    except (StateDirBusy, UnsafeDirectoryError, EndpointError, SocketError) as exc:
        print(f"circus-tui: {exc}", file=sys.stderr)
        return 1
    if ns.pidfile:
        with open(ns.pidfile, "w") as fh:
            fh.write(f"{os.getpid()}\n")
    try:
        asyncio.run(arbiter.run())
    finally:
        if ns.pidfile:
            with contextlib.suppress(OSError):
                os.unlink(ns.pidfile)
    return 0


def _daemonize() -> None:
    """Classic double fork: no controlling terminal, not a session leader."""
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


def run_convert(argv: list[str]) -> int:
    from daemon.convert import convert_ini

    p = argparse.ArgumentParser(
        prog="circus-tui convert", description="Print the TOML equivalent of a Circus .ini file."
    )
    p.add_argument("ini")
    ns = p.parse_args(argv)
    try:
        text, warnings = convert_ini(ns.ini)
    except OSError as exc:
        print(f"circus-tui: cannot read {ns.ini}: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except ValueError as exc:
        print(f"circus-tui: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    sys.stdout.write(text)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def run_ctl(argv: list[str]) -> int:
    from daemon.ctl import main

    return main(argv)
