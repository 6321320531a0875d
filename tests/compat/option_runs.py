"""One circus.ini that uses Circus 0.19's documented options, run by circusd and, converted by
`circus-tui convert`, by our daemon; what the programs saw (tests/compat/option_probe.py) and
what happened when they were stopped, reloaded and connected to, collected the same way from
both (see test_options_carried.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from daemon.convert import convert_report
from tests.support.daemon import CIRCUS_TUI, CIRCUSD, Subscriber, Supervisor
from tests.support.waiting import wait_for

HERE = Path(__file__).parent
PY = sys.executable

# @RUN@: the supervisor's directory, @OUT@ where the probes write, @P1@… free ports.
CIRCUS_INI = """\
[circus]
endpoint = ipc://@RUN@/c.sock
pubsub_endpoint = ipc://@RUN@/e.sock
stats_endpoint = ipc://@RUN@/s.sock
check_delay = 0.5
multicast_endpoint =
umask = 027
include = extra.ini
include_dir = conf.d
pidfile = @RUN@/supervisor.pid
loglevel = debug

[env]
GLOBAL_VAR = everywhere

[env:plain,envs]
LISTED = yes

[env:env*]
WILD = yes

[watcher:plain]
cmd = @PY@ @PROBE@ @OUT@ plain
args = wid=$(circus.wid) user=$(CIRCUS.ENV.WHO) lower=$(circus.env.who) old=((circus.wid))
numprocesses = 2

[env:plain]
WHO = alice

[watcher:envs]
cmd = @PY@ @PROBE@ @OUT@ envs
copy_env = true

[env:envs]
PATH = $PATH:/opt/extra
FROM_HOME = $HOME/data
COST = 5$
PROBE_SECRET = pa$word

[watcher:cwd]
cmd = @PY@ @PROBE@ @OUT@ cwd
working_dir = @RUN@/work

[watcher:shell]
cmd = @PY@ @PROBE@ @OUT@ shell "$0" "$1"
shell = true
shell_args = first second

[watcher:limits]
cmd = @PY@ @PROBE@ @OUT@ limits
rlimit_nofile = 1000
rlimit_core =
rlimit_msgqueue = 100000

[watcher:user]
# The test's own Python may be where nobody can run it.
cmd = /usr/bin/python3 @PROBE@ @OUT@ user
uid = nobody
gid = nogroup

[watcher:stdin]
cmd = @PY@ @PROBE@ @OUT@ stdin
close_child_stdin = false

[watcher:inetd]
cmd = @PY@ @PROBE@ @OUT@ inetd
stdin_socket = tcp

[watcher:closed]
cmd = @PY@ @PROBE@ @OUT@ closed say=lost
close_child_stdout = true
close_child_stderr = true

[watcher:bound]
# In cmd: circusd gives an so_reuseport socket's number there, but in args its own unbound one.
cmd = @PY@ @PROBE@ @OUT@ bound $(circus.sockets.reuse)
args = $(circus.sockets.tcp) $(circus.sockets.unix) $(circus.sockets.udp) $(circus.sockets.v6)
use_sockets = true

[socket:tcp]
host = 127.0.0.1
port = @P1@

[socket:unix]
path = @RUN@/app.sock
umask = 000
replace = true

[socket:udp]
host = 127.0.0.1
port = @P2@
type = SOCK_DGRAM

[socket:v6]
family = AF_INET6
host = ::1
port = @P3@
blocking = true

[socket:reuse]
host = 127.0.0.1
port = @P4@
so_reuseport = true

[watcher:file]
cmd = @PY@ @PROBE@ @OUT@ file say=hello
stdout_stream.class = FileStream
stdout_stream.filename = @RUN@/logs/file.log

[watcher:timed]
cmd = @PY@ @PROBE@ @OUT@ timed say=stamped
stdout_stream.class = FileStream
stdout_stream.filename = @RUN@/logs/timed.log
stdout_stream.time_format = %Y-%m

[watcher:rotated]
cmd = @PY@ @PROBE@ @OUT@ rotated big=5000
stdout_stream.class = FileStream
stdout_stream.filename = @RUN@/logs/rotated.log
stdout_stream.max_bytes = 2000
stdout_stream.backup_count = 1

[watcher:watched]
cmd = @PY@ @PROBE@ @OUT@ watched say=watched
stdout_stream.class = WatchedFileStream
stdout_stream.filename = @RUN@/logs/watched.log
stderr_stream.class = WatchedFileStream
stderr_stream.filename = @RUN@/logs/watched.err

[watcher:watchedtime]
cmd = @PY@ @PROBE@ @OUT@ watchedtime say=watched-stamped
stdout_stream.class = WatchedFileStream
stdout_stream.filename = @RUN@/logs/watchedtime.log
stdout_stream.time_format = %Y
stderr_stream.class = WatchedFileStream
stderr_stream.filename = @RUN@/logs/watchedtime.log
stderr_stream.time_format = %Y

[watcher:printed]
cmd = @PY@ @PROBE@ @OUT@ printed say=printed-by-the-daemon
stdout_stream.class = StdoutStream

[watcher:daily]
cmd = @PY@ @PROBE@ @OUT@ daily say=daily
stdout_stream.class = TimedRotatingFileStream
stdout_stream.filename = @RUN@/logs/daily.log
stdout_stream.rotate_when = D
stdout_stream.time_format = %Y

[watcher:stopsig]
cmd = @PY@ @PROBE@ @OUT@ stopsig
stop_signal = QUIT

[watcher:graceful]
cmd = @PY@ @PROBE@ @OUT@ graceful ignore
graceful_timeout = 1

[watcher:children]
cmd = @PY@ @PROBE@ @OUT@ children child linger
stop_children = true

[watcher:hup]
cmd = @PY@ @PROBE@ @OUT@ hup
send_hup = true

[watcher:aged]
cmd = @PY@ @PROBE@ @OUT@ aged
max_age = 2
max_age_variance = 0

[watcher:once]
cmd = @PY@ @PROBE@ @OUT@ once exit=0
respawn = false

[watcher:retry]
cmd = @PY@ @PROBE@ @OUT@ retry exit=1
max_retry = 2

[watcher:single]
cmd = @PY@ @PROBE@ @OUT@ single
singleton = true

[watcher:manual]
cmd = @PY@ @PROBE@ @OUT@ manual
autostart = false

[watcher:first]
cmd = @PY@ @PROBE@ @OUT@ first
priority = 30

[watcher:second]
cmd = @PY@ @PROBE@ @OUT@ second
priority = 20

[watcher:third]
cmd = @PY@ @PROBE@ @OUT@ third
priority = 10

[watcher:warm]
cmd = @PY@ @PROBE@ @OUT@ warm
numprocesses = 2
warmup_delay = 1

[watcher:hooked]
cmd = @PY@ @PROBE@ @OUT@ hooked
hooks.before_start = option_hooks.record
hooks.after_start = option_hooks.record
hooks.before_spawn = option_hooks.record
hooks.after_spawn = option_hooks.record
hooks.before_stop = option_hooks.record
hooks.after_stop = option_hooks.record
hooks.before_signal = option_hooks.record
hooks.after_signal = option_hooks.record
hooks.before_reap = option_hooks.record
hooks.after_reap = option_hooks.record
hooks.extended_stats = option_hooks.stats

[watcher:venv]
cmd = @PY@ @PROBE@ @OUT@ venv
copy_env = true
virtualenv = @RUN@/venv

[watcher:venvver]
cmd = @PY@ @PROBE@ @OUT@ venvver
copy_env = true
virtualenv = @RUN@/venv
virtualenv_py_ver = 3.9

[watcher:copypath]
cmd = @PY@ @PROBE@ @OUT@ copypath
copy_env = true
copy_path = true
"""

# A file of its own: circusd's on_demand starts every stopped watcher whenever any of its
# sockets is readable, which an so_reuseport socket (never bound by circusd itself) always is.
ONDEMAND_INI = """\
[circus]
endpoint = ipc://@RUN@/c2.sock
pubsub_endpoint = ipc://@RUN@/e2.sock
stats_endpoint = ipc://@RUN@/s2.sock
check_delay = 0.5

[watcher:ondemand]
cmd = @PY@ @PROBE@ @OUT@ ondemand $(circus.sockets.od)
use_sockets = true
on_demand = true

[socket:od]
host = 127.0.0.1
port = @P5@
"""

# [circus] warmup_delay (whole seconds in circusd) between two watchers; a file of its own,
# which circusd's on_demand does not get along with either.
WARMUP_INI = """\
[circus]
endpoint = ipc://@RUN@/c3.sock
pubsub_endpoint = ipc://@RUN@/e3.sock
stats_endpoint = ipc://@RUN@/s3.sock
check_delay = 0.5
warmup_delay = 1

[watcher:early]
cmd = @PY@ @PROBE@ @OUT@ early
priority = 2
graceful_timeout = 1

[watcher:late]
cmd = @PY@ @PROBE@ @OUT@ late
priority = 1
graceful_timeout = 1
"""

EXTRA_INI = """\
[watcher:included]
cmd = @PY@ @PROBE@ @OUT@ included
"""

CONF_D_INI = """\
[watcher:fromdir]
cmd = @PY@ @PROBE@ @OUT@ fromdir
"""

# Processes each watcher has once started (autostart = false and on_demand ones: none).
EXPECTED = {
    "plain": 2,
    "envs": 1,
    "cwd": 1,
    "shell": 1,
    "limits": 1,
    "user": 1,
    "stdin": 1,
    "closed": 1,
    "inetd": 1,
    "bound": 1,
    "file": 1,
    "timed": 1,
    "rotated": 1,
    "watched": 1,
    "watchedtime": 1,
    "printed": 1,
    "daily": 1,
    "stopsig": 1,
    "graceful": 1,
    "children": 1,
    "hup": 1,
    "aged": 1,
    "single": 1,
    "first": 1,
    "second": 1,
    "third": 1,
    "warm": 2,
    "hooked": 1,
    "venv": 1,
    "venvver": 1,
    "copypath": 1,
    "included": 1,
    "fromdir": 1,
}

# The environment both supervisors are started with, besides the test run's own.
DAEMON_ENV = {"WHO": "from-the-daemon", "HOME": "/home/probe"}


def free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        # The same numbers are free on ::1 as a rule; the v6 socket binds one of them.
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@dataclass
class Run:
    """What one supervisor did with the file."""

    kind: str  # "circusd" or "ours"
    dir: Path
    ports: list[int]
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reports: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def out(self) -> Path:
        return self.dir / "out"

    def normal(self, value: Any) -> Any:
        """`value` with this run's directory and ports spelled as placeholders, so the runs of
        both supervisors compare."""
        ports = {port: f"@P{number}@" for number, port in enumerate(self.ports, 1)}

        def walk(item: Any) -> Any:
            if isinstance(item, dict):
                return {walk(k): walk(v) for k, v in item.items()}
            if isinstance(item, list | tuple):
                return [walk(v) for v in item]
            if isinstance(item, bool):
                return item
            if isinstance(item, int):
                return ports.get(item, item)
            if isinstance(item, str):
                item = item.replace(str(self.dir), "@RUN@")
                return re.sub(r"\d+", lambda m: ports.get(int(m.group()), m.group()), item)
            return item

        return walk(value)

    def read_reports(self) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        for path in sorted(self.out.glob("*.json")):
            report = json.loads(path.read_text())
            if "label" in report:
                found.setdefault(report["label"], []).append(report)
        for reports in found.values():
            reports.sort(key=lambda r: r["started"])
        return found

    def signals(self, label: str) -> list[str]:
        seen: list[str] = []
        for path in sorted(self.out.glob(f"{label}-*.signals")):
            seen += [line.split()[0] for line in path.read_text().splitlines()]
        return seen


def prepare(kind: str) -> Run:
    directory = Path(f"/tmp/co-{kind[:2]}-{os.getpid()}-{os.urandom(2).hex()}")
    run = Run(kind, directory, free_ports(5))
    directory.mkdir(mode=0o755)
    for sub in ("work", "logs", "conf.d", "venv/lib/python3.11/site-packages"):
        (directory / sub).mkdir(parents=True)
    (directory / "venv/lib/python3.9/site-packages").mkdir(parents=True)
    run.out.mkdir()
    run.out.chmod(0o777)  # the `user` watcher's probe writes there as nobody

    def fill(text: str) -> str:
        text = text.replace("@RUN@", str(directory)).replace("@OUT@", str(run.out))
        text = text.replace("@PY@", PY).replace("@PROBE@", str(directory / "option_probe.py"))
        for number, port in enumerate(run.ports, 1):
            text = text.replace(f"@P{number}@", str(port))
        return text

    # What a killed supervisor leaves behind at a unix socket's path (replace = true).
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(directory / "app.sock"))
    stale.close()
    shutil.copy(HERE / "option_probe.py", directory / "option_probe.py")
    shutil.copy(HERE / "option_hooks.py", directory / "option_hooks.py")
    (directory / "circus.ini").write_text(fill(CIRCUS_INI))
    (directory / "ondemand.ini").write_text(fill(ONDEMAND_INI))
    (directory / "warmup.ini").write_text(fill(WARMUP_INI))
    (directory / "extra.ini").write_text(fill(EXTRA_INI))
    (directory / "conf.d" / "more.ini").write_text(fill(CONF_D_INI))
    return run


# Each file's endpoints: c.sock, c2.sock, …
SUFFIX = {"circus": "", "ondemand": "2", "warmup": "3"}


def start(run: Run, ini: str = "circus") -> Supervisor:
    env = {**os.environ, **DAEMON_ENV, "PYTHONPATH": str(run.dir)}
    log = run.dir / f"{ini}.log"
    if run.kind == "circusd":
        config = run.dir / f"{ini}.ini"
        argv = [CIRCUSD, str(config)]
    else:
        report = convert_report(run.dir / f"{ini}.ini")
        run.warnings += report.warnings
        run.notes += report.notes
        config = run.dir / f"{ini}.toml"
        state = f'state_dir = "{run.dir}/state-{ini}"\n'
        config.write_text(report.text.replace("[circus]\n", f"[circus]\n{state}", 1))
        argv = [*CIRCUS_TUI, "daemon", str(config)]
    with open(log, "wb") as out:
        # stdin is a pipe of the test's: close_child_stdin = false hands it on.
        proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT, cwd=run.dir, env=env
        )
    sup = Supervisor(
        label=run.kind,
        proc=proc,
        dir=run.dir,
        config=config,
        endpoint=f"ipc://{run.dir}/c{SUFFIX[ini]}.sock",
        pubsub_endpoint=f"ipc://{run.dir}/e{SUFFIX[ini]}.sock",
        stats_endpoint=f"ipc://{run.dir}/s.sock",
        pid=proc.pid,
    )
    sup.wait_answering(log, 30)
    return sup


def _ok(sup: Supervisor, command: str, **props: Any) -> dict[str, Any]:
    """The reply to a command that must succeed; circusd refuses commands while it runs
    another ("arbiter is already running …"), so that refusal is retried."""

    def answered() -> dict[str, Any] | None:
        reply = sup.call(command, timeout=30, **props)
        if reply.get("status") == "ok":
            return reply
        if "already running" in str(reply.get("reason")):
            return None
        raise AssertionError(f"{sup.label}: {command} {props}: {reply}")

    result: dict[str, Any] = _settle(answered, 30)
    return result


def _pids(sup: Supervisor, name: str) -> list[int]:
    reply = sup.call("list", name=name)
    return sorted(int(p) for p in reply.get("pids", []))


def _settle(predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
    return wait_for(predicate, timeout, interval=0.1)


def exercise(run: Run) -> Run:
    sup = start(run)
    try:
        _exercise(run, sup)
    finally:
        _quit(sup)
    sup = start(run, "ondemand")
    try:
        # on_demand: nothing until a connection, which is then answered by a new process.
        _settle(lambda: sup.call("status", name="ondemand").get("status") == "stopped")
        run.results["ondemand_before"] = len(run.read_reports().get("ondemand", []))
        with socket.create_connection(("127.0.0.1", run.ports[4]), timeout=10):
            _settle(lambda: run.read_reports().get("ondemand"))
        run.results["ondemand_after"] = len(run.read_reports().get("ondemand", []))
    finally:
        _quit(sup)
    sup = start(run, "warmup")
    try:
        _settle(lambda: all(run.read_reports().get(w) for w in ("early", "late")))
        run.reports = run.read_reports()
        # circusd answers a quit only once its start (with the delay after the last watcher
        # too) is over; a stop it refuses until then.
        _ok(sup, "stop", name="early", waiting=True)
    finally:
        _quit(sup)
    run.results["files"] = {
        p.name: p.read_bytes().decode(errors="replace")
        for p in sorted((run.dir / "logs").glob("*"))
    }
    run.results["supervisor_log"] = (run.dir / "circus.log").read_text(errors="replace")
    hooks = run.dir / "hooks.log"
    run.results["hooks"] = hooks.read_text().splitlines() if hooks.exists() else []
    return run


def _exercise(run: Run, sup: Supervisor) -> None:
    def started() -> bool:
        found = run.read_reports()
        return all(len(found.get(label, [])) >= n for label, n in EXPECTED.items())

    try:
        _settle(started, 40)
    finally:
        run.reports = run.read_reports()
    results = run.results
    results["watchers"] = sorted(sup.call("list")["watchers"])
    results["pidfile"] = (run.dir / "supervisor.pid").read_text().strip() == str(sup.proc.pid)
    results["status"] = {name: sup.call("status", name=name)["status"] for name in ("manual",)}
    results["pids"] = {
        label: sorted(r["pid"] for r in reports) for label, reports in run.reports.items()
    }

    # A signal the stop sends (and the event it publishes), and how long an ignored one
    # waits before the kill.
    events = Subscriber(sup.pubsub_endpoint, b"watcher.stopsig.")
    stats = Subscriber(sup.stats_endpoint)
    try:
        _ok(sup, "stop", name="stopsig", waiting=True)
        results["stopsig"] = _settle(lambda: run.signals("stopsig"))
        results["stop_event"] = bool(events.wait("watcher.stopsig.stop", timeout=10))
        results["stats_stream"] = _settle(lambda: stats.next(0.5) is not None)
    finally:
        events.close()
        stats.close()
    began = time.monotonic()
    _ok(sup, "stop", name="graceful", waiting=True)
    [graceful] = results["pids"]["graceful"]
    _settle(lambda: _gone(graceful))
    results["graceful_seconds"] = time.monotonic() - began
    results["graceful_signals"] = run.signals("graceful")

    # The child of a process stopped with stop_children = true gets the signal too.
    _ok(sup, "stop", name="children", waiting=True)
    results["children_child_signals"] = _settle(lambda: run.signals("children-child"))

    # send_hup: a reload signals the process instead of replacing it.
    [hup] = results["pids"]["hup"]
    _ok(sup, "reload", name="hup", waiting=True)
    results["hup_signals"] = _settle(lambda: run.signals("hup"))
    results["hup_pids_after"] = _pids(sup, "hup") == [hup]

    # singleton: incr leaves one process.
    results["single_incr"] = sup.call("incr", name="single").get("status")
    results["single_after"] = len(_settle(lambda: _pids(sup, "single") or None))

    # Hooks: extended stats, then a stop, after the start they saw.
    _ok(sup, "stats", name="hooked", extended=True)
    _ok(sup, "stop", name="hooked", waiting=True)

    # max_age: the process is replaced after about two seconds.
    # (On a busy machine it may have been replaced already: whichever runs now is.)
    aged = _pids(sup, "aged")
    results["aged_replaced"] = bool(
        _settle(lambda: (p := _pids(sup, "aged")) and p != aged and p, 20)
    )

    # respawn = false and max_retry: how many processes each had, once they settled.
    def settled() -> bool:
        # Given up on, or (circusd) restarted well past max_retry.
        status = sup.call("status", name="retry")["status"]
        return status != "active" or len(run.read_reports().get("retry", [])) >= 6

    _settle(settled, 30)
    final = run.read_reports()
    results["once_count"] = len(final.get("once", []))
    results["retry_count"] = len(final.get("retry", []))
    results["retry_status"] = sup.call("status", name="retry")["status"]


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _quit(sup: Supervisor) -> None:
    try:
        sup.call("quit", timeout=30)
        sup.proc.wait(30)
    except Exception:
        sup.proc.kill()
        sup.proc.wait()
    finally:
        sup.close()
    # What outlived its supervisor (circusd leaves stop_children = false children behind).
    for proc in psutil.process_iter(["cmdline"]):
        if str(sup.dir) in " ".join(proc.info["cmdline"] or []):
            proc.kill()
