"""on_demand: a watcher whose first connection starts it, and which waits for the next one
after each stop. The connection that starts it is answered, never dropped."""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Any

import pytest

from daemon.config import ConfigError, parse_config_text
from tests.conftest import wait_for

PY = sys.executable

# Answers each connection with its pid; with `once`, exits (0) after the first.
SERVER = """
import os, socket, sys
sock = socket.socket(fileno=int(sys.argv[1]))
sock.setblocking(True)
while True:
    conn, _ = sock.accept()
    conn.sendall(str(os.getpid()).encode())
    conn.close()
    if len(sys.argv) > 2:
        sys.exit(int(sys.argv[2]))
"""


def ask(port: int) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=15) as conn:
        conn.settimeout(15)
        return int(conn.recv(100))


def ports(d: Any) -> dict[str, int]:
    return {s["name"]: s["port"] for s in d.call("listsockets")["sockets"]}


def details(d: Any, name: str) -> dict[str, Any]:
    return d.call("status", name=name, extended=True)["details"]


def config(server: Path, extra: str = "") -> str:
    return (
        "[sockets.web]\nport = 0\n[sockets.other]\nport = 0\n"
        f'[watchers.web]\ncmd = "{PY} {server} $(circus.sockets.web)"\n'
        f"use_sockets = true\non_demand = true\n{extra}"
    )


def test_the_first_connection_starts_it_and_is_answered(
    daemon_factory: Any, tmp_path: Path
) -> None:
    server = tmp_path / "server.py"
    server.write_text(SERVER)
    d = daemon_factory(config(server))
    assert d.call("status", name="web")["status"] == "stopped"
    assert details(d, "web")["reason"] == "on demand: starts at the first connection on web"
    assert d.pids("web") == []
    # A connection on a socket it does not name leaves it waiting.
    with socket.create_connection(("127.0.0.1", ports(d)["other"]), timeout=5):
        pass
    assert d.call("status", name="web")["status"] == "stopped" and d.pids("web") == []

    [pid] = [ask(ports(d)["web"])]
    assert d.pids("web") == [pid]
    assert d.call("status", name="web")["status"] == "active"
    assert details(d, "web")["reason"] is None

    # Stopped, it waits again; the next connection starts a new process.
    assert d.call("stop", name="web", waiting=True)["status"] == "ok"
    wait_for(lambda: details(d, "web")["reason"] is not None, timeout=10)
    second = ask(ports(d)["web"])
    assert second != pid and d.pids("web") == [second]


def test_an_idle_server_that_exits_waits_for_the_next_connection(
    daemon_factory: Any, tmp_path: Path
) -> None:
    server = tmp_path / "server.py"
    server.write_text(SERVER)
    d = daemon_factory(
        config(server, 'restart = "on-failure"\n').replace(
            "$(circus.sockets.web)", "$(circus.sockets.web) 0"
        )
    )
    port = ports(d)["web"]
    first = ask(port)
    wait_for(lambda: d.call("status", name="web")["status"] == "completed", timeout=10)
    second = ask(port)
    assert second != first
    wait_for(lambda: d.call("status", name="web")["status"] == "completed", timeout=10)


def test_a_failure_stays_in_view_and_the_next_connection_tries_again(
    daemon_factory: Any, tmp_path: Path
) -> None:
    server = tmp_path / "server.py"
    server.write_text(SERVER)
    d = daemon_factory(
        config(server, 'restart = "never"\n').replace(
            "$(circus.sockets.web)", "$(circus.sockets.web) 3"
        )
    )
    port = ports(d)["web"]
    first = ask(port)
    wait_for(lambda: d.call("status", name="web")["status"] == "failed", timeout=10)
    reason = details(d, "web")["reason"]
    assert reason.startswith("exited with code 3 after ")
    assert reason.endswith("; on demand: starts at the first connection on web")
    assert ask(port) != first


def test_explicit_start_starts_it_at_once(daemon_factory: Any, tmp_path: Path) -> None:
    server = tmp_path / "server.py"
    server.write_text(SERVER)
    d = daemon_factory(config(server))
    assert d.call("start", name="web", waiting=True)["status"] == "ok"
    [pid] = d.wait_pids("web", 1)
    assert ask(ports(d)["web"]) == pid


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        (
            '[sockets.s]\nport = 0\n[watchers.a]\ncmd = "x"\non_demand = true\n',
            "on_demand",
            "needs use_sockets = true",
        ),
        (
            '[watchers.a]\ncmd = "x"\nuse_sockets = true\non_demand = true\n',
            "on_demand",
            "no socket in [sockets] to wait on",
        ),
    ],
)
def test_on_demand_without_sockets_is_a_config_error(text: str, key: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config_text(text)
    assert err.value.key.endswith(key) and message in err.value.message, err.value
