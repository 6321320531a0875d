"""ssh:// targets: `circus-tui ctl --endpoint ssh://…` through a real sshd on a loopback port,
the remote daemon's unix sockets forwarded; no TCP port but sshd's own."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from daemon.endpoints import EndpointError
from daemon.targets import parse_target
from tests.support.dirs import short_dir
from tests.support.sshd import SshServer, session_env, start_sshd
from tests.support.waiting import wait_for

CTL = [sys.executable, "-m", "tui.cli", "ctl"]


@pytest.fixture(scope="module")
def remote_runtime() -> Iterator[Path]:
    with short_dir("rr") as path:
        yield path


@pytest.fixture(scope="module")
def sshd(remote_runtime: Path) -> Iterator[SshServer]:
    env = session_env(remote_runtime)
    with short_dir("sd") as directory:
        yield from start_sshd(directory, env)


def ctl(sshd: SshServer, target: str, *args: str, key: str = "user_key") -> Any:
    return subprocess.run(
        [*CTL, "--endpoint", target, "--ssh-command", sshd.ssh_command(key), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_targets_are_parsed_or_refused_with_the_reason() -> None:
    t = parse_target("db=ssh://deploy@db1.example.com:2222/run/app/control.sock")
    assert (t.label, t.user, t.host, t.port, t.path) == (
        "db",
        "deploy",
        "db1.example.com",
        2222,
        "/run/app/control.sock",
    )
    assert t.ssh_args() == ["-p", "2222", "-l", "deploy", "--", "db1.example.com"]
    bare = parse_target("ssh://web1")
    assert (bare.label, bare.user, bare.port, bare.path) == ("web1", None, None, None)
    assert parse_target("ipc:///tmp/x.sock").endpoint == "ipc:///tmp/x.sock"
    for bad, says in [
        ("ssh://-oProxyCommand=x", "not a host name"),
        ("ssh://h:99999", "port"),
        ("ssh://u:pw@h", "password"),
        ("bad label=ssh://h", "not a label"),
        ("http://h", "not a target"),
    ]:
        with pytest.raises(EndpointError, match=says):
            parse_target(bad)


def test_ctl_through_ssh_reads_and_changes_the_remote_daemon(
    daemon_factory: Any, sshd: SshServer
) -> None:
    d = daemon_factory('[watchers.web]\ncmd = "sleep 600"\n')
    control = d.endpoint.removeprefix("ipc://")
    done = ctl(sshd, sshd.target(control), "status")
    assert done.returncode == 0, done.stderr
    assert "web: active" in done.stdout
    assert ctl(sshd, sshd.target(control), "incr", "web").returncode == 0
    d.wait_pids("web", 2)


def test_without_a_path_the_remote_default_is_asked(
    daemon_factory: Any, sshd: SshServer, remote_runtime: Path
) -> None:
    endpoint = f"ipc://{remote_runtime}/circus-tui/control.sock"
    d = daemon_factory('[watchers.api]\ncmd = "sleep 600"\n', sub="dflt", endpoint=endpoint)
    done = ctl(sshd, f"box={sshd.target()}", "list")
    assert done.returncode == 0, done.stderr
    assert "api" in done.stdout
    assert d.pids("api")


def test_tail_follow_through_ssh(daemon_factory: Any, sshd: SshServer) -> None:
    d = daemon_factory(
        "[watchers.talk]\n"
        f'cmd = "{sys.executable} -u -c \'import time\\nwhile 1: print(\\"tick\\"); '
        "time.sleep(0.1)'\"\n",
        sub="tail",
    )
    target = sshd.target(d.endpoint.removeprefix("ipc://"))
    proc = subprocess.Popen(
        [*CTL, "--endpoint", target, "--ssh-command", sshd.ssh_command(), "tail", "-f", "talk"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        seen: list[str] = []

        def followed() -> bool:
            seen.append(proc.stdout.readline())  # type: ignore[union-attr]
            return sum("tick" in line for line in seen) >= 30  # past the backlog of 10

        wait_for(followed, timeout=30)
        masters = psutil.Process(proc.pid).children()
        assert [m.name() for m in masters] == ["ssh"]
    finally:
        proc.terminate()
        proc.wait(10)
    # Ended by its caller, it ends its ssh too.
    wait_for(lambda: not any(m.is_running() and m.status() != "zombie" for m in masters))


def test_a_key_the_host_does_not_take_is_a_clear_error(sshd: SshServer) -> None:
    done = ctl(sshd, sshd.target("/nowhere.sock"), "status", key="stranger_key")
    assert done.returncode == 1
    assert "Permission denied" in done.stderr
    assert done.stderr.startswith(f"circus-tui ctl: 127.0.0.1:{sshd.port}: ")


def test_a_socket_that_is_not_there_says_so(sshd: SshServer) -> None:
    done = ctl(sshd, sshd.target("/tmp/no-such-daemon.sock"), "status", "--timeout", "2")
    assert done.returncode == 1
    assert done.stderr.strip()
