"""Signals: programs start with every disposition at its default and nothing blocked, whatever
the daemon inherited; SIGQUIT is a graceful quit, as in circusd."""

from __future__ import annotations

import signal
import sys
from typing import Any

from tests.conftest import Subscriber, wait_for
from tests.support.procs import alive

# How deploy scripts and CI jobs start a daemon: a background job of a non-interactive shell,
# which starts it with SIGINT and SIGQUIT ignored. The shell waits, so that it outlives it.
BACKGROUND_JOB = ["bash", "-c", '"$@" & wait', "bash"]

# A parent that ignores and blocks signals before it execs the daemon (as some CI runners,
# nohup and badly written init scripts do; GNU make ignores glibc's 32 and 33, which only the
# raw system call can set).
HOSTILE_PARENT = [
    sys.executable,
    "-c",
    "import ctypes, os, platform, signal, sys\n"
    "for s in (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP, signal.SIGUSR2, signal.SIGTERM):\n"
    "    signal.signal(s, signal.SIG_IGN)\n"
    "number = {'x86_64': 13, 'aarch64': 134}.get(platform.machine())\n"
    "ignore = ctypes.create_string_buffer(b'\\1', 64)\n"
    "for s in (32, 33):\n"
    "    if number:\n"
    "        ctypes.CDLL(None).syscall(number, s, ignore, None, 8)\n"
    "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1, signal.SIGTERM, signal.SIGCHLD})\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    os.execvp(sys.argv[1], sys.argv[1:])\n"
    "os.waitpid(pid, 0)\n",
]

# `sleep` changes no signal state: what /proc shows of it is what the daemon gave it at exec.
SLEEPER = '[watchers.report]\ncmd = "sleep 300"\n'
CLEAN = {"SigBlk": "0000000000000000", "SigIgn": "0000000000000000"}


def signal_state(d: Any) -> dict[str, str]:
    [pid] = d.wait_pids("report", 1)
    with open(f"/proc/{pid}/status") as fh:
        fields = dict(line.rstrip("\n").split(":\t", 1) for line in fh if ":\t" in line)
    return {key: fields[key] for key in CLEAN}


def test_programs_start_clean_under_a_parent_that_ignores_and_blocks(daemon_factory: Any) -> None:
    d = daemon_factory(SLEEPER, launcher=HOSTILE_PARENT)
    assert signal_state(d) == CLEAN


def test_a_background_job_daemon_stops_quit_signalled_programs_at_once(
    daemon_factory: Any,
) -> None:
    # The grace is long: a program that ignores SIGQUIT would be killed only after it.
    body = (
        SLEEPER + '\n[watchers.q]\ncmd = "sleep 300"\nstop_signal = "QUIT"\ngraceful_timeout = 30\n'
    )
    d = daemon_factory(body, launcher=BACKGROUND_JOB)
    assert signal_state(d) == CLEAN
    events = Subscriber(d.pubsub_endpoint, b"watcher.q.")
    try:
        [pid] = d.wait_pids("q", 1)
        assert d.call("stop", name="q", waiting=True, timeout=60)["status"] == "ok"
        reap = events.wait("watcher.q.reap", lambda b: b["process_pid"] == pid)
        # Ended by the stop signal itself, not by the SIGKILL after graceful_timeout.
        assert reap["exit_code"] == -signal.SIGQUIT
    finally:
        events.close()


def test_sigquit_is_a_graceful_quit(daemon_factory: Any) -> None:
    d = daemon_factory('[watchers.sl]\ncmd = "sleep 1000"\nnumprocesses = 2\n')
    pids = d.wait_pids("sl", 2)
    sockets = [d.dir / f"{name}.sock" for name in ("control", "events", "stats")]
    assert all(path.exists() for path in sockets)
    events = Subscriber(d.pubsub_endpoint, b"watcher.sl.")
    try:
        d.proc.send_signal(signal.SIGQUIT)
        # The programs get their stop signal (SIGTERM here), as on any quit.
        for pid in pids:
            reap = events.wait("watcher.sl.reap", lambda b, pid=pid: b["process_pid"] == pid)
            assert reap["exit_code"] == -signal.SIGTERM
    finally:
        events.close()
    assert d.proc.wait(20) == 0
    assert not any(path.exists() for path in sockets)
    assert not (d.state_dir / "daemon.json").exists()
    assert not any(alive(pid) for pid in pids)
    wait_for(lambda: not alive(d.pid))
