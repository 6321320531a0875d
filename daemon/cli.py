"""`circus-tui daemon` and `circus-tui convert`: the daemon's command line."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from pathlib import Path

from daemon import signals
from daemon.printable import printable

EXIT_CONFIG = 2
# convert --check: the file converts, but something would run differently.
EXIT_CHANGES = 1


def run_daemon(argv: list[str]) -> int:
    import asyncio

    from daemon.arbiter import Arbiter
    from daemon.config import ConfigError, load_config
    from daemon.endpoints import EndpointError
    from daemon.notify import Notifier
    from daemon.paths import UnsafeDirectoryError
    from daemon.server import Server
    from daemon.sockets import SocketError
    from daemon.statedir import StateDirBusy
    from daemon.trusted import FILES, open_dir, open_file, write_atomic

    p = argparse.ArgumentParser(prog="circus-tui daemon", description="Run the supervisor.")
    p.add_argument("config", help="the TOML configuration file")
    p.add_argument("--daemonize", action="store_true", help="detach from the terminal")
    p.add_argument("--pidfile", help="write the daemon's pid here")
    p.add_argument(
        "--log-level", choices=("debug", "info", "warning", "error"), help="[circus] loglevel"
    )
    ns = p.parse_args(argv)
    # First: whatever started us, the programs we start must get signals as they expect.
    signals.reset_inherited()
    logging.basicConfig(
        level=(ns.log_level or "info").upper(),
        format="%(asctime)s circus-tui[%(process)d] %(levelname)s %(message)s",
    )
    try:
        config = load_config(ns.config)
        # Read (and taken out of the environment programs inherit) before anything starts.
        arbiter = Arbiter(config, subreaper=True, notifier=Notifier())
        arbiter.outlet = Server(arbiter)
    except ConfigError as exc:
        print(f"circus-tui: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except EndpointError as exc:
        print(f"circus-tui: {ns.config}: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except OSError as exc:
        print(f"circus-tui: cannot read {ns.config}: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    settings = config.settings
    if ns.log_level is None and settings.loglevel is not None:
        logging.getLogger().setLevel(settings.loglevel.upper())
    pidfile = _pidfile(ns.pidfile, settings.pidfile, config.path)
    pid_dir = -1
    if pidfile is not None:
        # Checked before anything starts; held, so that the file is written and removed
        # in the directory checked.
        try:
            pid_dir = open_dir(pidfile.parent, FILES)
        except (OSError, UnsafeDirectoryError) as exc:
            print(f"circus-tui: pidfile {pidfile}: {exc}", file=sys.stderr)
            return 1
    report = _daemonize() if ns.daemonize else None
    try:
        arbiter.prepare()
    except (StateDirBusy, UnsafeDirectoryError, EndpointError, SocketError) as exc:
        if report is not None:
            # The foreground parent prints it and exits non-zero: a detached daemon that
            # failed must not look like a success.
            os.write(report, f"circus-tui: {exc}\n".encode())
            os._exit(1)
        print(f"circus-tui: {exc}", file=sys.stderr)
        return 1
    if pidfile is not None:
        # Written aside, then renamed: whoever reads the pidfile never sees half of it.
        write_atomic(pid_dir, pidfile.name, f"{os.getpid()}\n".encode(), 0o644)
    if report is not None:
        # The pidfile exists before the waiting parent hears "ok" and exits.
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        _log_to(open_file(arbiter.state_fd, "daemon.log", flags, 0o600))
        os.write(report, b"ok")
        os.close(report)
    try:
        asyncio.run(arbiter.run())
    finally:
        if pidfile is not None:
            with contextlib.suppress(OSError):
                os.unlink(pidfile.name, dir_fd=pid_dir)
    return 0


def _pidfile(given: str | None, configured: str | None, config: Path | None) -> Path | None:
    """--pidfile (relative to the working directory), else [circus] pidfile (relative to the
    configuration file's directory, `~` expanded)."""
    if given:
        return Path(given).absolute()
    if not configured:
        return None
    path = Path(os.path.expanduser(configured))
    if not path.is_absolute() and config is not None:
        path = config.parent.resolve() / path
    return path.absolute()


def _log_to(fd: int) -> None:
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def _daemonize() -> int:
    """Double fork, detached from the terminal. The original process waits until the
    daemon says it is ready (or why it is not) and exits with the matching status.
    Returns the write end of that report pipe, in the daemon."""
    read_end, write_end = os.pipe()
    if os.fork() > 0:
        os.close(write_end)
        chunks = []
        while chunk := os.read(read_end, 4096):
            chunks.append(chunk)
        message = b"".join(chunks)
        if message == b"ok":
            os._exit(0)
        sys.stderr.write(message.decode(errors="replace") or "circus-tui: daemon died\n")
        os._exit(1)
    os.close(read_end)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.close(devnull)
    return write_end


def run_convert(argv: list[str]) -> int:
    from daemon.convert import convert_report

    p = argparse.ArgumentParser(
        prog="circus-tui convert",
        description="Print the TOML equivalent of a Circus .ini file; on stderr, a warning for "
        "each thing that would run differently and a note for what needs no equivalent.",
    )
    p.add_argument("ini")
    p.add_argument(
        "--check",
        action="store_true",
        help="print nothing on stdout; exit 1 when something would run differently",
    )
    ns = p.parse_args(argv)
    try:
        report = convert_report(ns.ini)
    except OSError as exc:
        print(f"circus-tui: cannot read {ns.ini}: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except ValueError as exc:
        print(f"circus-tui: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if not ns.check:
        sys.stdout.write(report.text)
    for warning in report.warnings:
        print(f"warning: {printable(warning)}", file=sys.stderr)
    for note in report.notes:
        print(f"note: {printable(note)}", file=sys.stderr)
    if ns.check:
        count = len(report.warnings)
        verdict = f"{count} thing{'s' if count != 1 else ''} would run differently"
        print(
            f"{ns.ini}: {verdict if count else 'converts with the same meaning'}", file=sys.stderr
        )
        return EXIT_CHANGES if count else 0
    return 0


def run_endpoints(argv: list[str]) -> int:
    """The endpoints a daemon of this user listens on by default: what a client reaching this
    host through ssh:// asks, rather than guess the remote user's runtime directory."""
    import json

    from daemon.paths import default_endpoints

    argparse.ArgumentParser(
        prog="circus-tui endpoints", description=run_endpoints.__doc__
    ).parse_args(argv)
    print(json.dumps(default_endpoints()))
    return 0


def run_ctl(argv: list[str]) -> int:
    from daemon.ctl import main

    return main(argv)
