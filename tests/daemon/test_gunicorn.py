"""A real server on a daemon-owned socket: gunicorn scaled and restarted under load."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import wait_for
from tests.support.load import Load, answering

GUNICORN = Path(sys.executable).parent / "gunicorn"

APP = """
import os

def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]
"""


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
        # `reload` below is a rolling one: each new gunicorn says READY=1 before an old stops.
        "[watchers.web.ready]\nnotify = true\nstart_timeout = 60\n"
    )
    port = d.call("listsockets")["sockets"][0]["port"]
    d.wait_pids("web", 1)

    wait_for(lambda: answering(port), timeout=20)
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


@pytest.mark.skipif(not GUNICORN.exists(), reason="gunicorn is a test dependency")
def test_gunicorn_tells_it_is_ready_over_notify(daemon_factory: Any, tmp_path: Path) -> None:
    # gunicorn's arbiter sends READY=1 and a STATUS= once it listens, as under systemd.
    (tmp_path / "app.py").write_text(APP)
    d = daemon_factory(
        '[sockets.web]\nhost = "127.0.0.1"\nport = 0\n'
        "[watchers.web]\n"
        f'cmd = "{GUNICORN} --bind fd://$(circus.sockets.web) --workers 2 app:app"\n'
        f'working_dir = "{tmp_path}"\nuse_sockets = true\ngraceful_timeout = 15\n'
        "[watchers.web.ready]\nnotify = true\nstart_timeout = 30\n"
    )

    def ready() -> dict[str, Any] | None:
        details = d.call("status", name="web")["details"]
        return details if details["ready"] == 1 else None

    details = wait_for(ready, timeout=30)
    ((pid, health),) = details["health"].items()
    assert health["health"] == "ready"
    assert health["status"] == "Gunicorn arbiter booted"
    assert [int(pid)] == d.pids("web")
