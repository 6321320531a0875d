"""A daemon on another host through the operator's own OpenSSH: one master connection per
host (ControlMaster), and the remote daemon's unix sockets forwarded (`-O forward -L`) into a
private 0700 directory here. No TCP port is opened on either side; the user's keys, agent,
~/.ssh/config, ProxyJump and known_hosts apply as they are. BatchMode: a host that wants a
password is reported, never prompted for."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from daemon.endpoints import EndpointError
from daemon.paths import private_dir, runtime_dir
from daemon.printable import printable
from daemon.targets import Target

# Options every ssh call gets; the user's own command comes first, so they may not be undone.
MASTER_OPTIONS = (
    "-o", "BatchMode=yes",
    "-o", "ExitOnForwardFailure=yes",
    "-o", "ServerAliveInterval=15",
    "-o", "ServerAliveCountMax=3",
    "-o", "ControlPersist=no",
)  # fmt: skip
# Asked of the remote side when the target names no socket: the remote user's own default.
DEFAULT_ENDPOINTS_COMMAND = "circus-tui endpoints"
SSH_ENV = "CIRCUS_TUI_SSH"


class TunnelError(EndpointError):
    """The host cannot be reached, or the forward cannot be made: the reason as ssh gave it."""


def ssh_command(given: str | None = None) -> list[str]:
    """--ssh-command, else $CIRCUS_TUI_SSH, else `ssh` from PATH."""
    text = given or os.environ.get(SSH_ENV) or "ssh"
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise TunnelError(f"ssh command {text!r}: {exc}") from None
    if not words:
        raise TunnelError("the ssh command is empty")
    return words


class Tunnel:
    def __init__(self, target: Target, ssh: list[str], timeout: float = 15.0) -> None:
        assert target.is_ssh
        self.target = target
        self.ssh = ssh
        self.timeout = timeout
        self.dir: Path | None = None
        self.master: subprocess.Popen[bytes] | None = None
        self._forwards: dict[str, str] = {}  # remote endpoint -> local endpoint
        self.control_remote = ""  # the remote control endpoint, once open

    # -- the master connection ----------------------------------------------------------

    def open(self) -> str:
        """The local endpoint of the remote control socket. Raises TunnelError."""
        base = runtime_dir()
        os.close(private_dir(base))
        self.dir = Path(tempfile.mkdtemp(prefix="ssh-", dir=base))  # 0700
        control = self.dir / "master"
        errors = self.dir / "ssh.err"
        with open(errors, "wb") as err:
            self.master = subprocess.Popen(
                [*self.ssh, *MASTER_OPTIONS, "-M", "-S", str(control), "-N",
                 *self.target.ssh_args()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,  # a ^C in the console is not ssh's
            )  # fmt: skip
        deadline = time.monotonic() + self.timeout
        while not self._check():
            if self.master.poll() is not None:
                raise TunnelError(f"{self.target.label}: {self._said(errors) or 'ssh exited'}")
            if time.monotonic() > deadline:
                self.close()
                raise TunnelError(f"{self.target.label}: no connection within {self.timeout:g} s")
            time.sleep(0.05)
        remote = self.target.path
        self.control_remote = f"ipc://{remote}" if remote else self._remote_default()
        return self.forward(self.control_remote)

    def alive(self) -> bool:
        return self.master is not None and self.master.poll() is None

    def _ssh_over_master(self, *args: str) -> subprocess.CompletedProcess[str]:
        assert self.dir is not None
        return subprocess.run(
            [*self.ssh, "-S", str(self.dir / "master"), *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=self.timeout,
        )

    def _check(self) -> bool:
        return self._ssh_over_master("-O", "check", *self.target.ssh_args()).returncode == 0

    def _remote_default(self) -> str:
        done = self._ssh_over_master(*self.target.ssh_args(), DEFAULT_ENDPOINTS_COMMAND)
        try:
            endpoint = str(json.loads(done.stdout)["endpoint"])
        except (ValueError, KeyError, TypeError):
            why = (done.stderr.strip().splitlines() or ["no answer"])[-1]
            raise TunnelError(
                f"{self.target.label}: cannot ask the remote default endpoint "
                f"(`{DEFAULT_ENDPOINTS_COMMAND}`: {printable(why)[:200]}); give the socket's "
                "path: ssh://HOST/path/to/control.sock"
            ) from None
        return endpoint

    # -- forwards -------------------------------------------------------------------------

    def forward(self, remote: str) -> str:
        """A local ipc endpoint for the remote daemon's ipc endpoint `remote`."""
        if remote in self._forwards:
            return self._forwards[remote]
        if not remote.startswith("ipc://"):
            raise TunnelError(f"{self.target.label}: {remote} is not a unix socket to forward")
        assert self.dir is not None
        local = self.dir / f"{len(self._forwards)}.sock"
        done = self._ssh_over_master(
            "-O", "forward", "-L", f"{local}:{remote[len('ipc://') :]}", *self.target.ssh_args()
        )
        if done.returncode != 0:
            why = (done.stderr.strip().splitlines() or ["forward refused"])[-1]
            raise TunnelError(f"{self.target.label}: {remote}: {printable(why)[:200]}")
        self._forwards[remote] = f"ipc://{local}"
        return self._forwards[remote]

    def local_for(self, remote: str) -> str:
        """What a client connects to for an endpoint the remote daemon named."""
        return self.forward(remote) if remote.startswith("ipc://") else remote

    def _said(self, errors: Path) -> str:
        lines = errors.read_text(errors="replace").strip().splitlines()
        return printable(lines[-1])[:300] if lines else ""

    def close(self) -> None:
        if self.master is not None and self.master.poll() is None:
            with contextlib.suppress(Exception):
                self._ssh_over_master("-O", "exit", *self.target.ssh_args())
            with contextlib.suppress(ProcessLookupError):
                self.master.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.master.wait(5)
            if self.master.poll() is None:
                self.master.kill()
                self.master.wait()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


class Reach:
    """How a client reaches one daemon: its control endpoint, and the endpoints the daemon
    names (events, stats) as this host can connect to them. Through ssh, a tunnel whose
    connection died is made again when the control endpoint is next asked for."""

    def __init__(self, target: Target, ssh: list[str] | None = None, timeout: float = 15.0):
        self.target = target
        self.ssh = ssh
        self.timeout = timeout
        self.tunnel: Tunnel | None = None

    def control(self) -> str:
        """Blocks while a tunnel is made. Raises TunnelError."""
        if not self.target.is_ssh:
            assert self.target.endpoint is not None
            return self.target.endpoint
        if self.tunnel is not None and self.tunnel.alive():
            return self.tunnel.forward(self.tunnel.control_remote)
        self.close()
        self.tunnel = Tunnel(self.target, self.ssh or ssh_command(), self.timeout)
        return self.tunnel.open()

    def local_for(self, remote: str) -> str:
        return self.tunnel.local_for(remote) if self.tunnel is not None else remote

    def close(self) -> None:
        if self.tunnel is not None:
            self.tunnel.close()
            self.tunnel = None
