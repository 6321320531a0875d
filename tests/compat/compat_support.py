"""Support for the compatibility suite: one supervisor, driven by Circus 0.19's own tools.

A `Supervisor` is either our daemon (`circus-tui`, started through the shared `daemon_factory`)
or Circus's real `circusd` 0.19 (the reference), configured with the same watchers. Tests talk to
it with the real `circusctl`, each command in a process of its own (`ctl`; see
`ctl_forkserver.py` for how the import cost is paid once), and check effects through the raw
protocol (`call`, cheap) and through the operating system (`gone`).
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import zmq

from tests.conftest import raw_call
from tests.conftest import wait_for as poll

VENV_BIN = Path(sys.executable).parent
CIRCUSCTL = str(VENV_BIN / "circusctl")
CIRCUSD = str(VENV_BIN / "circusd")
CIRCUS_TOP = str(VENV_BIN / "circus-top")

OURS = "circus-tui"
CIRCUSD_IMPL = "circusd"

# name -> {option: value}, with Circus's option names; rendered as TOML (ours) or ini (circusd).
Watchers = dict[str, dict[str, Any]]

# Every key Circus 0.19 puts in a process `info` (stats command, stats stream).
PROCESS_INFO_KEYS = frozenset(
    {
        "pid",
        "cpu",
        "mem",
        "mem_info1",
        "mem_info2",
        "ctime",
        "username",
        "nice",
        "create_time",
        "age",
        "cmdline",
        "children",
    }
)


def gone(pid: int) -> bool:
    """True when `pid` no longer runs (a zombie waiting for a reaper counts as gone)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def all_gone(pids: list[int]) -> bool:
    return all(gone(pid) for pid in pids)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


def toml_body(watchers: Watchers) -> str:
    """The `[watchers.NAME]` tables of our configuration file."""
    out: list[str] = []
    for name, options in watchers.items():
        out.append(f"[watchers.{name}]")
        out.extend(f"{key} = {_toml_value(value)}" for key, value in options.items())
        out.append("")
    return "\n".join(out)


def rewrite_toml(config: Path, watchers: Watchers) -> None:
    """Keep everything before the first watcher table, replace the watchers."""
    text = config.read_text()
    head = text[: text.index("[watchers.")] if "[watchers." in text else text + "\n"
    config.write_text(head + toml_body(watchers))


def _ini_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def circus_ini(endpoints: dict[str, str], watchers: Watchers, stats: bool) -> str:
    """The same watchers as a circus.ini for the reference circusd.

    check_delay is short so that circusd (which only reaps when it polls) keeps the suite fast;
    multicast discovery is off. Setting stats_endpoint makes circusd run circusd-stats, which
    adds a `circusd-stats` watcher, so it is only set when a test needs the stats stream.
    """
    lines = [
        "[circus]",
        f"endpoint = {endpoints['endpoint']}",
        f"pubsub_endpoint = {endpoints['pubsub_endpoint']}",
        "check_delay = 0.5",
        "multicast_endpoint =",
    ]
    if stats:
        lines += [f"stats_endpoint = {endpoints['stats_endpoint']}", "statsd = true"]
    lines.append("")
    for name, options in watchers.items():
        lines.append(f"[watcher:{name}]")
        lines.extend(f"{k} = {_ini_value(v)}" for k, v in options.items() if k != "env")
        lines.append("")
        if options.get("env"):
            lines.append(f"[env:{name}]")
            lines.extend(f"{k} = {v}" for k, v in options["env"].items())
            lines.append("")
    return "\n".join(lines)


class CtlRunner:
    """Runs circusctl commands through `ctl_forkserver.py` (see there), or, with the
    environment variable COMPAT_CTL=exec, by executing `.venv/bin/circusctl` each time."""

    def __init__(self) -> None:
        self.exec = os.environ.get("COMPAT_CTL") == "exec"
        self.dir = Path(f"/tmp/ccf-{os.getpid()}-{os.urandom(3).hex()}")
        self.dir.mkdir()
        self.server: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        if self.server is None or self.server.poll() is not None:
            env = {k: v for k, v in os.environ.items() if k != "CIRCUSCTL_ENDPOINT"}
            self.server = subprocess.Popen(
                [sys.executable, str(Path(__file__).with_name("ctl_forkserver.py"))],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=env,
                start_new_session=True,
            )
        return self.server

    def run(self, argv: list[str], stdin: str, timeout: float) -> tuple[int, str, str]:
        if self.exec:
            env = {k: v for k, v in os.environ.items() if k != "CIRCUSCTL_ENDPOINT"}
            done = subprocess.run(
                [CIRCUSCTL, *argv],
                input=stdin,
                capture_output=True,
                text=True,
                timeout=timeout,
                env=env,
            )
            return done.returncode, done.stdout, done.stderr
        paths = {k: self.dir / k for k in ("stdin", "stdout", "stderr")}
        paths["stdin"].write_text(stdin)
        server = self._start()
        assert server.stdin is not None and server.stdout is not None
        request = {"argv": argv, **{k: str(v) for k, v in paths.items()}}
        server.stdin.write(json.dumps(request) + "\n")
        server.stdin.flush()
        ready, _, _ = select.select([server.stdout], [], [], timeout)
        if not ready:
            self.close()
            raise AssertionError(f"circusctl {' '.join(argv)} still running after {timeout} s")
        returncode = int(json.loads(server.stdout.readline())["returncode"])
        return returncode, paths["stdout"].read_text(), paths["stderr"].read_text()

    def close(self) -> None:
        if self.server is not None and self.server.poll() is None:
            os.killpg(self.server.pid, signal.SIGKILL)
            self.server.wait()
        self.server = None

    def cleanup(self) -> None:
        self.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass
class CtlResult:
    """One run of the real circusctl."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def json(self) -> dict[str, Any]:
        try:
            value = json.loads(self.stdout)
        except ValueError:
            raise AssertionError(f"circusctl printed no JSON:\n{self}") from None
        assert isinstance(value, dict), self
        return value

    def __str__(self) -> str:
        return (
            f"$ {' '.join(self.argv)}\nexit status {self.returncode}\n"
            f"stdout: {self.stdout!r}\nstderr: {self.stderr!r}"
        )


@dataclass
class Supervisor:
    impl: str
    proc: subprocess.Popen[bytes]
    dir: Path
    endpoint: str
    pubsub_endpoint: str
    stats_endpoint: str
    _shutdown: Callable[[], Any]
    runner: CtlRunner | None = None
    # Replaces the watchers in the configuration file (for reloadconfig).
    rewrite: Callable[[Watchers], None] | None = None
    _ctx: zmq.Context[Any] = field(default_factory=zmq.Context)
    _stopped: bool = False

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def ours(self) -> bool:
        return self.impl == OURS

    # -- the raw protocol: cheap, for setting up and checking effects --------------------------

    def call(self, command: str, timeout: float = 10.0, **props: Any) -> dict[str, Any]:
        """One request on a fresh DEALER, as circusctl sends it."""
        return raw_call(self._ctx, self.endpoint, command, timeout, self.impl, **props)

    def try_call(self, command: str, **props: Any) -> dict[str, Any] | None:
        """`call` with a short timeout, None when the daemon does not answer (restarting)."""
        try:
            return self.call(command, timeout=1.0, **props)
        except AssertionError:
            return None

    def pids(self, name: str) -> list[int]:
        reply = self.call("list", name=name)
        assert reply["status"] == "ok", reply
        return sorted(int(p) for p in reply["pids"])

    def wait_pids(
        self,
        name: str,
        count: int,
        timeout: float = 15.0,
        unlike: list[int] | None = None,
    ) -> list[int]:
        """Wait until `name` runs `count` processes, none of them in `unlike`."""

        def ready() -> list[int] | None:
            reply = self.try_call("list", name=name)
            if not reply or reply.get("status") != "ok":
                return None
            pids = sorted(int(p) for p in reply["pids"])
            if len(pids) != count or set(pids) & set(unlike or ()):
                return None
            return pids if all(not gone(p) for p in pids) else None

        return poll(ready, timeout)

    def status(self, name: str) -> str:
        return str(self.call("status", name=name)["status"])

    def wait_status(self, name: str, status: str, timeout: float = 15.0) -> None:
        def reached() -> bool:
            reply = self.try_call("status", name=name)
            return reply is not None and reply.get("status") == status

        poll(reached, timeout)

    # -- the real circusctl -------------------------------------------------------------------

    def ctl(
        self, *args: str, json: bool = False, timeout: int | None = None, stdin: str = ""
    ) -> CtlResult:
        """Run `circusctl --endpoint E [--json] [--timeout N] args...`."""
        argv = ["--endpoint", self.endpoint]
        if json:
            argv.append("--json")
        if timeout is not None:
            argv += ["--timeout", str(timeout)]
        argv += list(args)
        runner = self.runner or CtlRunner()
        deadline = time.monotonic() + 15
        try:
            while True:
                code, out, err = runner.run(argv, stdin, (timeout or 5) + 20)
                # Circus's global command lock (a known fault, see PROTOCOL.md) refuses a
                # command while a non-waiting one still runs. Only the reference gets retried.
                locked = "arbiter is already running" in out + err
                if self.ours or not locked or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
        finally:
            if runner is not self.runner:
                runner.cleanup()
        return CtlResult(["circusctl", *argv], code, out, err)

    def ctl_ok(self, *args: str, timeout: int | None = None) -> str:
        """Human output of a command that must succeed: exit 0, nothing on stderr."""
        result = self.ctl(*args, timeout=timeout)
        assert result.returncode == 0 and result.stderr == "", f"{self.impl}:\n{result}"
        return result.stdout

    def ctl_json(self, *args: str, timeout: int | None = None, ok: bool = True) -> dict[str, Any]:
        """`--json` reply of a command; with `ok`, it must not be an error reply."""
        result = self.ctl(*args, json=True, timeout=timeout)
        assert result.returncode == 0 and result.stderr == "", f"{self.impl}:\n{result}"
        reply = result.json
        assert isinstance(reply.get("time"), float), f"{self.impl}: no float time in {reply}"
        assert isinstance(reply.get("id"), str) and reply["id"], f"{self.impl}: bad id {reply}"
        if ok:
            assert reply.get("status") != "error", f"{self.impl}:\n{result}"
        return reply

    # -- the end ------------------------------------------------------------------------------

    def descendants(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> None:
        """Stop the daemon; kill anything it left behind (cleanup, not a check)."""
        if self._stopped:
            return
        self._stopped = True
        left = self.descendants()
        self._shutdown()
        self._ctx.destroy(linger=0)
        for child in left:
            try:
                if child.is_running() and child.status() != psutil.STATUS_ZOMBIE:
                    child.kill()
            except psutil.NoSuchProcess:
                pass


def start_circusd(
    directory: Path, watchers: Watchers, stats: bool = False, runner: CtlRunner | None = None
) -> Supervisor:
    """Run Circus 0.19's real circusd on ipc endpoints in `directory` (kept short)."""
    directory.mkdir(parents=True, exist_ok=True)
    endpoints = {
        "endpoint": f"ipc://{directory}/control.sock",
        "pubsub_endpoint": f"ipc://{directory}/events.sock",
        "stats_endpoint": f"ipc://{directory}/stats.sock",
    }
    ini = directory / "circus.ini"
    ini.write_text(circus_ini(endpoints, watchers, stats))
    log = open(directory / "circusd.log", "wb")  # noqa: SIM115 - lives as long as circusd
    proc = subprocess.Popen(
        [CIRCUSD, str(ini)], stdout=log, stderr=subprocess.STDOUT, cwd=directory
    )

    def shutdown() -> None:
        # The reference's own shutdown is not under test (test_quit covers quit) and takes
        # most of a second: kill it; Supervisor.stop then kills what it left.
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        log.close()

    def rewrite(new: Watchers) -> None:
        ini.write_text(circus_ini(endpoints, new, stats))

    sup = Supervisor(
        CIRCUSD_IMPL,
        proc,
        directory,
        _shutdown=shutdown,
        runner=runner,
        rewrite=rewrite,
        **endpoints,
    )

    def answering() -> bool:
        if proc.poll() is not None:
            raise AssertionError(
                f"circusd exited with {proc.returncode}: {(directory / 'circusd.log').read_text()}"
            )
        reply = sup.try_call("numwatchers")
        return reply is not None and reply["status"] == "ok"

    try:
        poll(answering, timeout=20.0)
    except BaseException:
        sup.stop()
        raise
    return sup


# -- what circusctl prints and reads ----------------------------------------------------------

MEM_HUMAN = r"\d+(?:\.\d+)?[BKMGTPEZY]"
CTIME = r"\d+:\d+(?:\.\d+)?"
# circus/commands/stats.py _INFOLINE:
# "%(pid)s  %(cmdline)s %(username)s %(nice)s %(mem_info1)s %(mem_info2)s %(cpu)s %(mem)s %(ctime)s"
INFOLINE = (
    r"(?P<pid>\d+)  (?P<cmdline>.+) (?P<username>\S+) (?P<nice>-?\d+) "
    rf"(?P<mem_info1>{MEM_HUMAN}) (?P<mem_info2>{MEM_HUMAN}) (?P<cpu>\d+(?:\.\d+)?) "
    rf"(?P<mem>\d+(?:\.\d+)?) (?P<ctime>{CTIME})"
)
CHILD_INFO_KEYS = frozenset(
    {"pid", "cmdline", "username", "nice", "mem_info1", "mem_info2", "cpu", "mem", "ctime"}
)


def key_values(text: str) -> dict[str, str]:
    """`key: value` lines (options, get, globaloptions) as a dict, in order."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(": ")
        if not sep and line.endswith(":"):
            key, value = line[:-1], ""
        out[key] = value
    return out


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def process_info_problems(info: Any, pid: int) -> list[str]:
    """What, in one process `info` of the stats command, a Circus tool would trip over."""
    if not isinstance(info, dict):
        return [f"info for {pid} is not an object: {info!r}"]
    problems = [f"missing {key!r}" for key in sorted(PROCESS_INFO_KEYS - info.keys())]
    if info.get("pid") != pid:
        problems.append(f"pid {info.get('pid')!r} != {pid}")
    for key in ("cpu", "mem", "create_time", "age"):
        if key in info and not _number(info[key]):
            problems.append(f"{key} is not a number: {info[key]!r}")
    for key in ("mem_info1", "mem_info2"):
        if key in info and not re.fullmatch(MEM_HUMAN, str(info[key])):
            problems.append(f"{key} is not like '1.45M': {info[key]!r}")
    if "ctime" in info and not re.fullmatch(CTIME, str(info["ctime"])):
        problems.append(f"ctime is not like '0:00.36': {info['ctime']!r}")
    if "nice" in info and not isinstance(info["nice"], int):
        problems.append(f"nice is not an integer: {info['nice']!r}")
    if "children" in info:
        if not isinstance(info["children"], list):
            problems.append(f"children is not a list: {info['children']!r}")
        else:
            for child in info["children"]:
                if not isinstance(child, dict) or CHILD_INFO_KEYS - child.keys():
                    problems.append(f"child lacks what the stats line prints: {child!r}")
    return [f"{pid}: {p}" for p in problems]


# The `supervise` fixture: `supervise(watchers, stats=False) -> Supervisor`.
Supervise = Callable[..., Supervisor]
