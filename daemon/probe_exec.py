"""An exec probe: a command run in its own session, exit 0 passes, killed with its whole process
group when it ends (nothing it started outlives it) or at its timeout; what it wrote (stdout
and stderr together, at most OUTPUT_KEPT bytes) goes with a failure.

Its child is waited for here, through a pidfd, so the daemon's orphan scan must leave it alone:
its pid is in daemon.tree.awaited from the fork until it is reaped. Not asyncio's
subprocesses: on Python 3.11 their child watcher waits in a thread per child, and the caller
learns the pid only after an await, by which time the orphan scan may have reaped the child
and asyncio reports 255 for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
import subprocess
import time

from daemon import exits, fdlimit
from daemon.child_setup import ChildSetup, identity
from daemon.printable import printable
from daemon.probe_result import ProbeResult, os_words, result, shown, timed_out
from daemon.substitute import expand
from daemon.tree import awaited

OUTPUT_KEPT = 4096
# After the SIGKILL at the timeout, how long the command has to be gone before it is left to
# the orphan scan (a process in uninterruptible sleep dies only when the kernel lets it).
KILL_WAIT = 1.0
_READ = 65536


class _Command:
    """A probe's command, spawned in its own session; its exit noticed through a pidfd and
    its output read as it comes, so that it never blocks on a full pipe."""

    def __init__(self, popen: subprocess.Popen[bytes], read_end: int, pidfd: int) -> None:
        self.popen = popen
        self.pid = popen.pid
        self.output = bytearray()
        self._read_end = read_end
        self._pidfd = pidfd
        loop = asyncio.get_running_loop()
        self.exited: asyncio.Future[None] = loop.create_future()
        loop.add_reader(pidfd, self._on_exit)
        loop.add_reader(read_end, self._on_output)

    @classmethod
    def spawn(
        cls,
        argv: list[str],
        env: dict[str, str],
        cwd: str | None,
        user: str | int | None,
        group: str | int | None,
    ) -> _Command:
        fdlimit.budget.check_spawn()
        read_end, write_end = os.pipe()
        try:
            popen = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=write_end,
                stderr=write_end,
                cwd=cwd,
                env=env,
                start_new_session=True,
                close_fds=True,
                # The user's own groups, not the daemon's (see daemon.child_setup).
                **ChildSetup(identity(user, group)).popen_args(),
            )
        except BaseException:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)
        # Before anything can await: the orphan scan runs on this loop.
        awaited.add(popen.pid)
        try:
            pidfd = os.pidfd_open(popen.pid)
        except OSError:
            with contextlib.suppress(OSError):
                os.killpg(popen.pid, signal.SIGKILL)
            popen.wait()  # killed: at once
            awaited.discard(popen.pid)
            os.close(read_end)
            raise
        os.set_blocking(read_end, False)
        fdlimit.budget.opened(2)
        return cls(popen, read_end, pidfd)

    def _on_exit(self) -> None:
        asyncio.get_running_loop().remove_reader(self._pidfd)
        if not self.exited.done():
            self.exited.set_result(None)

    def _on_output(self) -> None:
        try:
            data = os.read(self._read_end, _READ)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(self._read_end)
            return
        room = OUTPUT_KEPT - len(self.output)
        if room > 0:
            self.output += data[:room]

    def kill(self) -> None:
        # The whole group, while the leader is unreaped: its pid cannot name another group.
        with contextlib.suppress(OSError):
            os.killpg(self.pid, signal.SIGKILL)

    def _close(self) -> None:
        loop = asyncio.get_running_loop()
        loop.remove_reader(self._pidfd)
        loop.remove_reader(self._read_end)
        with contextlib.suppress(OSError):
            while len(self.output) < OUTPUT_KEPT and (data := os.read(self._read_end, _READ)):
                self.output += data[: OUTPUT_KEPT - len(self.output)]
        os.close(self._read_end)
        os.close(self._pidfd)
        fdlimit.budget.released()

    def reap(self) -> int | None:
        """Once exited: what is left of its group killed, its exit code (minus the signal
        number), or None when the status was lost."""
        self.kill()
        self._close()
        try:
            _pid, status = os.waitpid(self.pid, 0)
            code: int | None = os.waitstatus_to_exitcode(status)
        except ChildProcessError:
            code = None
        awaited.discard(self.pid)
        # Popen must never wait for this pid itself: by then it may be another child's.
        self.popen.returncode = code if code is not None else -signal.SIGKILL
        return code

    def abandon(self) -> None:
        """Killed and left to the orphan scan (a process that does not die at once)."""
        self.kill()
        self._close()
        awaited.discard(self.pid)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, os.WNOHANG)
        self.popen.returncode = -signal.SIGKILL


def _with_output(detail: str, output: bytes) -> str:
    text = shown(output)
    return f"{detail}: {text}" if text else detail


async def check_exec(
    argv: list[str],
    *,
    env: dict[str, str],
    cwd: str | None,
    timeout: float,
    user: str | int | None = None,
    group: str | int | None = None,
) -> ProbeResult:
    """`argv` exits 0 within `timeout`; killed, with its whole process group, at the timeout."""
    started = time.monotonic()
    if not argv:
        return result(False, "no command", started)
    try:
        command = _Command.spawn(argv, env, cwd, user, group)
    except (OSError, subprocess.SubprocessError, KeyError, ValueError) as exc:
        return result(False, f"cannot run {printable(argv[0])}: {os_words(exc)}", started)
    try:
        done, _ = await asyncio.wait([command.exited], timeout=timeout)
        late = not done
        if late:
            command.kill()
            done, _ = await asyncio.wait([command.exited], timeout=KILL_WAIT)
    except BaseException:
        command.abandon()
        raise
    if not done:
        command.abandon()
        return result(False, timed_out(timeout) + ", and not gone after SIGKILL", started)
    code = command.reap()
    if late:
        return result(False, _with_output(timed_out(timeout), command.output), started)
    if code == 0:
        return result(True, "exit 0", started)
    if code is None:
        detail = "ended, its exit status lost"
    elif code > 0:
        detail = f"exit {code}"
    else:
        detail = exits.describe(None, -code)
    return result(False, _with_output(detail, command.output), started)


def exec_argv(command: str, *, pid: int, wid: int, env: dict[str, str]) -> list[str]:
    """An exec probe's command line split as a shell would, then `$(circus.pid)`,
    `$(circus.wid)` and `$(circus.env.NAME)` replaced in each word. ValueError when it cannot
    be split or names a socket."""
    try:
        return [
            expand(word, wid=wid, env=env, sockets={}, pid=pid) for word in shlex.split(command)
        ]
    except KeyError as exc:
        raise ValueError(f"a probe's command has no sockets: {exc.args[0]}") from None
