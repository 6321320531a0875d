"""A real OpenSSH server for the tests, on a loopback port, with throw-away host and user keys:
what an ssh:// target goes through. Without sshd the tests fail, saying what to install
(.ci/run installs openssh-server), rather than skip."""

from __future__ import annotations

import getpass
import os
import shlex
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.waiting import wait_for


@dataclass
class SshServer:
    dir: Path
    port: int
    user: str
    proc: subprocess.Popen[bytes]

    def ssh_command(self, key: str = "user_key") -> str:
        """The client command for --ssh-command: our keys and known_hosts only."""
        return shlex.join(
            [
                "ssh",
                "-F", "/dev/null",
                "-i", str(self.dir / key),
                "-o", "IdentitiesOnly=yes",
                "-o", f"UserKnownHostsFile={self.dir / 'known_hosts'}",
                "-o", "StrictHostKeyChecking=yes",
            ]
        )  # fmt: skip

    def target(self, path: str = "") -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}{path}"


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def session_env(remote_runtime: Path) -> dict[str, str]:
    """The sessions find this checkout's circus-tui first, and have a runtime directory of
    their own: what `circus-tui endpoints` answers there is the test's."""
    return {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "XDG_RUNTIME_DIR": str(remote_runtime),
    }


def start_sshd(directory: Path, env: dict[str, str]) -> Iterator[SshServer]:
    """`env`: set for every session (sshd's SetEnv)."""
    sshd = shutil.which("sshd") or "/usr/sbin/sshd"
    if not os.path.exists(sshd) or shutil.which("ssh-keygen") is None:
        pytest.fail("no sshd: install openssh-server (apt-get install openssh-server)")
    directory.mkdir(parents=True, exist_ok=True)
    for key in ("host_key", "user_key", "stranger_key"):
        _keygen(directory / key)
    (directory / "authorized_keys").write_text((directory / "user_key.pub").read_text())
    port = _free_port()
    host_pub = (directory / "host_key.pub").read_text().split()
    (directory / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_pub[0]} {host_pub[1]}\n")
    set_env = " ".join(f"{k}={v}" for k, v in env.items())
    (directory / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {directory}/host_key\n"
        f"PidFile {directory}/sshd.pid\nAuthorizedKeysFile {directory}/authorized_keys\n"
        "StrictModes no\nUsePAM no\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
        "AllowStreamLocalForwarding yes\nX11Forwarding no\n"
        f"LogLevel ERROR\nSetEnv {set_env}\n"
    )
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # its privilege separation
    log = open(directory / "sshd.log", "wb")  # noqa: SIM115 - the server's, closed below
    proc = subprocess.Popen(
        [sshd, "-D", "-e", "-f", str(directory / "sshd_config")], stdout=log, stderr=log
    )

    def listening() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"sshd exited: {(directory / 'sshd.log').read_text()}")
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    try:
        wait_for(listening, timeout=20)
        yield SshServer(directory, port, getpass.getuser(), proc)
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
