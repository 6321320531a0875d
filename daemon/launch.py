"""Starting one process of a watcher: its argv, environment and working directory with
Circus's variables replaced, its sockets, and NOTIFY_SOCKET when it speaks the notify
protocol."""

from __future__ import annotations

from pathlib import Path

from daemon import substitute
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
    return Process.spawn(
        substitute.process_argv(cfg, wid, socket_fds),
        wid=wid,
        marker=marker,
        env=env,
        cwd=substitute.working_dir(cfg, base_dir),
        user=cfg.uid,
        group=cfg.gid,
        stdout=cfg.stdout,
        stderr=cfg.stderr,
        pass_fds=tuple(socket_fds.values()) if cfg.use_sockets else (),
        output=output,
        max_line=cfg.max_line_length,
    )
