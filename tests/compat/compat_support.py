"""Support for the compatibility suite: one supervisor, driven by Circus 0.19's own tools.

A `Supervisor` is either our daemon (`circus-tui`) or Circus's real `circusd` 0.19 (the
reference), configured with the same watchers and started by the shared tests/support harness.
Tests talk to it with the real `circusctl`, each command in a process of its own (`ctl`; see
`ctl_forkserver.py` for how the import cost is paid once), and check effects through the raw
protocol (`call`, cheap) and through the operating system (`gone`).
"""

from __future__ import annotations

import functools
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support import daemon
from tests.support.configs import Watchers, circus_ini, ipc_endpoints, rewrite_toml, toml_body
from tests.support.procs import all_gone, gone, kill_all
from tests.support.waiting import wait_for as poll

__all__ = ["Watchers", "all_gone", "gone", "poll"]

VENV_BIN = Path(sys.executable).parent
CIRCUSCTL = str(VENV_BIN / "circusctl")
CIRCUS_TOP = str(VENV_BIN / "circus-top")

OURS = "circus-tui"
CIRCUSD_IMPL = "circusd"

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


@dataclass(kw_only=True)
class Supervisor(daemon.Supervisor):
    """Our daemon or circusd, as the compatibility suite drives it: `label` is the impl."""

    runner: CtlRunner | None = None
    # Replaces the watchers in the configuration file (for reloadconfig).
    rewrite: Callable[[Watchers], None] | None = None
    _stopped: bool = False

    @property
    def ours(self) -> bool:
        return self.label == OURS

    # -- the raw protocol: cheap, for setting up and checking effects --------------------------

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
        assert result.returncode == 0 and result.stderr == "", f"{self.label}:\n{result}"
        return result.stdout

    def ctl_json(self, *args: str, timeout: int | None = None, ok: bool = True) -> dict[str, Any]:
        """`--json` reply of a command; with `ok`, it must not be an error reply."""
        result = self.ctl(*args, json=True, timeout=timeout)
        assert result.returncode == 0 and result.stderr == "", f"{self.label}:\n{result}"
        reply = result.json
        assert isinstance(reply.get("time"), float), f"{self.label}: no float time in {reply}"
        assert isinstance(reply.get("id"), str) and reply["id"], f"{self.label}: bad id {reply}"
        if ok:
            assert reply.get("status") != "error", f"{self.label}:\n{result}"
        return reply

    # -- the end ------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop the supervisor; kill anything it left behind (cleanup, not a check)."""
        if self._stopped:
            return
        self._stopped = True
        self.snapshot()
        if self.proc.poll() is None:
            if self.ours:
                self.terminate(20.0)
            else:
                # The reference's own shutdown is not under test (test_quit covers quit) and
                # takes most of a second.
                self.proc.kill()
        self.proc.wait()
        self.close()
        kill_all(self.leftovers)


def start_ours(directory: Path, watchers: Watchers, runner: CtlRunner | None = None) -> Supervisor:
    """Run our daemon on the same watchers, on ipc endpoints in `directory` (kept short)."""
    sup = daemon.start_daemon(
        directory, toml_body(watchers), make=Supervisor, label=OURS, runner=runner
    )
    sup.rewrite = functools.partial(rewrite_toml, sup.config)
    return sup


def start_circusd(
    directory: Path, watchers: Watchers, stats: bool = False, runner: CtlRunner | None = None
) -> Supervisor:
    """Run Circus 0.19's real circusd on ipc endpoints in `directory` (kept short)."""

    def rewrite(new: Watchers) -> None:
        (directory / "circus.ini").write_text(circus_ini(ipc_endpoints(directory), new, stats))

    return daemon.start_circusd(
        directory,
        watchers,
        stats,
        make=Supervisor,
        label=CIRCUSD_IMPL,
        runner=runner,
        rewrite=rewrite,
    )


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
