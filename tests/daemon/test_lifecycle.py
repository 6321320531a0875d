"""Process lifecycle against a real daemon: respawn, backoff, stop of whole trees, crashes."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.conftest import Subscriber, wait_for, write_config
from tests.support.procs import alive

PY = sys.executable


def test_kill_9_is_replaced_at_once_and_reported(daemon_factory: Any) -> None:
    d = daemon_factory('[watchers.sl]\ncmd = "sleep 1000"\nnumprocesses = 2\n')
    events = Subscriber(d.pubsub_endpoint, b"watcher.")
    try:
        before = d.wait_pids("sl", 2)
        victim = before[0]
        os.kill(victim, signal.SIGKILL)
        reap = events.wait("watcher.sl.reap", lambda b: b["process_pid"] == victim)
        assert reap["exit_code"] == -signal.SIGKILL
        spawn = events.wait("watcher.sl.spawn", lambda b: b["process_pid"] not in before)
        assert spawn["time"] - reap["time"] < 0.5
        after = d.wait_pids("sl", 2)
        assert victim not in after and before[1] in after
    finally:
        events.close()


def test_quick_deaths_back_off_then_park_in_failed(daemon_factory: Any) -> None:
    d = daemon_factory(
        "[watchers.crash]\n"
        "cmd = \"sh -c 'exit 3'\"\n"
        "backoff_min = 0.2\nbackoff_max = 0.4\nmax_retry = 3\nstable_after = 5\n"
    )

    def failed() -> dict[str, Any] | None:
        reply = d.call("status", name="crash")
        return reply if reply["status"] == "failed" else None

    reply = wait_for(failed, timeout=15)
    details = reply["details"]
    assert "exited with code 3" in details["last_exit"]
    assert "quick restarts" in details["reason"]
    assert details["running"] == 0, reply
    # Parked means parked: no attempt is scheduled, and nothing runs.
    assert details["retry_at"] is None
    assert d.pids("crash") == []
    # An operator's start clears the failure and tries again.
    restarts = details["restarts"]
    assert d.call("start", name="crash", waiting=True)["status"] == "ok"
    wait_for(lambda: d.call("status", name="crash")["details"]["restarts"] > restarts)


def test_zero_stable_after_and_backoff_still_back_off(daemon_factory: Any) -> None:
    # With these, a program that exits at once was respawned 12,888 times in 20 s. (A failing
    # one: an exit with a success code never counts as a failure, see test_exit_policies.)
    d = daemon_factory(
        '[watchers.spin]\ncmd = "false"\nautostart = false\n'
        "stable_after = 0\nbackoff_min = 0\nbackoff_max = 0\nmax_retry = -1\n"
    )
    events = Subscriber(d.pubsub_endpoint, b"watcher.spin.")
    try:
        d.call("start", name="spin")
        backoff = events.wait("watcher.spin.backoff")
        assert backoff["delay"] >= 0.1 and backoff["failures"] >= 2
        spawns: list[float] = []
        while len(spawns) < 6:
            spawns.append(
                events.wait("watcher.spin.spawn", lambda b: b["time"] > max(spawns, default=0))[
                    "time"
                ]
            )
        # One immediate restart, then 0.1 s at least between spawns (four of them here, less a
        # margin for two clocks read at different moments).
        assert spawns[-1] - spawns[0] >= 0.35, spawns
    finally:
        events.close()


def test_backoff_is_visible_with_next_attempt(daemon_factory: Any) -> None:
    d = daemon_factory(
        "[watchers.crash]\n"
        "cmd = \"sh -c 'exit 1'\"\n"
        "backoff_min = 3\nbackoff_max = 6\nmax_retry = -1\n"
    )

    def backing_off() -> dict[str, Any] | None:
        details = d.call("status", name="crash")["details"]
        return details if details["retry_at"] else None

    details = wait_for(backing_off, timeout=10)
    assert details["retry_at"] > time.time()
    assert details["retry_at"] - time.time() <= 6
    out = d.ctl("status", "crash").stdout
    assert "next attempt in" in out and "exited with code 1" in out


def test_program_that_cannot_start_is_reported_not_retried(daemon_factory: Any) -> None:
    d = daemon_factory('[watchers.ghost]\ncmd = "/nonexistent/program --flag"\n')
    reply = d.call("status", name="ghost")
    assert reply["status"] == "failed"
    assert "No such file or directory" in reply["details"]["reason"]
    assert reply["details"]["restarts"] == 0


def test_stop_reaches_setsid_and_double_forked_grandchildren(
    daemon_factory: Any, tmp_path: Path
) -> None:
    pidfile = tmp_path / "pids"
    script = tmp_path / "tree.py"
    # Each pid file appears whole (written aside, then renamed): the test reads it as soon
    # as it exists.
    script.write_text(
        "import os, subprocess, sys, time\n"
        "def publish(path, text):\n"
        "    with open(path + '.tmp', 'w') as f:\n"
        "        f.write(text)\n"
        "    os.rename(path + '.tmp', path)\n"
        "pids = []\n"
        "p = subprocess.Popen(['sleep', '1000'], start_new_session=True)\n"
        "pids.append(p.pid)\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        __import__('signal').signal(15, 1)\n"
        f"        publish({str(pidfile)!r} + '.dbl', str(os.getpid()))\n"
        "        time.sleep(1000)\n"
        "    os._exit(0)\n"
        f"publish({str(pidfile)!r}, ' '.join(map(str, pids)))\n"
        "time.sleep(1000)\n"
    )
    d = daemon_factory(f'[watchers.tree]\ncmd = "{PY} {script}"\ngraceful_timeout = 1\n')
    wait_for(lambda: pidfile.exists() and Path(str(pidfile) + ".dbl").exists())
    setsid_child = int(pidfile.read_text())
    double_forked = int(Path(str(pidfile) + ".dbl").read_text())
    main = d.wait_pids("tree", 1)[0]
    assert alive(setsid_child) and alive(double_forked)
    assert d.call("stop", name="tree", waiting=True)["status"] == "ok"
    for pid in (main, setsid_child, double_forked):
        wait_for(lambda pid=pid: not alive(pid), timeout=5)


def test_sigterm_ignoring_child_is_killed_after_graceful_timeout(daemon_factory: Any) -> None:
    d = daemon_factory(
        "[watchers.stubborn]\n"
        f"cmd = \"{PY} -c 'import signal,time; signal.signal(15, signal.SIG_IGN); "
        "print(1, flush=True); time.sleep(1000)'\"\n"
        "graceful_timeout = 1\n"
    )
    pid = d.wait_pids("stubborn", 1)[0]
    wait_for(lambda: d.call("tail", name="stubborn")["lines"])  # handler is installed
    started = time.monotonic()
    d.call("stop", name="stubborn", waiting=True)
    took = time.monotonic() - started
    assert not alive(pid)
    assert 0.9 <= took < 5


def test_manual_stop_is_never_undone_by_the_policy(daemon_factory: Any) -> None:
    d = daemon_factory('[watchers.sl]\ncmd = "sleep 1000"\n')
    d.wait_pids("sl", 1)
    d.call("stop", name="sl", waiting=True)
    # The stop has reaped its process by now: had the policy reacted to that exit, an
    # attempt would be running or scheduled. Neither, and nothing runs.
    reply = d.call("status", name="sl")
    assert reply["status"] == "stopped"
    assert reply["details"]["retry_at"] is None
    assert d.pids("sl") == []


def test_daemon_killed_with_sigkill_takes_its_programs_along(daemon_factory: Any) -> None:
    d = daemon_factory(
        '[watchers.sl]\ncmd = "sleep 1000"\nnumprocesses = 3\n'
        "[watchers.sh]\n"
        "cmd = \"sh -c 'sleep 1000 & sleep 1000'\"\n"
    )
    pids = d.wait_pids("sl", 3) + d.wait_pids("sh", 1)
    sh = psutil.Process(d.pids("sh")[0])
    grandchildren = [c.pid for c in sh.children(recursive=True)]
    wait_for(lambda: psutil.Process(d.pids("sh")[0]).children())
    grandchildren = [c.pid for c in psutil.Process(d.pids("sh")[0]).children(recursive=True)]
    assert grandchildren
    d.proc.kill()
    d.proc.wait()
    killed_at = time.monotonic()
    for pid in pids + grandchildren:
        wait_for(lambda pid=pid: not alive(pid), timeout=2.0)
    assert time.monotonic() - killed_at < 2.0


def test_commands_on_two_watchers_never_wait_for_each_other(daemon_factory: Any) -> None:
    d = daemon_factory(
        "[watchers.slow]\n"
        f"cmd = \"{PY} -c 'import signal,time; signal.signal(15, signal.SIG_IGN); "
        "print(1, flush=True); time.sleep(1000)'\"\n"
        "graceful_timeout = 3\n"
        '[watchers.fast]\ncmd = "sleep 1000"\nautostart = false\n'
    )
    d.wait_pids("slow", 1)
    wait_for(lambda: d.call("tail", name="slow")["lines"])
    assert d.call("stop", name="slow")["status"] == "ok"  # not waiting: carries on for 3 s
    started = time.monotonic()
    reply = d.call("start", name="fast", waiting=True)
    assert reply["status"] == "ok", reply
    reply = d.call("incr", name="fast", waiting=True)
    assert reply["numprocesses"] == 2
    assert time.monotonic() - started < 2.0
    assert d.call("status", name="slow")["status"] == "stopping"


def test_decr_reports_reap(daemon_factory: Any) -> None:
    d = daemon_factory('[watchers.sl]\ncmd = "sleep 1000"\nnumprocesses = 3\n')
    events = Subscriber(d.pubsub_endpoint, b"watcher.")
    try:
        pids = d.wait_pids("sl", 3)
        assert d.call("decr", name="sl", nb=2, waiting=True)["numprocesses"] == 1
        left = d.pids("sl")
        assert len(left) == 1
        for pid in set(pids) - set(left):
            events.wait("watcher.sl.reap", lambda b, pid=pid: b["process_pid"] == pid)
    finally:
        events.close()


def test_sighup_restarts_only_changed_watchers(daemon_factory: Any) -> None:
    d = daemon_factory(
        '[watchers.a]\ncmd = "sleep 1000"\n[watchers.b]\ncmd = "sleep 1001"\nnumprocesses = 1\n'
    )
    a, b = d.wait_pids("a", 1), d.wait_pids("b", 1)
    text = d.config.read_text().replace('"sleep 1001"', '"sleep 1002"')
    text = text.replace("numprocesses = 1", "numprocesses = 2")
    d.config.write_text(text + '[watchers.c]\ncmd = "sleep 1003"\n')
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: len(d.pids("b")) == 2 and not set(b) & set(d.pids("b")))
    assert d.pids("a") == a
    d.wait_pids("c", 1)


def test_scaling_and_save_round_trip(daemon_factory: Any) -> None:
    d = daemon_factory('# my programs\n[watchers.sl]\ncmd = "sleep 1000"  # keep this\n')
    d.call("incr", name="sl", nb=2, waiting=True)
    d.call("add", name="extra", cmd="sleep 999", start=True, waiting=True)
    assert d.call("save")["status"] == "ok"
    text = d.config.read_text()
    assert "# my programs" in text and "# keep this" in text
    assert "numprocesses = 3" in text and "[watchers.extra]" in text


def test_bad_config_exits_2_and_starts_nothing(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[watchers.web]\ncmd = "sleep 1000"\nnumprocess = 2\n')
    proc = subprocess.run(
        [PY, "-m", "tui.cli", "daemon", str(config)], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 2
    assert "bad.toml:3" in proc.stderr and "numprocesses" in proc.stderr
    assert not any(
        "sleep" in p.name() and p.ppid() == os.getpid() for p in psutil.process_iter(["name"])
    )


def test_non_loopback_tcp_endpoint_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "tcp.toml"
    config.write_text('[circus]\nendpoint = "tcp://0.0.0.0:5555"\n')
    proc = subprocess.run(
        [PY, "-m", "tui.cli", "daemon", str(config)], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 2
    assert "loopback" in proc.stderr


def _daemon_with_defaults(tmp_path: Path, runtime: Path) -> subprocess.Popen[bytes]:
    config = tmp_path / "p.toml"
    config.write_text(
        f'[circus]\nstate_dir = "{tmp_path}/state"\n[watchers.sl]\ncmd = "sleep 1000"\n'
    )
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
    return subprocess.Popen(
        [PY, "-m", "tui.cli", "daemon", str(config)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_default_endpoints_are_private_ipc_sockets(tmp_path: Path) -> None:
    runtime = Path(f"/tmp/ct-rt-{os.getpid()}-{os.urandom(2).hex()}")
    runtime.mkdir(mode=0o700)
    proc = _daemon_with_defaults(tmp_path, runtime)
    try:
        base = runtime / "circus-tui"
        socks = [base / n for n in ("control.sock", "events.sock", "stats.sock")]
        wait_for(lambda: all(p.exists() for p in socks), timeout=20)
        assert oct(base.stat().st_mode & 0o777) == "0o700"
        for path in socks:
            assert oct(path.stat().st_mode & 0o777) == "0o600"
        ctl = subprocess.run(
            [PY, "-m", "tui.cli", "ctl", "list"],
            env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)},
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert ctl.stdout.strip() == "sl"
    finally:
        proc.terminate()
        proc.wait(20)
        subprocess.run(["rm", "-rf", str(runtime)], check=False)
    assert not any(p.exists() for p in socks)


@pytest.mark.parametrize("problem", ["foreign owner", "open mode"])
def test_unsafe_runtime_directory_is_refused(tmp_path: Path, problem: str) -> None:
    runtime = Path(f"/tmp/ct-rt-{os.getpid()}-{os.urandom(2).hex()}")
    base = runtime / "circus-tui"
    base.mkdir(parents=True)
    if problem == "foreign owner":
        if os.getuid() != 0:
            pytest.skip("needs root to give the directory away")
        os.chown(base, 65534, 65534)
        base.chmod(0o700)
    else:
        base.chmod(0o755)
    try:
        proc = _daemon_with_defaults(tmp_path, runtime)
        _out, err = proc.communicate(timeout=30)
        assert proc.returncode == 1
        assert str(base) in err.decode()
        assert list(base.iterdir()) == []
    finally:
        subprocess.run(["rm", "-rf", str(runtime)], check=False)


def test_daemonize_reports_failure_and_success(tmp_path: Path) -> None:
    config, _ = write_config(tmp_path, '[watchers.sl]\ncmd = "sleep 1000"\n')
    pidfile = tmp_path / "d.pid"
    first = subprocess.run(
        [PY, "-m", "tui.cli", "daemon", str(config), "--daemonize", "--pidfile", str(pidfile)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert first.returncode == 0, first.stderr
    pid = int(wait_for(lambda: pidfile.exists() and pidfile.read_text().strip()))
    try:
        # The same state directory is busy now: the second one must say so and fail.
        second = subprocess.run(
            [PY, "-m", "tui.cli", "daemon", str(config), "--daemonize"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert second.returncode == 1
        assert f"another daemon (pid {pid})" in second.stderr
    finally:
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not alive(pid), timeout=20)
    assert not pidfile.exists()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_sigint_stop_everything(daemon_factory: Any, sig: int) -> None:
    d = daemon_factory('[watchers.sl]\ncmd = "sleep 1000"\nnumprocesses = 2\n')
    pids = d.wait_pids("sl", 2)
    d.proc.send_signal(sig)
    assert d.proc.wait(10) == 0
    for pid in pids:
        assert not alive(pid)


def test_max_age_replaces_processes_without_counting_failures(daemon_factory: Any) -> None:
    d = daemon_factory('[watchers.aging]\ncmd = "sleep 1000"\nmax_age = 1\nmax_age_variance = 0\n')
    first = d.wait_pids("aging", 1)[0]
    wait_for(lambda: d.pids("aging") and d.pids("aging")[0] != first, timeout=10)
    details = d.call("status", name="aging")["details"]
    assert details["failures"] == 0 and details["state"] == "active"


def test_kill_command_ends_one_process_and_it_is_replaced(daemon_factory: Any) -> None:
    d = daemon_factory('[watchers.sl]\ncmd = "sleep 1000"\nnumprocesses = 2\n')
    pids = d.wait_pids("sl", 2)
    assert d.call("kill", name="sl", pid=pids[0], signum="KILL", waiting=True)["status"] == "ok"
    after = d.wait_pids("sl", 2)
    assert pids[0] not in after and pids[1] in after
    assert not alive(pids[0])


def test_warmup_delay_spaces_out_spawns(daemon_factory: Any) -> None:
    d = daemon_factory(
        '[watchers.warm]\ncmd = "sleep 1000"\nnumprocesses = 3\nwarmup_delay = 0.3\n'
    )
    pids = d.wait_pids("warm", 3)
    starts = sorted(psutil.Process(p).create_time() for p in pids)
    assert starts[2] - starts[0] >= 0.5


def test_instant_exits_never_spawn_twice(daemon_factory: Any) -> None:
    d = daemon_factory(
        '[watchers.quick]\ncmd = "false"\nbackoff_min = 0.3\nbackoff_max = 0.3\nmax_retry = 4\n'
    )
    events = Subscriber(d.pubsub_endpoint, b"watcher.")
    try:
        wait_for(lambda: d.call("status", name="quick")["status"] == "failed", timeout=15)
        # Restart it by hand and count: one spawn per attempt, never two at once.
        t0 = time.time()
        d.call("start", name="quick", waiting=True)
        events.wait("watcher.quick.failed", lambda b: b["time"] > t0)
        spawns = [b for t, b in events.seen if t == "watcher.quick.spawn" and b["time"] > t0]
        assert len(spawns) == 5, spawns  # the first try and four retries
        times = sorted(b["time"] for b in spawns)
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert all(g >= 0.1 for g in gaps[1:]), gaps  # retries after the first wait
    finally:
        events.close()


def test_concurrent_increments_all_count(daemon_factory: Any) -> None:
    d = daemon_factory('[watchers.sl]\ncmd = "sleep 1000"\ngraceful_timeout = 1\n')
    d.wait_pids("sl", 1)
    d.call("reload", name="sl")  # holds the watcher's lock for a moment
    d.call("incr", name="sl")
    d.call("incr", name="sl")
    wait_for(lambda: d.call("numprocesses", name="sl")["numprocesses"] == 3)
    d.wait_pids("sl", 3)


def test_rm_nostop_leaves_processes_running_unsupervised(daemon_factory: Any) -> None:
    d = daemon_factory('[watchers.sl]\ncmd = "sleep 1000"\nnumprocesses = 2\n')
    pids = d.wait_pids("sl", 2)
    assert d.call("rm", name="sl", nostop=True, waiting=True)["status"] == "ok"
    assert d.call("list")["watchers"] == []
    assert all(alive(p) for p in pids)
    os.kill(pids[0], signal.SIGKILL)
    wait_for(lambda: not alive(pids[0]))
    # Nobody respawns it: the watcher is gone.
    assert not [p for p in psutil.Process(d.proc.pid).children() if p.name() == "sleep"][1:]
    os.kill(pids[1], signal.SIGKILL)


def test_add_refuses_bad_names(daemon_factory: Any) -> None:
    d = daemon_factory('[watchers.sl]\ncmd = "sleep 1000"\n')
    for name in ("a.b", "../etc", "circus", "", "has space"):
        reply = d.call("add", name=name, cmd="sleep 1")
        assert reply["status"] == "error" and reply["errno"] == 3, (name, reply)


# A program that daemonises as many do: it double-forks a `setsid` grandchild and exits. Each
# grandchild appends its pid to a file (one line each, in one write).
DAEMONISER = """
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        os.write(fd, b"%d\\n" % os.getpid())
        os.close(fd)
        time.sleep(1000)
    os._exit(0)
time.sleep(float(sys.argv[2]))
"""


def _escaped(pidfile: Path) -> list[int]:
    return [int(p) for p in pidfile.read_text().split()] if pidfile.exists() else []


def test_grandchildren_of_an_exited_process_are_ended_with_it(
    daemon_factory: Any, tmp_path: Path
) -> None:
    script, pidfile = tmp_path / "daemoniser.py", tmp_path / "escaped"
    script.write_text(DAEMONISER)
    d = daemon_factory(
        f'[watchers.esc]\ncmd = "{PY} {script} {pidfile} 0.3"\ngraceful_timeout = 2\n'
    )
    events = Subscriber(d.pubsub_endpoint, b"watcher.esc.reap")
    try:
        # Three rounds: each process leaves a grandchild behind and exits.
        wait_for(lambda: len(_escaped(pidfile)) >= 3, timeout=30)
        first = _escaped(pidfile)[0]
        # The process that left it is gone: so is what it left.
        wait_for(lambda: not alive(first), timeout=10)
        assert sum(1 for pid in _escaped(pidfile) if alive(pid)) <= 2
    finally:
        events.close()
    assert d.call("stop", name="esc", waiting=True)["status"] == "ok"
    # Nothing of the watcher outlives its stop, whichever process left it.
    wait_for(lambda: not any(alive(pid) for pid in _escaped(pidfile)), timeout=10)


def test_grandchildren_left_by_a_live_process_go_with_the_watcher(
    daemon_factory: Any, tmp_path: Path
) -> None:
    script, pidfile = tmp_path / "daemoniser.py", tmp_path / "escaped"
    script.write_text(DAEMONISER)
    d = daemon_factory(f'[watchers.esc]\ncmd = "{PY} {script} {pidfile} 1000"\n')
    wait_for(lambda: _escaped(pidfile), timeout=20)
    [grandchild] = _escaped(pidfile)
    assert alive(grandchild)
    d.proc.send_signal(signal.SIGTERM)
    assert d.proc.wait(20) == 0
    wait_for(lambda: not alive(grandchild), timeout=5)


@pytest.mark.parametrize(
    ("key", "value"), [("uid", "99999999999999999999"), ("stdout_file", "a\u0000b")]
)
def test_set_of_a_value_that_would_break_the_watcher_is_refused(
    daemon_factory: Any, key: str, value: str
) -> None:
    d = daemon_factory('[watchers.sl]\ncmd = "sleep 1000"\n')
    before = d.wait_pids("sl", 1)
    reply = d.call("set", name="sl", options={key: value}, waiting=True)
    assert reply["status"] == "error" and reply["errno"] == 3, reply
    assert key in reply["reason"]
    assert d.pids("sl") == before
    assert d.call("get", name="sl", keys=[key])["options"][key] != value


def test_an_ipv6_loopback_endpoint_binds_and_answers(tmp_path: Path) -> None:
    import socket

    try:
        probe = socket.socket(socket.AF_INET6)
        probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    port = probe.getsockname()[1]
    probe.close()
    url = f"tcp://[::1]:{port}"
    config, _ = write_config(tmp_path, '[watchers.sl]\ncmd = "sleep 1000"\n')
    config.write_text(
        config.read_text().replace(
            f'endpoint = "ipc://{tmp_path}/control.sock"', f'endpoint = "{url}"'
        )
    )
    proc = subprocess.Popen([PY, "-m", "tui.cli", "daemon", str(config)], stderr=subprocess.PIPE)
    try:

        def answers() -> bool:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            run = subprocess.run(
                [PY, "-m", "tui.cli", "ctl", "--endpoint", url, "--timeout", "1", "status"],
                capture_output=True,
                text=True,
            )
            return run.returncode == 0 and run.stdout.startswith("sl: active")

        wait_for(answers, timeout=30)
    finally:
        proc.terminate()
        proc.wait(20)


def test_set_and_add_of_a_log_file_that_cannot_be_written_are_refused(
    daemon_factory: Any, tmp_path: Path
) -> None:
    d = daemon_factory('[watchers.sl]\ncmd = "sleep 1000"\n')
    before = d.wait_pids("sl", 1)
    blocker = tmp_path / "plain"
    blocker.write_text("")  # a file where the log's directory would be
    reply = d.call("set", name="sl", options={"stdout_file": f"{blocker}/sl.log"}, waiting=True)
    assert reply["status"] == "error" and reply["errno"] == 4, reply
    assert f"{blocker}" in reply["reason"]
    assert d.pids("sl") == before
    added = d.call("add", name="other", cmd="sleep 1", options={"stderr_file": f"{blocker}/x"})
    assert added["status"] == "error" and added["errno"] == 4, added
    assert "other" not in d.call("list")["watchers"]


def test_circus_pidfile_and_loglevel_in_the_file(daemon_factory: Any) -> None:
    # Circus's [circus] pidfile (relative to the file) and loglevel.
    d = daemon_factory(
        '[watchers.sl]\ncmd = "sleep 1000"\n',
        circus_extra='pidfile = "d.pid"\nloglevel = "DEBUG"\n',
    )
    pidfile = d.config.parent / "d.pid"
    assert int(wait_for(lambda: pidfile.exists() and pidfile.read_text().strip())) == d.pid
    wait_for(lambda: " DEBUG " in (d.dir / "daemon.log").read_text())
    assert d.stop() == 0
    assert not pidfile.exists()
