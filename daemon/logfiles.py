"""Where each watcher's output is written: the paths its options name (relative to the
configuration file) or the state directory's logs/<name>.log, checked before anything
changes, and applied to its OutputLog."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from daemon import substitute, trusted
from daemon.logfile import open_log
from daemon.logformat import LogFormat
from daemon.options import WatcherConfig
from daemon.output import OutputLog


class LogPlaces:
    def __init__(self, base_dir: Path, state_dir: Path) -> None:
        self.base_dir = base_dir
        self.state_dir = state_dir

    def paths(self, cfg: WatcherConfig) -> tuple[Path, Path | None]:
        """Where a watcher's stdout and stderr are written (stderr None: with stdout)."""
        stdout = self._path(cfg, cfg.stdout_file) or self.state_dir / "logs" / f"{cfg.name}.log"
        return stdout, self._path(cfg, cfg.stderr_file)

    def check(self, cfg: WatcherConfig) -> None:
        """Open (making them if need be) a watcher's log files once, and say why one cannot be
        (UnsafeDirectoryError). A full disk is not a reason: lines are kept in memory
        meanwhile, and the file is written again when there is room."""
        for path in self.paths(cfg):
            if path is None:
                continue
            try:
                fds = open_log(path)
            except OSError as exc:
                if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                    continue
                raise trusted.UnsafeDirectoryError(
                    f"watcher {cfg.name}: output log {path}: {exc.strerror}"
                ) from None
            except trusted.UnsafeDirectoryError as exc:
                raise trusted.UnsafeDirectoryError(
                    f"watcher {cfg.name}: output log {path}: {exc}"
                ) from None
            for fd in fds:
                os.close(fd)

    def configure(self, output: OutputLog, cfg: WatcherConfig) -> None:
        output.configure(
            *self.paths(cfg),
            buffer_lines=cfg.output_buffer,
            buffer_bytes=cfg.output_buffer_bytes,
            max_bytes=cfg.max_bytes,
            backup_count=cfg.backup_count,
            log_format=LogFormat(cfg.log_format, cfg.log_time_format),
        )

    def _path(self, cfg: WatcherConfig, value: str | None) -> Path | None:
        if not value:
            return None
        # `$(circus.env.LOGDIR)/web.log`, as Circus's stdout_stream.filename allows.
        return substitute.watcher_path(cfg, value, self.base_dir.absolute())
