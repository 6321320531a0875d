"""Sockets the daemon binds and hands to its programs by file descriptor."""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Any

from tests.conftest import wait_for

PY = sys.executable

SERVER = """
import os, socket, sys
sock = socket.socket(fileno=int(sys.argv[1]))
sock.setblocking(True)
while True:
    conn, _ = sock.accept()
    conn.recv(100)
    conn.sendall(str(os.getpid()).encode())
    conn.close()
"""


def ask(address: Any, family: int = socket.AF_INET) -> int:
    with socket.socket(family, socket.SOCK_STREAM) as conn:
        conn.settimeout(5)
        conn.connect(address)
        conn.sendall(b"hi")
        return int(conn.recv(100))


def test_tcp_socket_is_shared_by_workers_and_survives_restarts(
    daemon_factory: Any, tmp_path: Path
) -> None:
    server = tmp_path / "server.py"
    server.write_text(SERVER)
    d = daemon_factory(
        '[sockets.web]\nhost = "127.0.0.1"\nport = 0\n'
        f'[watchers.web]\ncmd = "{PY} {server} $(circus.sockets.web)"\n'
        "use_sockets = true\nnumprocesses = 2\n"
    )
    listing = d.call("listsockets")["sockets"]
    assert len(listing) == 1 and listing[0]["name"] == "web" and listing[0]["port"] > 0
    address = ("127.0.0.1", listing[0]["port"])
    pids = set(d.wait_pids("web", 2))
    wait_for(lambda: {ask(address) for _ in range(20)} == pids, timeout=10)
    d.call("restart", name="web", waiting=True)
    new = set(d.wait_pids("web", 2))
    assert not new & pids
    # The port did not change and nobody had to re-bind it.
    assert ask(address) in new
    assert d.call("listsockets")["sockets"][0]["port"] == address[1]


def test_unix_socket_with_umask(daemon_factory: Any, tmp_path: Path) -> None:
    server = tmp_path / "server.py"
    server.write_text(SERVER)
    path = tmp_path / "app.sock"
    d = daemon_factory(
        f'[sockets.app]\npath = "{path}"\numask = 0o077\n'
        f'[watchers.app]\ncmd = "{PY} {server} $(circus.sockets.app)"\nuse_sockets = true\n'
    )
    pid = d.wait_pids("app", 1)[0]
    assert ask(str(path), socket.AF_UNIX) == pid
    assert path.stat().st_mode & 0o777 == 0o700
    assert d.call("listsockets")["sockets"] == [
        {"fd": d.call("listsockets")["sockets"][0]["fd"], "name": "app", "path": str(path)}
    ]


def test_port_in_use_is_a_clear_error(daemon_factory: Any) -> None:
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    try:
        try:
            daemon_factory(f'[sockets.web]\nport = {port}\n[watchers.x]\ncmd = "sleep 100"\n')
        except AssertionError as exc:
            assert "cannot bind 127.0.0.1" in str(exc) and "in use" in str(exc)
        else:
            raise AssertionError("the daemon started on a port that was taken")
    finally:
        blocker.close()


def test_a_socket_added_by_reload_reaches_an_existing_watcher(
    daemon_factory: Any, tmp_path: Path
) -> None:
    import signal

    server = tmp_path / "server.py"
    server.write_text(SERVER)
    d = daemon_factory('[watchers.api]\ncmd = "sleep 1000"\n')
    d.wait_pids("api", 1)
    text = d.config.read_text().replace(
        '[watchers.api]\ncmd = "sleep 1000"\n',
        "[sockets.api]\nport = 0\n"
        f'[watchers.api]\ncmd = "{PY} {server} ((circus.sockets.API))"\nuse_sockets = true\n',
    )
    d.config.write_text(text)
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: d.call("listsockets")["sockets"], timeout=10)
    port = d.call("listsockets")["sockets"][0]["port"]
    pid = wait_for(lambda: ask(("127.0.0.1", port)), timeout=15)
    assert pid in d.pids("api")
