"""Circus's hooks on a real core: Python callables from a module beside the configuration and
commands, called in the order a watcher's life calls them, with Circus's arguments; a no
stops what it guards; a slow hook is cut off at its timeout without stalling the loop."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

from daemon import commands, events
from daemon.hook_spec import HOOK_NAMES
from daemon.protocol import ProtocolError
from tests.support.core import running_core
from tests.support.waiting import eventually

PY = sys.executable

HOOKS_MODULE = """
import json, os, time

LOG = os.path.join(os.path.dirname(__file__), "calls.jsonl")


def _log(hook_name, **kwargs):
    entry = {"hook": hook_name}
    for key in ("pid", "process_pid", "signum", "exit_code"):
        if key in kwargs:
            entry[key] = kwargs[key]
    with open(LOG, "a") as f:
        f.write(json.dumps(entry) + "\\n")


def record(watcher, arbiter, hook_name, **kwargs):
    assert watcher.name == "w" and arbiter.get_watcher("w") is watcher
    _log(hook_name, **kwargs)
    return True


def no(watcher, arbiter, hook_name, **kwargs):
    _log(hook_name, **kwargs)
    return False


def nothing(watcher, arbiter, hook_name, **kwargs):
    _log(hook_name, **kwargs)


def raises(watcher, arbiter, hook_name, **kwargs):
    raise RuntimeError("the database is down")


def slow(watcher, arbiter, hook_name, **kwargs):
    time.sleep(3)
    return True


def set_env(watcher, arbiter, hook_name, **kwargs):
    watcher.env["FROM_HOOK"] = "set by " + hook_name
    return True


def add_stats(watcher, arbiter, hook_name, pid, stats, **kwargs):
    stats["queue_depth"] = 7
"""


def _write_hooks(directory: Path) -> Path:
    # A module name of its own per test: a daemon imports a module once.
    module = "ct_hooks_" + directory.name.replace("-", "_")
    (directory / f"{module}.py").write_text(HOOKS_MODULE)
    return directory / "calls.jsonl"


def _named(directory: Path, hooks: str) -> str:
    return hooks.replace("ct_hooks.", "ct_hooks_" + directory.name.replace("-", "_") + ".")


def _calls(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def _watcher(directory: Path, hooks: str, extra: str = "", cmd: str = "sleep 600") -> str:
    return (
        f'[watchers.w]\ncmd = "{cmd}"\nnumprocesses = 2\ngraceful_timeout = 1\n{extra}'
        f"[watchers.w.hooks]\n{_named(directory, hooks)}"
    )


# Every hook a watcher's life calls (extended_stats comes from `stats` alone).
ALL = "".join(f'{name} = "ct_hooks.record"\n' for name in HOOK_NAMES if name != "extended_stats")


async def test_every_hook_in_the_order_of_a_watcher_life(short_path: Path) -> None:
    log = _write_hooks(short_path)
    async with running_core(short_path, _watcher(short_path, ALL)) as (arbiter, rec):
        w = arbiter.get("w")
        await eventually(lambda: w.state == "active" and len(w.pids()) == 2)
        pids = w.pids()
        start = [c["hook"] for c in _calls(log)]
        assert start == [
            "before_start",
            "before_spawn",
            "after_spawn",
            "before_spawn",
            "after_spawn",
            "after_start",
        ]
        assert sorted(c["pid"] for c in _calls(log) if c["hook"] == "after_spawn") == pids
        await w.stop()
        await eventually(lambda: sum(c["hook"] == "after_reap" for c in _calls(log)) == 2)
        stop = _calls(log)[6:]
        assert stop[0]["hook"] == "before_stop"
        # As circusd: every process's after_reap, then after_stop.
        assert [c["hook"] for c in stop].count("after_stop") == 1
        assert stop[-1]["hook"] == "after_stop"
        for pid in pids:
            mine = [c["hook"] for c in stop if pid in (c.get("pid"), c.get("process_pid"))]
            assert mine == ["before_signal", "after_signal", "before_reap", "after_reap"]
        signals = {c["signum"] for c in stop if c["hook"] == "before_signal"}
        assert signals == {int(signal.SIGTERM)}
        exits = {c["exit_code"] for c in stop if c["hook"] == "after_reap"}
        assert exits == {-int(signal.SIGTERM)}
        names = [e.name for e in rec.of(events.HookSucceeded, "w")]
        assert names[:2] == ["before_start", "before_spawn"]
        assert not rec.of(events.HookFailed)


async def test_before_start_saying_no_abandons_the_start(short_path: Path) -> None:
    log = _write_hooks(short_path)
    hooks = 'before_start = "ct_hooks.nothing"\n'  # no answer is a no, as in Circus
    async with running_core(short_path, _watcher(short_path, hooks)) as (arbiter, rec):
        await eventually(lambda: _calls(log))
        w = arbiter.get("w")
        assert w.state == "stopped" and w.pids() == []
        assert w.reason == "start abandoned: the before_start hook said no"
        assert [e.name for e in rec.of(events.HookSucceeded, "w")] == ["before_start"]


async def test_a_failing_hook_whose_errors_are_ignored(short_path: Path) -> None:
    _write_hooks(short_path)
    hooks = 'before_start = "ct_hooks.raises, true"\n'
    async with running_core(short_path, _watcher(short_path, hooks)) as (arbiter, rec):
        w = arbiter.get("w")
        await eventually(lambda: len(w.pids()) == 2)
        (failed,) = rec.of(events.HookFailed, "w")
        assert (failed.name, failed.error) == (
            "before_start",
            "RuntimeError: the database is down",
        )


async def test_a_hook_that_cannot_be_imported_says_why(short_path: Path) -> None:
    hooks = 'before_start = "no_such_module.check"\n'
    async with running_core(short_path, _watcher(short_path, hooks)) as (arbiter, rec):
        failed = await eventually(lambda: rec.of(events.HookFailed, "w"))
        assert failed[0].error.startswith("cannot import no_such_module: ModuleNotFoundError")
        assert arbiter.get("w").state == "stopped"


async def test_a_hook_is_never_imported_from_a_directory_others_can_write(
    short_path: Path,
) -> None:
    # The watcher's PYTHONPATH names a directory open to every user: whatever is in it could
    # be another user's, and the daemon (often root) would run it.
    shared = short_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    (shared / "ct_shared_hooks.py").write_text(HOOKS_MODULE)
    body = (
        '[watchers.w]\ncmd = "sleep 600"\n'
        f'[watchers.w.env]\nPYTHONPATH = "{shared}"\n'
        '[watchers.w.hooks]\nbefore_start = "ct_shared_hooks.record"\n'
    )
    async with running_core(short_path, body) as (arbiter, rec):
        failed = await eventually(lambda: rec.of(events.HookFailed, "w"))
        assert "ModuleNotFoundError" in failed[0].error
        assert arbiter.get("w").state == "stopped"


async def test_a_slow_hook_is_cut_off_and_the_loop_runs_on(short_path: Path) -> None:
    _write_hooks(short_path)
    hooks = 'before_start = "ct_hooks.slow"\ntimeout = 0.5\n'
    # `other` starts first (watchers start in priority order, as under circusd).
    body = '[watchers.other]\ncmd = "sleep 600"\npriority = 10\ngraceful_timeout = 1\n' + _watcher(
        short_path, hooks
    )
    async with running_core(short_path, body) as (arbiter, rec):
        other = arbiter.get("other")
        await eventually(lambda: other.pids())
        # While the hook sleeps in its thread, the loop answers and commands work.
        assert not rec.of(events.HookFailed, "w")
        ticks: list[float] = []
        for _ in range(5):
            started = time.monotonic()
            await asyncio.sleep(0.01)
            ticks.append(time.monotonic() - started)
        assert await other.scale(delta=1) == 2
        assert not rec.of(events.HookFailed, "w")
        failed = await eventually(lambda: rec.of(events.HookFailed, "w"))
        assert failed[0].error == "no answer within 0.5 s"
        assert arbiter.get("w").state == "stopped"
        assert max(ticks) < 0.4, ticks


async def test_command_hooks_answer_by_their_exit(short_path: Path) -> None:
    check = short_path / "check.sh"
    seen = short_path / "seen"
    check.write_text(
        "#!/bin/sh\n"
        f'echo "$CIRCUS_TUI_HOOK $CIRCUS_TUI_WATCHER ${{CIRCUS_TUI_PID:-none}}" >> {seen}\n'
        f'test -e {short_path}/allow || {{ echo "not allowed yet"; exit 3; }}\n'
    )
    check.chmod(0o755)
    hooks = 'before_start = ["./check.sh"]\nafter_spawn = ["./check.sh"]\n'
    body = _watcher(short_path, hooks, f'working_dir = "{short_path}"\n')
    async with running_core(short_path, body) as (arbiter, rec):
        failed = await eventually(lambda: rec.of(events.HookFailed, "w"))
        assert failed[0].error.startswith("exit 3: not allowed yet")
        w = arbiter.get("w")
        assert w.state == "stopped"
        (short_path / "allow").touch()
        assert await w.start()
        pids = w.pids()
        lines = seen.read_text().splitlines()
        assert lines[0] == "before_start w none"
        assert sorted(lines[2:4]) == sorted(f"after_spawn w {pid}" for pid in pids)


async def test_after_spawn_saying_no_stops_the_process(short_path: Path) -> None:
    _write_hooks(short_path)
    hooks = 'after_spawn = "ct_hooks.no"\n'
    body = _watcher(short_path, hooks, "max_retry = 1\nbackoff_min = 0.1\nbackoff_max = 0.1\n")
    async with running_core(short_path, body) as (arbiter, rec):
        failed = await eventually(lambda: rec.of(events.Failed, "w"), 20)
        assert "the after_spawn hook said no" in failed[0].reason
        assert arbiter.get("w").pids() == []


async def test_before_spawn_saying_no_backs_off_then_fails(short_path: Path) -> None:
    _write_hooks(short_path)
    hooks = 'before_spawn = "ct_hooks.no"\n'
    body = _watcher(short_path, hooks, "max_retry = 2\nbackoff_min = 0.1\nbackoff_max = 0.1\n")
    async with running_core(short_path, body) as (_arbiter, rec):
        failed = await eventually(lambda: rec.of(events.Failed, "w"), 20)
        assert "the before_spawn hook said no" in failed[0].reason
        assert not rec.of(events.Spawned, "w")


async def test_a_hook_sets_the_env_of_later_processes(short_path: Path) -> None:
    _write_hooks(short_path)
    out = short_path / "env.txt"
    hooks = 'before_spawn = "ct_hooks.set_env"\n'
    cmd = f"sh -c 'echo $FROM_HOOK >> {out}; exec sleep 600'"
    async with running_core(short_path, _watcher(short_path, hooks, cmd=cmd)) as (_a, _):
        await eventually(lambda: out.exists() and len(out.read_text().splitlines()) == 2)
        assert out.read_text().splitlines() == ["set by before_spawn"] * 2


async def test_before_signal_saying_no_keeps_the_stop_signal(short_path: Path) -> None:
    _write_hooks(short_path)
    hooks = 'before_signal = "ct_hooks.no"\n'
    async with running_core(short_path, _watcher(short_path, hooks)) as (arbiter, rec):
        w = arbiter.get("w")
        await eventually(lambda: len(w.pids()) == 2)
        await w.stop()
        # No SIGTERM went out: the grace ran out and SIGKILL ended them.
        assert {e.reason for e in rec.of(events.Reaped, "w")} == {"killed by SIGKILL"}


async def test_extended_stats_adds_to_a_process_figures(short_path: Path) -> None:
    _write_hooks(short_path)
    hooks = 'extended_stats = "ct_hooks.add_stats"\n'
    async with running_core(short_path, _watcher(short_path, hooks)) as (arbiter, _):
        w = arbiter.get("w")
        await eventually(lambda: len(w.pids()) == 2)
        stats: dict[str, Any] = {"cpu": 0.0}
        await w.extended_stats(w.pids()[0], stats)
        assert stats == {"cpu": 0.0, "queue_depth": 7}


async def test_set_over_the_wire_imports_the_new_hook_first(short_path: Path) -> None:
    log = _write_hooks(short_path)
    body = '[watchers.w]\ncmd = "sleep 600"\ngraceful_timeout = 1\n'
    async with running_core(short_path, body) as (arbiter, _):
        w = arbiter.get("w")
        await eventually(lambda: w.pids())
        props = {"name": "w", "options": {"hooks.before_start": "nomod_ct.check"}}
        try:
            await commands.run(arbiter, "set", props)
        except ProtocolError as exc:
            assert exc.reason.startswith("hooks.before_start: cannot import nomod_ct")
        else:
            raise AssertionError("an unimportable hook was taken")
        assert w.config.hooks is None
        module = "ct_hooks_" + short_path.name.replace("-", "_")
        props = {"name": "w", "options": {"hooks.before_stop": f"{module}.record"}}
        await commands.run(arbiter, "set", {**props, "waiting": True})
        await w.stop()
        assert [c["hook"] for c in _calls(log)] == ["before_stop"]


def test_a_hung_hook_neither_holds_back_the_others_nor_the_quit(
    daemon_factory: Any, tmp_path: Path
) -> None:
    # Found through the watcher's PYTHONPATH, as circusd finds hooks.
    (tmp_path / "ct_hung.py").write_text(
        "import time\ndef forever(watcher, arbiter, hook_name, **kwargs):\n    time.sleep(3600)\n"
    )
    d = daemon_factory(
        '[watchers.w]\ncmd = "sleep 600"\ngraceful_timeout = 1\n'
        f'[watchers.w.env]\nPYTHONPATH = "{tmp_path}"\n'
        '[watchers.w.hooks]\nbefore_stop = "ct_hung.forever"\ntimeout = 0.3\n'
    )
    d.wait_pids("w", 1)
    assert d.call("stop", name="w", waiting=True)["status"] == "ok"
    assert d.call("start", name="w", waiting=True)["status"] == "ok"
    # The first call still sleeps in its thread: this one fails at once, and the stop goes on.
    assert d.call("stop", name="w", waiting=True)["status"] == "ok"
    log = (d.dir / "daemon.log").read_text()
    assert "hook before_stop failed: no answer within 0.3 s" in log
    assert "hook before_stop failed: an earlier call is still running, past the timeout" in log
    assert d.call("quit")["status"] == "ok"
    # A thread stuck in the user's code does not keep the daemon from exiting.
    assert d.proc.wait(timeout=20) == 0
