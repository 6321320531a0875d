"""What another local user can place in the daemon's way: a directory of hers above the state
directory, a log directory or a pidfile's, a link where a log file will be, a socket directory,
or a fake daemon where the client looks for the real one. Each is refused, and nothing of hers
is written to, deleted, or talked to."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq

from tests.conftest import CIRCUS_TUI, raw_call, wait_for
from tests.security.conftest import OtherUser

pytestmark = pytest.mark.timeout(120)


def config(top: Path, body: str = "", **circus: str) -> Path:
    run = top / "run"
    run.mkdir(exist_ok=True)
    settings = {
        "endpoint": f"ipc://{run}/control.sock",
        "pubsub_endpoint": f"ipc://{run}/events.sock",
        "stats_endpoint": f"ipc://{run}/stats.sock",
        "state_dir": str(top / "state"),
        **circus,
    }
    path = top / "programs.toml"
    head = "[circus]\n" + "".join(f'{k} = "{v}"\n' for k, v in settings.items())
    path.write_text(head + "\n" + (body or '[watchers.web]\ncmd = "sleep 300"\n'))
    return path


def refused(path: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Start a daemon on `path`; it must exit 1 without ever answering. Its stderr."""
    with open(path) as fh:
        endpoint = next(ln for ln in fh if ln.startswith("endpoint")).split('"')[1]
    proc = subprocess.Popen(
        [*CIRCUS_TUI, "daemon", str(path), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    ctx = zmq.Context()
    try:

        def outcome() -> bool:
            if proc.poll() is not None:
                return True
            try:
                raw_call(ctx, endpoint, "numwatchers", timeout=0.3)
            except AssertionError:
                return False
            raise AssertionError("the daemon started and answers")

        wait_for(outcome, timeout=60)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        ctx.destroy(linger=0)
    err = proc.stderr.read().decode() if proc.stderr else ""
    assert proc.returncode == 1, err
    return err


def sticky(path: Path, owner: OtherUser | None = None) -> Path:
    """A world-writable sticky directory like /tmp: root's, or hers."""
    path.mkdir()
    path.chmod(0o1777)
    if owner is not None:
        owner.owns(path)
    return path


def test_state_dir_below_a_directory_of_hers_is_refused(top: Path, alice: OtherUser) -> None:
    shared = sticky(top / "shared", alice)
    state = shared / "state"
    state.mkdir(mode=0o700)  # ours, private: only its parent is hers, and she may swap it
    err = refused(config(top, state_dir=str(state)))
    assert f"{shared} is owned by uid {alice.uid}" in err
    assert list(state.iterdir()) == []


def test_a_state_dir_she_swapped_for_a_link_is_never_followed(top: Path, alice: OtherUser) -> None:
    # Root's sticky directory: she cannot touch our entries in it, but she can make her own.
    tmp = sticky(top / "tmp")
    elsewhere = top / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (elsewhere / "daemon.json").write_text("precious")
    link = tmp / "state"
    link.symlink_to(elsewhere)
    alice.owns(link)
    err = refused(config(top, state_dir=str(link)))
    assert str(link) in err
    assert (elsewhere / "daemon.json").read_text() == "precious"
    assert sorted(p.name for p in elsewhere.iterdir()) == ["daemon.json"]


def test_log_directory_of_hers_is_refused(top: Path, alice: OtherUser) -> None:
    logs = top / "logs"
    logs.mkdir(mode=0o755)
    alice.owns(logs)
    body = f'[watchers.web]\ncmd = "sleep 300"\nstdout_file = "{logs}/web.log"\n'
    err = refused(config(top, body))
    assert f"{logs} is owned by uid {alice.uid}" in err
    assert list(logs.iterdir()) == []


@pytest.mark.parametrize("placed", ["link", "her file"])
def test_log_file_she_placed_in_a_sticky_directory_is_refused(
    top: Path, alice: OtherUser, placed: str
) -> None:
    tmp = sticky(top / "tmp")
    victim = top / "victim"
    victim.write_text("precious\n")
    log = tmp / "web.log"
    if placed == "link":
        log.symlink_to(victim)
    else:
        log.write_text("hers\n")
    alice.owns(log)
    body = f'[watchers.web]\ncmd = "echo hello"\nstdout_file = "{log}"\n'
    err = refused(config(top, body))
    assert str(log) in err
    assert victim.read_text() == "precious\n"
    assert log.is_symlink() or log.read_text() == "hers\n"


def test_pidfile_in_a_directory_of_hers_is_refused(top: Path, alice: OtherUser) -> None:
    hers = sticky(top / "hers", alice)
    err = refused(config(top), "--pidfile", str(hers / "daemon.pid"))
    assert f"{hers} is owned by uid {alice.uid}" in err
    assert list(hers.iterdir()) == []


@pytest.mark.parametrize("owner", ["hers", "root's sticky"])
def test_control_socket_where_she_could_replace_it_is_refused(
    top: Path, alice: OtherUser, owner: str
) -> None:
    where = sticky(top / "sockets", alice if owner == "hers" else None)
    err = refused(config(top, endpoint=f"ipc://{where}/control.sock"))
    assert str(where) in err
    assert list(where.iterdir()) == []


class FakeDaemon:
    """Her daemon, where the victim's client looks for his: it answers anything with text that
    would retitle his terminal, clear his screen and write his clipboard."""

    REPLY = {
        "status": "ok",
        "statuses": {"\x1b]0;PWNED\x07\x1b[2J\x1b]52;c;cm0gLXJmIH4K\x07": "active"},
    }

    def __init__(self, url: str) -> None:
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.bind(url)
        self.served = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        import json

        while not self._stop.is_set():
            if self.sock.poll(50):
                ident, raw = self.sock.recv_multipart()
                reply = {**self.REPLY, "id": json.loads(raw).get("id")}
                self.sock.send_multipart([ident, json.dumps(reply).encode()])
                self.served += 1

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.ctx.destroy(linger=0)


@pytest.fixture
def planted(top: Path, alice: OtherUser) -> Iterator[tuple[dict[str, str], FakeDaemon, Path]]:
    """$XDG_RUNTIME_DIR as /tmp is (root's, sticky), and in it her `circus-tui` directory with
    her daemon on the default control socket: the victim's default endpoint."""
    runtime = sticky(top / "xdg")
    hers = runtime / "circus-tui"
    hers.mkdir(mode=0o700)
    fake = FakeDaemon(f"ipc://{hers}/control.sock")
    alice.owns(hers, hers / "control.sock")
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
    yield env, fake, hers
    fake.close()


def _ctl(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CIRCUS_TUI, *args], env=env, capture_output=True, text=True, timeout=60, stdin=None
    )


@pytest.mark.parametrize("client", [["ctl", "status"], ["ctl", "list"], []])
def test_clients_refuse_a_default_directory_of_hers(planted: Any, client: list[str]) -> None:
    env, fake, hers = planted
    run = _ctl(env, *client)
    assert run.returncode == 1, run.stdout + run.stderr
    assert fake.served == 0
    assert "\x1b" not in run.stdout + run.stderr
    assert f"{hers} is owned by uid" in run.stderr
    assert len(run.stderr.splitlines()) == 1


def test_the_daemon_refuses_it_too_and_says_how_to_fix_it(planted: Any, top: Path) -> None:
    env, fake, hers = planted
    path = top / "defaults.toml"
    path.write_text(f'[circus]\nstate_dir = "{top}/state"\n\n[watchers.web]\ncmd = "sleep 300"\n')
    proc = subprocess.run(
        [*CIRCUS_TUI, "daemon", str(path)], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1
    assert f"{hers} is owned by uid" in proc.stderr
    assert "remove it" in proc.stderr  # after finding out who made it
    assert fake.served == 0
