"""A real server on a daemon-owned socket: gunicorn scaled and restarted under load."""

from __future__ import annotations

import http.client
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import wait_for

GUNICORN = Path(sys.executable).parent / "gunicorn"

APP = """
import os

def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]
"""


class Load:
    """A bounded loopback load: a few threads, each issuing requests until told to stop."""

    def __init__(self, port: int, threads: int = 4, limit: float = 60.0) -> None:
        self.port = port
        self.ok = 0
        self.failed: list[str] = []
        self.servers: set[str] = set()
        self._stop = threading.Event()
        self._deadline = time.monotonic() + limit
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                conn.request("GET", "/")
                resp = conn.getresponse()
                body = resp.read().decode()
                with self._lock:
                    if resp.status == 200:
                        self.ok += 1
                        self.servers.add(body)
                    else:
                        self.failed.append(f"status {resp.status}")
            except OSError as exc:
                with self._lock:
                    self.failed.append(repr(exc))
            finally:
                conn.close()

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(15)


@pytest.mark.skipif(not GUNICORN.exists(), reason="gunicorn is a test dependency")
def test_gunicorn_scaled_and_restarted_under_load_drops_nothing(
    daemon_factory: Any, tmp_path: Path
) -> None:
    (tmp_path / "app.py").write_text(APP)
    d = daemon_factory(
        '[sockets.web]\nhost = "127.0.0.1"\nport = 0\nbacklog = 512\n'
        "[watchers.web]\n"
        f'cmd = "{GUNICORN} --bind fd://$(circus.sockets.web) --workers 1 '
        '--graceful-timeout 10 app:app"\n'
        f'working_dir = "{tmp_path}"\nuse_sockets = true\nnumprocesses = 1\n'
        "graceful_timeout = 15\n"
    )
    port = d.call("listsockets")["sockets"][0]["port"]
    d.wait_pids("web", 1)

    def answers() -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/")
            return conn.getresponse().status == 200
        except OSError:
            return False

    wait_for(answers, timeout=20)
    with Load(port) as load:
        wait_for(lambda: load.ok > 20, timeout=20)
        assert (
            d.call("set", name="web", options={"numprocesses": 8}, waiting=True)["status"] == "ok"
        )
        d.wait_pids("web", 8, timeout=20)
        wait_for(lambda: len(load.servers) > 2, timeout=20)
        before = load.ok
        assert d.call("restart", name="web", waiting=True, timeout=60)["status"] == "ok"
        wait_for(lambda: load.ok > before + 20, timeout=30)
        before = load.ok
        # Eight gunicorns booting on two cores take a while: allow for it.
        assert d.call("reload", name="web", waiting=True, timeout=60)["status"] == "ok"
        wait_for(lambda: load.ok > before + 20, timeout=30)
        assert d.call("decr", name="web", nb=6, waiting=True, timeout=60)["numprocesses"] == 2
        wait_for(lambda: load.ok > before + 40, timeout=30)
    assert load.failed == [], load.failed[:5]
    assert load.ok > 100
