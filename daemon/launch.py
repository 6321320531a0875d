"""Starting one process of a watcher: its argv, environment and working directory with
Circus's variables replaced, its sockets, and NOTIFY_SOCKET when it speaks the notify
protocol."""

from __future__ import annotations

from pathlib import Path

from daemon import child_setup, substitute
from daemon.options import WatcherConfig
from daemon.output import OutputLog
from daemon.process import Process


def speaks_notify(cfg: WatcherConfig) -> bool:
    return (cfg.ready is not None and cfg.ready.kind == "notify") or (
        cfg.alive is not None and cfg.alive.kind == "watchdog"
    )


def launch(
    cfg: WatcherConfig,
    *,
    wid: int,
    marker: str,
    socket_fds: dict[str, int],
    base_dir: Path | None,
    output: OutputLog,
    notify_socket: str | None,
) -> Process:
    """Raises OSError (the program cannot start, or the system is short of something) or
    ValueError/KeyError (a user or group that does not exist)."""
    env = substitute.process_env(cfg, wid, socket_fds)
    if notify_socket is not None and speaks_notify(cfg):
        env["NOTIFY_SOCKET"] = notify_socket
        if cfg.alive is not None and cfg.alive.kind == "watchdog":
            # As systemd tells a service its WatchdogSec (sd_watchdog_enabled reads it); a
            # program should send WATCHDOG=1 at least twice that often.
            env["WATCHDOG_USEC"] = str(round(cfg.alive.watchdog * 1_000_000))
    argv = substitute.process_argv(cfg, wid, socket_fds)
    listen_fds: tuple[int, ...] = ()
    setup_limits = child_setup.limits(cfg.rlimits) if cfg.rlimits else []
    if cfg.sockets_env == "systemd" and socket_fds:
        listen_fds = tuple(socket_fds.values())
        env["LISTEN_FDS"] = str(len(listen_fds))
        env["LISTEN_FDNAMES"] = ":".join(socket_fds)
        # LISTEN_PID must be the program's own pid, known only once it is forked: a shell
        # sets it and execs the program, which keeps the shell's pid.
        argv = ["/bin/sh", "-c", _SET_LISTEN_PID, "circus-tui", *argv]
    return Process.spawn(
        argv,
        wid=wid,
        marker=marker,
        env=env,
        cwd=substitute.working_dir(cfg, base_dir, wid, socket_fds),
        setup=child_setup.ChildSetup(
            child_setup.identity(cfg.uid, cfg.gid), setup_limits, listen_fds
        ),
        stdout=cfg.stdout,
        stderr=cfg.stderr,
        pass_fds=tuple(socket_fds.values()) if cfg.use_sockets else (),
        output=output,
        max_line=cfg.max_line_length,
        umask=cfg.umask,
        stdin_inherited=not cfg.close_child_stdin,
        executable=cfg.executable,
        stdin_fd=_stdin_socket(cfg, socket_fds),
    )


def _stdin_socket(cfg: WatcherConfig, socket_fds: dict[str, int]) -> int | None:
    if cfg.stdin_socket is None:
        return None
    # Matched without regard to case, as $(circus.sockets.NAME); a socket the file no longer
    # has (a reload) fails the spawn, which says so.
    for name, fd in socket_fds.items():
        if name.lower() == cfg.stdin_socket.lower():
            return fd
    raise ValueError(f"stdin_socket {cfg.stdin_socket!r}: no such socket")


_SET_LISTEN_PID = 'LISTEN_PID=$$; export LISTEN_PID; exec "$@"'
