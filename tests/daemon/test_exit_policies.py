"""Which exits are replaced: `restart` (always, on-failure, never), `success_exit_codes`, and
the one-shot's `completed` state, on a real core with real processes."""

from __future__ import annotations

import sys
from pathlib import Path

from daemon import events
from daemon.watcher import ACTIVE, COMPLETED, FAILED
from tests.support.core import running_core
from tests.support.waiting import eventually

PY = sys.executable


def _watcher(name: str, code: str, extra: str = "") -> str:
    return f"[watchers.{name}]\ncmd = \"{PY} -c '{code}'\"\n{extra}\n"


async def test_a_one_shot_that_succeeds_is_completed(short_path: Path) -> None:
    body = _watcher("migrate", "pass", 'restart = "never"\nnumprocesses = 2')
    async with running_core(short_path, body) as (arbiter, recorder):
        watcher = arbiter.get("migrate")
        await eventually(lambda: watcher.state == COMPLETED)
        assert len(recorder.of(events.Spawned)) == 2
        assert len(recorder.of(events.Completed)) == 1
        assert watcher.completed == 2
        # `start` runs it again.
        await watcher.start()
        await eventually(lambda: len(recorder.of(events.Completed)) == 2)
        assert len(recorder.of(events.Spawned)) == 4


async def test_a_one_shot_that_fails_is_failed_with_its_exit(short_path: Path) -> None:
    body = _watcher("migrate", "raise SystemExit(3)", 'restart = "never"')
    async with running_core(short_path, body) as (arbiter, recorder):
        watcher = arbiter.get("migrate")
        await eventually(lambda: watcher.state == FAILED)
        assert watcher.reason is not None and "exited with code 3" in watcher.reason
        assert len(recorder.of(events.Spawned)) == 1
        assert not recorder.of(events.Completed)


async def test_respawn_false_is_never(short_path: Path) -> None:
    body = _watcher("once", "pass", "respawn = false")
    async with running_core(short_path, body) as (arbiter, _):
        watcher = arbiter.get("once")
        await eventually(lambda: watcher.state == COMPLETED)


async def test_success_exit_codes_decide_what_succeeded(short_path: Path) -> None:
    body = _watcher("three", "raise SystemExit(3)", 'restart = "never"\nsuccess_exit_codes = [3]')
    async with running_core(short_path, body) as (arbiter, _):
        watcher = arbiter.get("three")
        await eventually(lambda: watcher.state == COMPLETED)


async def test_on_failure_replaces_failures_until_success(short_path: Path) -> None:
    script = short_path / "job.py"
    script.write_text(
        "import pathlib, sys\n"
        f"tried = pathlib.Path({str(short_path / 'tried')!r})\n"
        "if tried.exists():\n"
        "    sys.exit(0)\n"
        "tried.touch()\n"
        "sys.exit(3)\n"
    )
    body = f'[watchers.job]\ncmd = "{PY} {script}"\nrestart = "on-failure"\nbackoff_min = 0.1\n'
    async with running_core(short_path, body) as (arbiter, recorder):
        watcher = arbiter.get("job")
        await eventually(lambda: watcher.state == COMPLETED)
        assert [e.exit_code for e in recorder.of(events.Reaped)] == [3, 0]
        assert len(recorder.of(events.Spawned)) == 2


async def test_always_never_parks_a_program_that_exits_with_success(short_path: Path) -> None:
    # max_retry = 1: two failures in a row would park it; successes never count.
    body = _watcher("loop", "pass", "max_retry = 1\nbackoff_min = 0.05\nbackoff_max = 0.1")
    async with running_core(short_path, body) as (arbiter, recorder):
        watcher = arbiter.get("loop")
        await eventually(lambda: len(recorder.of(events.Reaped)) >= 6)
        assert watcher.state == ACTIVE
        assert not recorder.of(events.Failed)


async def test_always_still_parks_quick_failures(short_path: Path) -> None:
    body = _watcher("bad", "raise SystemExit(1)", "max_retry = 1\nbackoff_min = 0.05")
    async with running_core(short_path, body) as (arbiter, recorder):
        watcher = arbiter.get("bad")
        await eventually(lambda: watcher.state == FAILED)
        assert len(recorder.of(events.Failed)) == 1
