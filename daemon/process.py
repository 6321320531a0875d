"""One supervised child: spawned in its own session, its exit noticed the moment it happens
(a pidfd readable in the event loop), stopped together with its whole tree."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

from daemon import exits, fdlimit, procfs, tree
from daemon.child_setup import ChildSetup
from daemon.health import Health
from daemon.output import OutputLog, PipeReader

SCAN_REUSE = 0.1

_STREAM_MODES = {"pipe": subprocess.PIPE, "inherit": None, "discard": subprocess.DEVNULL}


@dataclass(frozen=True)
class ExitStatus:
    code: int | None  # exit code when it exited
    signal: int | None  # signal number when it was killed

    @property
    def circus_code(self) -> int:
        """Circus's `exit_code`: the code, or minus the signal number."""
        return -self.signal if self.signal is not None else (self.code or 0)

    def describe(self) -> str:
        return exits.describe(self.code, self.signal)

    @classmethod
    def from_wait_status(cls, status: int) -> ExitStatus:
        if os.WIFSIGNALED(status):
            return cls(None, os.WTERMSIG(status))
        return cls(os.waitstatus_to_exitcode(status), None)


async def end_processes(
    find: Callable[[], set[int]], sig: int, graceful_timeout: float
) -> set[int]:
    """`sig` to what `find` returns, up to `graceful_timeout` for it to go, then SIGKILL for
    what is left and for anything `find` sees by then (forked meanwhile). What was found."""
    found = members = find()
    if not members:
        return found
    tree.signal_all(members, sig)
    deadline = time.monotonic() + graceful_timeout
    while members and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
        members = {p for p in members if procfs.running(p)}
    late = find()
    tree.signal_all(members | late, signal.SIGKILL)
    return found | late


class Process:
    """A running child. Create it with `Process.spawn`, which raises OSError when the program
    cannot be started at all (no such file, permission denied), or when the system is short
    of what a spawn needs (EMFILE and the like: worth a retry)."""

    def __init__(self, popen: subprocess.Popen[bytes], wid: int, marker: str, pidfd: int) -> None:
        self.popen = popen
        self.pid = popen.pid
        self.wid = wid
        self.marker = marker
        self.started = time.time()
        self.started_mono = time.monotonic()
        self.stopping = False
        # Done once the signal hooks of its stop have run (daemon.watcher_hooks).
        self.signal_hooks: asyncio.Future[None] | None = None
        self.expired = False  # stopped for max_age: to be replaced, not counted as a failure
        # Set when its probes gave up on it: "start_timeout" or "unready" (daemon.health);
        # `replaced_for` too when that makes the watcher replace it (not in a rolling reload,
        # which stops it and aborts).
        self.cause: str | None = None
        self.replaced_for: str | None = None
        self.health: Health | None = None
        self.status: ExitStatus | None = None
        self.readers: list[PipeReader] = []
        loop = asyncio.get_running_loop()
        self.exited: asyncio.Future[ExitStatus] = loop.create_future()
        tree.supervised.add(self.pid)
        self._pidfd = pidfd
        loop.add_reader(self._pidfd, self.check_exit)
        # The child may have exited before the reader was armed.
        self.check_exit()

    @classmethod
    def spawn(
        cls,
        argv: list[str],
        *,
        wid: int,
        marker: str,
        env: dict[str, str],
        cwd: str | None = None,
        setup: ChildSetup | None = None,
        stdout: str = "pipe",
        stderr: str = "pipe",
        pass_fds: tuple[int, ...] = (),
        output: OutputLog | None = None,
        max_line: int = 65536,
        umask: int | None = None,
        stdin_inherited: bool = False,
        executable: str | None = None,
        stdin_fd: int | None = None,
    ) -> Process:
        """`setup`: the user, groups, resource limits, and descriptors the child gets as
        3, 4, … (systemd's socket activation) instead of `pass_fds` at their own numbers.
        `stdin_fd`: what the child gets as its stdin (a socket: Circus's stdin_socket)."""
        setup = setup or ChildSetup()
        listen_fds = setup.listen_fds
        # Refused here rather than by the kernel when the descriptors left are promised to
        # client connections being admitted; the watcher retries either way.
        fdlimit.budget.check_spawn()
        env = {**env, tree.MARKER: marker}
        # Our own pipes rather than subprocess.PIPE: the read ends go to the readers as they
        # are, with nothing to duplicate (a dup can meet EMFILE too).
        pipes: dict[str, tuple[int, int]] = {}
        try:
            for stream, mode in (("stdout", stdout), ("stderr", stderr)):
                if mode == "pipe":
                    pipes[stream] = os.pipe()
            popen = subprocess.Popen(
                argv,
                executable=executable,
                stdin=(
                    stdin_fd
                    if stdin_fd is not None
                    else None
                    if stdin_inherited
                    else subprocess.DEVNULL
                ),
                stdout=pipes["stdout"][1] if "stdout" in pipes else _STREAM_MODES[stdout],
                stderr=pipes["stderr"][1] if "stderr" in pipes else _STREAM_MODES[stderr],
                cwd=cwd,
                env=env,
                start_new_session=True,
                close_fds=not listen_fds,
                pass_fds=pass_fds if not listen_fds else (),
                umask=-1 if umask is None else umask,
                **setup.popen_args(),
            )
        except subprocess.SubprocessError as exc:
            # Only the child's own setup raises this (the values were checked before).
            for read_end, write_end in pipes.values():
                os.close(read_end)
                os.close(write_end)
            raise ValueError(f"the process could not be set up: {exc}") from None
        except BaseException:
            for read_end, write_end in pipes.values():
                os.close(read_end)
                os.close(write_end)
            raise
        for _read_end, write_end in pipes.values():
            os.close(write_end)
        try:
            pidfd = os.pidfd_open(popen.pid)
        except OSError:
            # A child we cannot watch would escape supervision: end it now, and let the
            # caller retry the spawn.
            with contextlib.suppress(OSError):
                os.killpg(popen.pid, signal.SIGKILL)
            popen.wait()
            for read_end, _write_end in pipes.values():
                os.close(read_end)
            raise
        fdlimit.budget.opened(1 + len(pipes))
        proc = cls(popen, wid, marker, pidfd)
        for stream, (read_end, _write_end) in pipes.items():
            if output is not None:
                proc.readers.append(PipeReader(read_end, proc.pid, stream, output, max_line))
            else:
                os.close(read_end)
        return proc

    @property
    def alive(self) -> bool:
        return self.status is None

    @property
    def uptime(self) -> float:
        return time.monotonic() - self.started_mono

    def check_exit(self) -> None:
        if self.status is not None:
            return
        try:
            pid, wait_status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            # Someone else reaped it; we cannot know how it ended.
            pid, wait_status = self.pid, 0
        if pid == 0:
            return
        self.status = ExitStatus.from_wait_status(wait_status)
        tree.supervised.discard(self.pid)
        self.popen.returncode = self.status.circus_code
        loop = asyncio.get_running_loop()
        loop.remove_reader(self._pidfd)
        os.close(self._pidfd)
        # What it wrote just before exiting is read before anyone hears of the exit.
        for reader in self.readers:
            reader.drain()
        if not self.exited.done():
            self.exited.set_result(self.status)
        fdlimit.budget.released()

    def send_signal(self, sig: int, children: bool = False, recursive: bool = False) -> None:
        """As Circus: `children` signals only the direct children; otherwise the process,
        and with `recursive` every descendant too."""
        if self.status is not None:
            raise ProcessLookupError(self.pid)
        if children:
            tree.signal_all(procfs.direct_children(self.pid), sig)
            return
        os.kill(self.pid, sig)
        if recursive:
            tree.signal_all(procfs.descendants([self.pid]), sig)

    async def stop(
        self, sig: int, graceful_timeout: float, send: bool = True, whole_tree: bool = True
    ) -> ExitStatus:
        """Signal the whole tree, wait up to `graceful_timeout`, then SIGKILL what remains.
        `send` False: no signal first (a before_signal hook said no), only the wait.
        `whole_tree` False (Circus's stop_children = false): the signal goes to the process
        alone; what it started gets it once the process is gone, if still there."""
        self.stopping = True
        # Scans of /proc are shared by stops running together (a watcher stopping a thousand
        # processes); staleness only adds candidates, each checked again before it counts.
        members = set()
        if self.status is None:
            members = tree.program_tree(self.pid, self.marker, max_age=SCAN_REUSE)
            if send and whole_tree:
                tree.signal_group(self.pid, sig)
            elif send:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, sig)
        if send and whole_tree:
            tree.signal_all(members, sig)
        deadline = time.monotonic() + graceful_timeout
        if self.status is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.exited), graceful_timeout)
        # Grandchildren may outlive the main process: give them what is left of the grace.
        remaining = members | tree.program_tree(self.pid, self.marker, max_age=SCAN_REUSE)
        remaining = {p for p in remaining - {self.pid} if procfs.running(p)}
        if send and not whole_tree and remaining and self.status is not None:
            tree.signal_all(remaining, sig)
        while remaining and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
            remaining = {p for p in remaining if procfs.running(p)}
        if self.status is None or remaining:
            tree.kill_tree(self.pid, self.marker, max_age=SCAN_REUSE)
            tree.signal_all(remaining, signal.SIGKILL)
        return await self.exited
