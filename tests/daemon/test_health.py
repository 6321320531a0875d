"""Readiness and liveness on a real core with real programs: each kind of probe makes a
process ready, a process never ready in time or no longer alive is replaced with the reason,
and the notify protocol (READY=1, STATUS=, WATCHDOG=1) is heard from a process or from a
process it started."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from daemon import events
from tests.support.core import running_core
from tests.support.waiting import eventually

PY = sys.executable

# A program's end of the notify protocol, as sd_notify(3) sends.
NOTIFY = (
    "import os, socket\n"
    "def notify(message):\n"
    "    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
    "    s.connect(os.environ['NOTIFY_SOCKET'])\n"
    "    s.send(message.encode())\n"
    "    s.close()\n"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _http_server(directory: Path, port: int) -> Path:
    """Answers 200 while the file `healthy` exists beside it, 503 otherwise."""
    script = directory / "server.py"
    script.write_text(
        "import http.server, pathlib\n"
        f"healthy = pathlib.Path({str(directory / 'healthy')!r})\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        "        self.send_response(200 if healthy.exists() else 503)\n"
        "        self.end_headers()\n"
        "    def log_message(self, *args):\n"
        "        pass\n"
        "http.server.HTTPServer.allow_reuse_address = True\n"
        f"http.server.HTTPServer(('127.0.0.1', {port}), H).serve_forever()\n"
    )
    return script


def _sleeper(directory: Path, body: str = "") -> Path:
    script = directory / "prog.py"
    script.write_text(f"import os, pathlib, sys, time\n{NOTIFY}{body}\ntime.sleep(600)\n")
    return script


async def test_http_ready_then_replaced_when_no_longer_alive(short_path: Path) -> None:
    port = _free_port()
    script = _http_server(short_path, port)
    (short_path / "healthy").touch()
    url = f"http://127.0.0.1:{port}/healthz"
    body = (
        f'[watchers.web]\ncmd = "{PY} {script}"\ngraceful_timeout = 2\n'
        f'[watchers.web.ready]\nhttp = "{url}"\ninterval = 0.1\nstart_timeout = 20\n'
        f'[watchers.web.alive]\nhttp = "{url}"\ninterval = 0.2\nfailures = 2\n'
    )
    async with running_core(short_path, body) as (arbiter, rec):
        await eventually(lambda: rec.of(events.Ready, "web"))
        first = rec.of(events.Ready, "web")[0].pid
        assert arbiter.watchers["web"].ready() == 1
        (short_path / "healthy").unlink()
        unready = await eventually(lambda: rec.of(events.Unready, "web"))
        assert unready[0].pid == first
        assert unready[0].reason == "liveness probe failed 2 times in a row: HTTP 503"
        failed = [e.failures for e in rec.of(events.ProbeFailed, "web") if e.pid == first]
        assert failed[:2] == [1, 2]
        reaped = await eventually(lambda: [e for e in rec.of(events.Reaped) if e.pid == first])
        assert reaped[0].cause == "unready"
        # The replacement comes up on the same port once the old one is gone, and is ready
        # when the server is healthy again.
        (short_path / "healthy").touch()
        await eventually(lambda: [e for e in rec.of(events.Ready, "web") if e.pid != first], 20)
        assert arbiter.watchers["web"].last_exit == unready[0].reason


async def test_exec_probes_name_the_process_they_probe(short_path: Path) -> None:
    # Ready once the process wrote a file named by its own pid; alive while a file named by
    # its worker number exists.
    script = _sleeper(
        short_path, f"pathlib.Path({str(short_path)!r}, f'up.{{os.getpid()}}').touch()"
    )
    body = (
        f'[watchers.w]\ncmd = "{PY} {script}"\nnumprocesses = 2\ngraceful_timeout = 2\n'
        f'[watchers.w.ready]\nexec = "test -e {short_path}/up.$(circus.pid)"\ninterval = 0.1\n'
        f'[watchers.w.alive]\nexec = "test -e {short_path}/alive.$(circus.wid)"\n'
        "interval = 0.2\nfailures = 1\n"
    )
    (short_path / "alive.1").touch()
    (short_path / "alive.2").touch()
    async with running_core(short_path, body) as (arbiter, rec):
        await eventually(lambda: len(rec.of(events.Ready, "w")) == 2)
        (short_path / "alive.2").unlink()
        unready = await eventually(lambda: rec.of(events.Unready, "w"))
        assert unready[0].wid == 2
        assert unready[0].reason == "liveness probe failed 1 times in a row: exit 1"
        assert [e.wid for e in rec.of(events.Unready, "w")] == [2]
        assert arbiter.watchers["w"].ready() >= 1


async def test_not_ready_in_time_is_replaced_and_backs_off(short_path: Path) -> None:
    script = _sleeper(short_path)
    body = (
        f'[watchers.w]\ncmd = "{PY} {script}"\ngraceful_timeout = 1\nmax_retry = 2\n'
        "backoff_min = 0.1\nbackoff_max = 0.2\n"
        f'[watchers.w.ready]\ntcp = "127.0.0.1:{_free_port()}"\ninterval = 0.1\n'
        "start_timeout = 0.5\n"
    )
    async with running_core(short_path, body) as (arbiter, rec):
        unready = await eventually(lambda: rec.of(events.Unready, "w"))
        assert unready[0].reason == "not ready within 0.5 s (last probe: connection refused)"
        reaped = await eventually(lambda: rec.of(events.Reaped, "w"))
        assert reaped[0].cause == "start_timeout"
        # Each replacement is a quick death: after max_retry of them the watcher gives up.
        failed = await eventually(lambda: rec.of(events.Failed, "w"), 20)
        assert "not ready within 0.5 s" in failed[0].reason
        assert arbiter.watchers["w"].ready() == 0


async def test_log_readiness_matches_the_process_own_line(short_path: Path) -> None:
    script = _sleeper(
        short_path, "print('booting', flush=True)\nprint('Listening at x', flush=True)"
    )
    body = (
        f'[watchers.w]\ncmd = "{PY} {script}"\ngraceful_timeout = 1\n'
        '[watchers.w.ready]\nlog = "^Listening at"\n'
    )
    async with running_core(short_path, body) as (arbiter, rec):
        ready = await eventually(lambda: rec.of(events.Ready, "w"))
        assert ready[0].after > 0
        assert arbiter.watchers["w"].ready() == 1


async def test_notify_ready_and_status_from_the_process(short_path: Path) -> None:
    script = _sleeper(
        short_path,
        f"pathlib.Path({str(short_path)!r}, 'env').write_text(os.environ['NOTIFY_SOCKET'])\n"
        "notify('STATUS=loading the model')\n"
        f"while not pathlib.Path({str(short_path)!r}, 'go').exists():\n"
        "    time.sleep(0.02)\n"
        "notify('READY=1\\nSTATUS=serving 4 queues')",
    )
    body = (
        f'[watchers.w]\ncmd = "{PY} {script}"\ngraceful_timeout = 1\n'
        "[watchers.w.ready]\nnotify = true\n"
    )
    async with running_core(short_path, body) as (arbiter, rec):
        texts = await eventually(lambda: rec.of(events.StatusText, "w"))
        assert texts[0].status == "loading the model"
        watcher = arbiter.watchers["w"]
        assert watcher.ready() == 0
        (short_path / "go").touch()
        await eventually(lambda: rec.of(events.Ready, "w"))
        assert [e.status for e in rec.of(events.StatusText, "w")][-1] == "serving 4 queues"
        (proc,) = watcher.processes.values()
        assert proc.health is not None and proc.health.status == "serving 4 queues"
        socket_path = Path((short_path / "env").read_text())
        assert socket_path.parent == arbiter.state_dir
        assert socket_path.stat().st_mode & 0o777 == 0o600


async def test_notify_from_a_process_the_supervised_one_started(short_path: Path) -> None:
    # As gunicorn's master does for the process the daemon started: the sender is a child.
    child = short_path / "child.py"
    child.write_text(f"{NOTIFY}notify('READY=1')\n")
    script = _sleeper(
        short_path,
        f"import subprocess\nsubprocess.run([sys.executable, {str(child)!r}], check=True)",
    )
    body = (
        f'[watchers.w]\ncmd = "{PY} {script}"\ngraceful_timeout = 1\n'
        "[watchers.w.ready]\nnotify = true\n"
    )
    async with running_core(short_path, body) as (arbiter, rec):
        ready = await eventually(lambda: rec.of(events.Ready, "w"))
        assert ready[0].pid in arbiter.watchers["w"].processes


async def test_a_process_that_stops_feeding_the_watchdog_is_replaced(short_path: Path) -> None:
    script = _sleeper(
        short_path,
        f"pathlib.Path({str(short_path)!r}, 'usec').write_text(os.environ['WATCHDOG_USEC'])\n"
        "notify('READY=1')\n"
        f"while pathlib.Path({str(short_path)!r}, 'feed').exists():\n"
        "    notify('WATCHDOG=1')\n"
        "    time.sleep(0.05)",
    )
    (short_path / "feed").touch()
    body = (
        f'[watchers.w]\ncmd = "{PY} {script}"\ngraceful_timeout = 1\n'
        "[watchers.w.ready]\nnotify = true\n[watchers.w.alive]\nwatchdog = 0.5\n"
    )
    async with running_core(short_path, body) as (arbiter, rec):
        ready = await eventually(lambda: rec.of(events.Ready, "w"))
        assert (short_path / "usec").read_text() == "500000"
        # Fed: still the same process well past the watchdog's time.
        procs = arbiter.watchers["w"].processes
        await eventually(lambda: ready[0].pid in procs and procs[ready[0].pid].uptime > 2.0)
        assert not rec.of(events.Unready, "w")
        (short_path / "feed").unlink()
        unready = await eventually(lambda: rec.of(events.Unready, "w"))
        assert unready[0].pid == ready[0].pid
        assert unready[0].reason == "no WATCHDOG=1 for 0.5 s"


async def test_stopping_no_longer_counts_as_ready(short_path: Path) -> None:
    script = _sleeper(
        short_path,
        "notify('READY=1')\n"
        f"while not pathlib.Path({str(short_path)!r}, 'leave').exists():\n"
        "    notify('WATCHDOG=1')\n"
        "    time.sleep(0.02)\n"
        "notify('STOPPING=1')",
    )
    body = (
        f'[watchers.w]\ncmd = "{PY} {script}"\ngraceful_timeout = 1\n'
        "[watchers.w.ready]\nnotify = true\n[watchers.w.alive]\nwatchdog = 0.3\n"
    )
    async with running_core(short_path, body) as (arbiter, rec):
        watcher = arbiter.watchers["w"]
        await eventually(lambda: watcher.ready() == 1)
        (proc,) = watcher.processes.values()
        (short_path / "leave").touch()
        await eventually(lambda: watcher.ready() == 0)
        assert proc.health is not None and proc.health.state == "stopping"
        # No WATCHDOG=1 since, yet not replaced for it: it is on its way out by itself.
        await eventually(lambda: proc.uptime > 1.5)
        assert not rec.of(events.Unready, "w") and proc.alive
