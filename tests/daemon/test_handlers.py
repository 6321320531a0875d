"""Every command handler in-process against a small fake core (tests/daemon/fake_core.py, as
Circus tests its commands against a fake arbiter): reply shapes, what the core is asked to do,
and the error replies with Circus's errno. The core's own behaviour is tested elsewhere,
against real processes."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from daemon import commands
from daemon.errors import Refused, SystemRefused
from daemon.protocol import (
    BAD_MSG_DATA_ERROR,
    COMMAND_ERROR,
    MESSAGE_ERROR,
    OS_ERROR,
    UNKNOWN_COMMAND,
    ProtocolError,
)
from daemon.stats import MemberSample, ProcSample
from daemon.trusted import UnsafeDirectoryError
from tests.daemon.fake_core import FakeCore, FakeSocket, FakeWatcher


async def call(core: FakeCore, command: str, **props: Any) -> Any:
    result = await commands.run(core, command, props)  # type: ignore[arg-type]
    await asyncio.gather(*core.tasks)
    return result


async def refused(core: FakeCore, command: str, errno: int, **props: Any) -> str:
    with pytest.raises(ProtocolError) as caught:
        await call(core, command, **props)
    assert caught.value.errno == errno, caught.value.reason
    return caught.value.reason


def web(**options: Any) -> FakeWatcher:
    return FakeWatcher("web", [11, 12], numprocesses=2, **options)


# -- dispatch and the core's refusals ----------------------------------------------------------


async def test_unknown_command_and_case() -> None:
    core = FakeCore(web())
    assert await refused(core, "nosuch", UNKNOWN_COMMAND) == 'unknown command: "nosuch"'
    assert await call(core, "NUMWATCHERS") == {"numwatchers": 1}


async def test_every_named_command_refuses_an_unknown_watcher() -> None:
    core = FakeCore(web())
    for command in ("rm", "incr", "decr", "set", "get", "options", "kill", "tail"):
        reason = await refused(core, command, MESSAGE_ERROR, name="nope", options={"a": 1})
        assert reason in ("program nope not found", "'options' property should be an object")
    assert await refused(core, "list", MESSAGE_ERROR, name="nope") == "program nope not found"
    assert await refused(core, "signal", MESSAGE_ERROR, name="nope", signum=15)


async def test_missing_and_bad_properties() -> None:
    core = FakeCore(web())
    assert "missing property 'name'" in await refused(core, "rm", MESSAGE_ERROR)
    assert "must be a string" in await refused(core, "rm", BAD_MSG_DATA_ERROR, name=3)
    reason = await refused(core, "incr", BAD_MSG_DATA_ERROR, name="web", nb="x")
    assert reason == "property 'nb': expected an integer"
    # The file's words for a switch ("yes", "on") are daemon/checks/'s; others are refused.
    reason = await refused(core, "stop", BAD_MSG_DATA_ERROR, name="web", waiting="maybe")
    assert reason == "property 'waiting': expected true or false"


# -- watchers and processes ------------------------------------------------------------------


async def test_add_checks_the_name_options_and_log_files_first() -> None:
    core = FakeCore(web())
    assert await call(core, "add", name="api", cmd="serve", start=True, waiting=True) is None
    assert ("add", "api", False) in core.calls
    assert core.watchers["api"].calls == [("start",)]
    assert core.watchers["api"].config.cmd == "serve"
    assert "already exists" in await refused(core, "add", COMMAND_ERROR, name="web", cmd="x")
    await refused(core, "add", MESSAGE_ERROR, name="a.b", cmd="x")
    await refused(core, "add", MESSAGE_ERROR, name="b", cmd="x", options=[1])
    await refused(core, "add", MESSAGE_ERROR, name="b")
    core.log_error = UnsafeDirectoryError("output log /x: not ours")
    assert await refused(core, "add", OS_ERROR, name="c", cmd="x") == "output log /x: not ours"
    assert "c" not in core.watchers


async def test_rm_waits_or_not() -> None:
    core = FakeCore(web(), FakeWatcher("api"))
    assert await call(core, "rm", name="WEB", nostop=True, waiting=True) is None
    assert core.calls[-1] == ("rm", "web", True)
    assert await call(core, "rm", name="api") is None  # not waiting: done in the background
    assert core.calls[-1] == ("rm", "api", False) and not core.watchers


async def test_incr_decr_and_their_limits() -> None:
    watcher = web()
    core = FakeCore(watcher, FakeWatcher("one", singleton=True))
    assert await call(core, "incr", name="web", nb=3, waiting=True) == {"numprocesses": 5}
    assert await call(core, "decr", name="web", waiting=True) == {"numprocesses": 4}
    assert await call(core, "incr", name="web") == {}  # as Circus: no count without waiting
    assert watcher.calls == [("scale", None, 3), ("scale", None, -1), ("scale", None, 1)]
    assert await call(core, "incr", name="one") == {"numprocesses": 1, "singleton": True}
    reason = await refused(core, "incr", BAD_MSG_DATA_ERROR, name="web", nb=100_000)
    assert reason == "numprocesses would exceed 100000"
    await refused(core, "decr", BAD_MSG_DATA_ERROR, name="web", nb=-1)


async def test_start_stop_restart_reply_with_pids_for_one_watcher() -> None:
    core = FakeCore(web(), FakeWatcher("api", [21]))
    assert await call(core, "start", name="web", waiting=True) == {
        "info": {"started": [], "kept": [11, 12]}
    }
    assert await call(core, "restart", name="web", waiting=True) == {
        "info": {"started": [111, 112], "kept": [], "stopped": [11, 12]}
    }
    assert await call(core, "stop", name="web", waiting=True) == {"info": None}
    assert await call(core, "stop", waiting=True) == {}  # every watcher: no info
    assert core.watchers["api"].calls == [("stop",)]
    assert await call(core, "start", name="a*") == {}
    assert await refused(core, "start", MESSAGE_ERROR, name="x*") == "program x* not found"
    reason = await refused(core, "start", MESSAGE_ERROR, name="(", match="regex")
    assert reason.startswith("bad regex")
    reason = await refused(core, "start", MESSAGE_ERROR, name="w", match="fuzzy")
    assert reason == "unknown match method fuzzy"
    assert await call(core, "start", name="API", match="simple", waiting=True) == {
        "info": {"started": [], "kept": []}
    }


async def test_reload_and_reloadconfig() -> None:
    watcher, api = web(), FakeWatcher("api")
    core = FakeCore(watcher, api)
    assert await call(core, "reload", graceful=False, waiting=True) is None
    assert watcher.calls == api.calls == [("reload", False)]
    assert await call(core, "reload", name="web", sequential=True) is None
    assert watcher.calls[-1] == ("reload", True)
    assert await call(core, "reloadconfig", waiting=True) == {
        "changes": {"added": ["new"], "removed": [], "changed": [], "ignored": [], "failed": []}
    }
    assert await call(core, "reloadconfig") == {}
    assert core.calls[-1] == ("reload_unattended",)
    core.refusal = Refused("reload refused: bad file")
    assert await refused(core, "reloadconfig", COMMAND_ERROR, waiting=True) == (
        "reload refused: bad file"
    )
    core.refusal = SystemRefused("reload refused: cannot bind")
    await refused(core, "reloadconfig", OS_ERROR, waiting=True)


async def test_quit_replies_before_quitting() -> None:
    core = FakeCore()
    assert await call(core, "quit") is None
    assert core.calls == []
    # The quit is scheduled a moment after the reply: wait for it, with a deadline.
    deadline = asyncio.get_running_loop().time() + 5
    while not core.calls and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)
    assert core.calls == [("quit",)]


async def test_set_reconfigures_then_scales_up() -> None:
    watcher = web()
    core = FakeCore(watcher, FakeWatcher("one", singleton=True))
    props = {"options": {"graceful_timeout": 7, "numprocesses": 3}, "waiting": True}
    assert await call(core, "set", name="web", **props) is None
    assert watcher.calls[0][0] == "reconfigure" and watcher.calls[1] == ("scale", 3, 0)
    assert watcher.config.graceful_timeout == 7 and watcher.numprocesses == 3
    await refused(core, "set", MESSAGE_ERROR, name="web", options={})
    await refused(core, "set", MESSAGE_ERROR, name="web", options={"nosuch": 1})
    reason = await refused(core, "set", MESSAGE_ERROR, name="one", options={"numprocesses": 2})
    assert reason.startswith("numprocesses: a singleton watcher runs at most one process")
    assert await call(core, "set", name="web", options={"stdout_file": "/x.log"}) is None
    assert ("check_log_files", "web") in core.calls


async def test_signal_targets() -> None:
    watcher = web()
    core = FakeCore(watcher)
    assert await call(core, "signal", name="web", signum="HUP") is None
    assert [p.signals for p in watcher.processes.values()] == [[(1, False, False)]] * 2
    assert await call(core, "signal", name="web", pid=12, signum=15, recursive=True) is None
    assert watcher.processes[12].signals[-1] == (15, False, True)
    assert await refused(core, "signal", MESSAGE_ERROR, name="web", signum="NOPE") == (
        "signal invalid"
    )
    reason = await refused(core, "signal", MESSAGE_ERROR, name="web", pid=99, signum=15)
    assert reason == "process 99 not found in 'web'"
    reason = await refused(core, "signal", MESSAGE_ERROR, name="web", childpid=5, signum=15)
    assert reason == "cannot specify childpid without pid"
    # The child must be a descendant of the process: pid 1 never is one of ours.
    reason = await refused(core, "signal", MESSAGE_ERROR, name="web", pid=11, childpid=1, signum=15)
    assert reason == "child 1 not found"


async def test_kill_checks_every_pid_first() -> None:
    watcher = web()
    core = FakeCore(watcher)
    props = {"signum": "KILL", "graceful_timeout": 2, "waiting": True}
    assert await call(core, "kill", name="web", **props) is None
    assert watcher.calls == [("kill", 11, signal.SIGKILL, 2.0), ("kill", 12, signal.SIGKILL, 2.0)]
    await refused(core, "kill", MESSAGE_ERROR, name="web", pid=99)
    reason = await refused(core, "kill", BAD_MSG_DATA_ERROR, name="web", graceful_timeout=1e308)
    assert reason == "property 'graceful_timeout': must be at most 86400"
    assert len(watcher.calls) == 2


# -- queries ---------------------------------------------------------------------------------


async def test_get_options_and_globaloptions() -> None:
    core = FakeCore(web())
    assert await call(core, "get", name="web", keys=["numprocesses"]) == {
        "options": {"numprocesses": 2}
    }
    assert await refused(core, "get", MESSAGE_ERROR, name="web", keys=["x"]) == (
        "'x' option not found"
    )
    await refused(core, "get", MESSAGE_ERROR, name="web", keys="numprocesses")
    options = (await call(core, "options", name="web"))["options"]
    assert options["cmd"] == "prog" and options["numprocesses"] == 2
    every = (await call(core, "globaloptions"))["options"]
    assert every == {
        "endpoint": core.endpoint,
        "pubsub_endpoint": core.pubsub_endpoint,
        "stats_endpoint": core.stats_endpoint,
        "check_delay": 0,
        "multicast_endpoint": None,
        "state_dir": "/tmp/x",
        "stats_interval": core.settings.stats_interval,
        "config": "/etc/circus.toml",
        "instance": "abc123",
        "pid": os.getpid(),
    }
    assert await call(core, "globaloptions", option="instance") == {
        "options": {"instance": "abc123"}
    }
    await refused(core, "globaloptions", MESSAGE_ERROR, option="nosuch")


async def test_list_numbers_status_and_sockets() -> None:
    core = FakeCore(web(), FakeWatcher("api", [21]))
    assert await call(core, "list") == {"watchers": ["api", "web"]}
    assert await call(core, "list", name="web") == {"pids": [11, 12]}
    assert await call(core, "numwatchers") == {"numwatchers": 2}
    assert await call(core, "numprocesses") == {"numprocesses": 3}
    assert await call(core, "numprocesses", name="web") == {
        "numprocesses": 2,
        "watcher_name": "web",
    }
    one = await call(core, "status", name="web")
    assert one["status"] == "active"
    assert one["details"] == {
        "state": "active",
        "running": 2,
        "numprocesses": 2,
        "restarts": 0,
        "failures": 0,
        "last_exit": None,
        "reason": None,
        "retry_at": None,
        "started_at": 1234.0,
        "output_seq": 0,
        "log_error": None,
        "log_lines_lost": 0,
        "ready": 2,
        "waiting_for": None,
        "depends_on": {},
        "completed": 0,
        "roll": None,
        "health": {pid: {"health": "ready", "status": None, "probe": None} for pid in ("11", "12")},
    }
    every = await call(core, "status")
    assert every["statuses"] == {"api": "active", "web": "active"}
    assert list(every["details"]) == ["api", "web"]
    core.sockets = [FakeSocket("tcp", 5), FakeSocket("unix", 6, Path("/run/s.sock"))]
    assert await call(core, "listsockets") == {
        "sockets": [
            {"fd": 5, "name": "tcp", "backlog": 128, "host": "127.0.0.1", "port": 8080},
            {"fd": 6, "name": "unix", "path": "/run/s.sock"},
        ]
    }


def _sample(pid: int) -> ProcSample:
    member = MemberSample(pid, 1, 12.5, 4096, 8192, 1.5, 0, 100.0)
    return ProcSample(pid, 12.5, 0.5, 4096, [], 8192, 1.5, 100.0, {pid: member})


async def test_stats_use_the_last_tick() -> None:
    core = FakeCore(web())
    core.samples = {11: _sample(11), 12: _sample(12)}
    one = await call(core, "stats", name="web", process=11)
    assert one["process"] == 11
    info = one["info"]
    assert (info["pid"], info["cpu"], info["wid"], info["started"]) == (11, 12.5, 1, 1001.0)
    assert (info["mem_info1"], info["ctime"], info["children"]) == ("4.00K", "0:01.50", [])
    whole = await call(core, "stats", name="web")
    assert whole["name"] == "web" and list(whole["info"]) == ["11", "12"]
    every = await call(core, "stats")
    assert list(every["infos"]) == ["web"] and list(every["infos"]["web"]) == ["11", "12"]
    reason = await refused(core, "stats", MESSAGE_ERROR, name="web", process=99)
    assert reason == "process 99 not found in 'web'"
    dstats = (await call(core, "dstats"))["info"]
    assert dstats["pid"] == os.getpid() and dstats["wid"] is None


# -- extensions ------------------------------------------------------------------------------


async def test_tail_filters_and_counts() -> None:
    watcher = web()
    core = FakeCore(watcher)
    watcher.output.add(11, "stdout", b"one")
    watcher.output.add(12, "stderr", b"two")
    watcher.output.add(11, "stdout", b"caf\xc3\xa9")
    reply = await call(core, "tail", name="web", stream="stdout", count=1)
    assert reply["last_seq"] == 3 and reply["truncated"] is False
    [line] = reply["lines"]
    assert {k: line[k] for k in ("seq", "pid", "stream", "data", "partial")} == {
        "seq": 3,
        "pid": 11,
        "stream": "stdout",
        "data": "café",
        "partial": False,
    }
    assert [ln["seq"] for ln in (await call(core, "tail", name="web", since=1))["lines"]] == [2, 3]
    assert [ln["seq"] for ln in (await call(core, "tail", name="web", pid=12))["lines"]] == [2]
    assert (await call(core, "tail", name="web", count=0))["lines"] == []
    await refused(core, "tail", BAD_MSG_DATA_ERROR, name="web", stream="both")
    await refused(core, "tail", BAD_MSG_DATA_ERROR, name="web", count=-1)


async def test_history_names_and_since() -> None:
    core = FakeCore(web())
    reply = await call(core, "history", name="WEB", pid=11, since=5)
    assert core.calls[-1] == ("history", "web", 11, 5)
    series = {"t": [1.5], "cpu": [2.25], "mem": [0.5], "rss": [4096]}
    assert reply == {
        "history": {"interval": 1.0, "watchers": {"web": series}, "processes": {"11": series}}
    }
    await call(core, "history", name="circus")
    assert core.calls[-1] == ("history", "circus", None, None)
    await refused(core, "history", MESSAGE_ERROR, name="nope")
    reason = await refused(core, "history", BAD_MSG_DATA_ERROR, since="yesterday")
    assert reason == "property 'since' must be a time"


async def test_save_and_its_refusals() -> None:
    core = FakeCore(web())
    assert await call(core, "save") == {"path": "/etc/circus.toml"}
    core.refusal = Refused("the daemon was not started from a file")
    await refused(core, "save", COMMAND_ERROR)
    core.refusal = SystemRefused("not saved: read-only file system")
    await refused(core, "save", OS_ERROR)


def test_every_command_has_a_test_here() -> None:
    source = Path(__file__).read_text()
    untested = [name for name in commands.COMMANDS if f'"{name}"' not in source]
    assert untested == []


async def test_set_takes_probe_keys_one_at_a_time_and_checks_dependencies() -> None:
    watcher = web(ready={"http": "http://127.0.0.1:8000/healthz"})
    core = FakeCore(watcher, FakeWatcher("db"))
    await call(core, "set", name="web", options={"ready.timeout": "5"}, waiting=True)
    assert watcher.config.ready is not None
    assert (watcher.config.ready.kind, watcher.config.ready.timeout) == ("http", 5.0)
    await call(core, "set", name="web", options={"ready.tcp": "127.0.0.1:81"}, waiting=True)
    assert watcher.config.ready.kind == "tcp" and watcher.config.ready.timeout == 5.0
    await call(core, "set", name="web", options={"depends_on.db": "ready"}, waiting=True)
    assert watcher.config.depends_on == {"db": "ready"}
    bad = await refused(
        core, "set", MESSAGE_ERROR, name="web", options={"depends_on.nope": "ready"}
    )
    assert bad == "depends_on.nope: no such watcher"
    bad = await refused(core, "set", MESSAGE_ERROR, name="web", options={"ready.bogus": 1})
    assert bad == "ready.bogus: unknown key"
    cycle = await refused(
        core, "set", MESSAGE_ERROR, name="db", options={"depends_on.web": "started"}
    )
    assert "a dependency cycle" in cycle


async def test_hooks_are_read_and_set_one_at_a_time() -> None:
    watcher = web(hooks={"before_start": "app.hooks.check"})
    core = FakeCore(watcher)
    got = await call(core, "get", name="web", keys=["hooks"])
    assert got == {"options": {"hooks": {"before_start": "app.hooks.check"}}}
    # As circusctl sends it: `set web hooks.after_stop "app.hooks.bye, true"`.
    await call(
        core, "set", name="web", options={"hooks.after_stop": "app.hooks.bye, true"}, waiting=True
    )
    assert watcher.config.hooks is not None
    assert watcher.config.hooks.as_table() == {
        "before_start": "app.hooks.check",
        "after_stop": "app.hooks.bye, true",
    }
    bad = await refused(
        core, "set", MESSAGE_ERROR, name="web", options={"hooks.before_start": "missing.hook"}
    )
    assert bad == "hooks.before_start: cannot import missing"
    bad = await refused(core, "set", MESSAGE_ERROR, name="web", options={"hooks.bfore_stop": "a.b"})
    assert bad == "hooks.bfore_stop: unknown hook (did you mean 'before_stop'?)"
    assert watcher.config.hooks.get("before_start") is not None


async def test_stats_extended_asks_the_extended_stats_hook() -> None:
    watcher = web()
    core = FakeCore(watcher)
    # 11 has its figures; 12 has none, so it is measured now: on most machines it does not
    # exist ("No such process"), and a process gone in the meantime gets no hook.
    core.samples = {11: _sample(11)}
    got = await call(core, "stats", name="web", extended=True)
    assert got["info"]["11"]["extended"] is True
    for pid, info in got["info"].items():
        assert (("extended_stats", int(pid)) in watcher.calls) == isinstance(info, dict)
    plain = await call(core, "stats", name="web")
    assert not any("extended" in info for info in plain["info"].values())


async def test_circus_names_for_output_options_are_read_and_set() -> None:
    watcher = web(stderr="discard", log_format="circus", log_time_format="%H:%M")
    watcher.output.configure(Path("/logs/web.log"))
    core = FakeCore(watcher)
    options = (await call(core, "options", name="web"))["options"]
    assert (options["close_child_stdout"], options["close_child_stderr"]) == (False, True)
    assert options["stdout_stream_conf"] == {
        "class": "FileStream",
        "filename": "/logs/web.log",
        "max_bytes": 10 * 1024 * 1024,
        "backup_count": 5,
        "time_format": "%H:%M",
    }
    assert options["stderr_stream_conf"] == {}
    got = await call(core, "get", name="web", keys=["stdout_stream.filename", "close_child_stderr"])
    assert got == {
        "options": {"stdout_stream.filename": "/logs/web.log", "close_child_stderr": True}
    }
    await refused(core, "get", MESSAGE_ERROR, name="web", keys=["stderr_stream.filename"])

    changes = {
        "close_child_stderr": "false",
        "stdout_stream.class": "circus.stream.StdoutStream",
        "stderr_stream.filename": "/logs/err.log",
        "stderr_stream.time_format": "",
    }
    assert await call(core, "set", name="web", options=changes, waiting=True) is None
    new = watcher.calls[-1][1]
    assert (new.stdout, new.stderr, new.stderr_file) == ("inherit", "pipe", "/logs/err.log")
    assert (new.log_format, new.log_time_format) == ("raw", None)
    reason = await refused(
        core, "set", MESSAGE_ERROR, name="web", options={"stdout_stream.class": "my.Syslog"}
    )
    assert reason.startswith("stdout_stream.class: 'my.Syslog': only FileStream")
    reason = await refused(
        core, "set", MESSAGE_ERROR, name="web", options={"stdout_stream.rotate_when": "D"}
    )
    assert reason.startswith("stdout_stream.rotate_when: unknown stream option")
