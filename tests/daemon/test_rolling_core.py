"""Rolling reloads on a real core: replacements first, each old process stopped only once a
replacement is ready; a replacement never ready aborts the roll and the old ones go on."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from daemon import events
from daemon.errors import Refused
from daemon.reload import reread_config
from tests.support.core import running_core
from tests.support.waiting import eventually

PY = sys.executable


def _server(directory: Path) -> Path:
    """Prints "ready" once the file `ok` exists beside it (if it does not at start, never)."""
    script = directory / "server.py"
    script.write_text(
        "import os, pathlib, sys, time\n"
        f"ok = pathlib.Path({str(directory / 'ok')!r})\n"
        f"gate = pathlib.Path({str(directory / 'gate')!r})\n"
        "if not ok.exists():\n"
        "    time.sleep(600)\n"
        "while not gate.exists():\n"
        "    time.sleep(0.02)\n"
        "print('ready', flush=True)\n"
        "time.sleep(600)\n"
    )
    return script


def _body(script: Path, extra: str = "") -> str:
    return (
        f'[watchers.web]\ncmd = "{PY} {script}"\nnumprocesses = 3\ngraceful_timeout = 2\n{extra}'
        '[watchers.web.ready]\nlog = "^ready"\nstart_timeout = 30\n'
    )


def _ready_counts(recorder_events: list[events.Event]) -> list[int]:
    """How many processes were ready after each event (ready events add, stops take away)."""
    ready: set[int] = set()
    counts = []
    for e in recorder_events:
        if isinstance(e, events.Ready):
            ready.add(e.pid)
        elif isinstance(e, events.Stopping | events.Reaped):
            ready.discard(e.pid)
        counts.append(len(ready))
    return counts


async def test_a_rolling_reload_never_drops_below_the_target(short_path: Path) -> None:
    script = _server(short_path)
    (short_path / "ok").touch()
    (short_path / "gate").touch()
    async with running_core(short_path, _body(script)) as (arbiter, recorder):
        web = arbiter.get("web")
        await eventually(lambda: web.ready() == 3)
        before = set(web.pids())
        (short_path / "gate").unlink()  # replacements boot, but are not ready yet
        start = len(recorder.events)
        reload = asyncio.ensure_future(web.reload())
        await eventually(lambda: len(web.pids()) == 4)
        # Nothing old stops while the replacement is not ready.
        assert not recorder.of(events.Stopping)
        assert web.roll_progress == (0, 3)
        (short_path / "gate").touch()
        await reload
        after = set(web.pids())
        assert len(after) == 3 and not after & before
        assert web.ready() == 3
        counts = _ready_counts(recorder.events)[start:]
        assert min(counts) >= 3, counts
        phases = [e.phase for e in recorder.of(events.Rolling)]
        assert phases == ["started", "progress", "progress", "progress", "done"]
        assert web.roll_progress is None


async def test_max_surge_replaces_several_at_a_time(short_path: Path) -> None:
    script = _server(short_path)
    (short_path / "ok").touch()
    (short_path / "gate").touch()
    async with running_core(short_path, _body(script, "max_surge = 2\n")) as (arbiter, recorder):
        web = arbiter.get("web")
        await eventually(lambda: web.ready() == 3)
        await web.reload()
        progress = [e.replaced for e in recorder.of(events.Rolling) if e.phase == "progress"]
        assert progress == [2, 3]
        assert web.ready() == 3


async def test_a_replacement_never_ready_aborts_the_roll(short_path: Path) -> None:
    script = _server(short_path)
    (short_path / "ok").touch()
    (short_path / "gate").touch()
    body = _body(script).replace("start_timeout = 30", "start_timeout = 0.5")
    async with running_core(short_path, body) as (arbiter, recorder):
        web = arbiter.get("web")
        await eventually(lambda: web.ready() == 3)
        before = set(web.pids())
        (short_path / "ok").unlink()  # the new code never becomes ready
        with pytest.raises(Refused) as caught:
            await web.reload()
        assert "aborted" in caught.value.reason
        assert "not ready within 0.5 s" in caught.value.reason
        assert set(web.pids()) == before and web.ready() == 3
        (aborted,) = [e for e in recorder.of(events.Rolling) if e.phase == "aborted"]
        assert aborted.replaced == 0 and aborted.reason == caught.value.reason
        # The replacement was stopped, and not replaced in turn.
        new = [e.pid for e in recorder.of(events.Spawned) if e.pid not in before]
        assert len(new) == 1
        assert [e.cause for e in recorder.of(events.Reaped)] == ["start_timeout"]
        assert web.state == "active"


async def test_without_a_probe_a_roll_replaces_one_at_a_time(short_path: Path) -> None:
    body = '[watchers.sl]\ncmd = "sleep 600"\nnumprocesses = 2\ngraceful_timeout = 1\n'
    async with running_core(short_path, body) as (arbiter, recorder):
        sl = arbiter.get("sl")
        await eventually(lambda: len(sl.pids()) == 2)
        before = set(sl.pids())
        await sl.reload()
        assert len(sl.pids()) == 2 and not set(sl.pids()) & before
        kinds = [
            (type(e).__name__, e.pid in before)
            for e in recorder.events
            if isinstance(e, events.Spawned | events.Stopping)
        ][2:]
        # a new one, then an old one stops; again
        assert kinds == [("Spawned", False), ("Stopping", True)] * 2


async def test_a_changed_configuration_rolls_the_same_way(short_path: Path) -> None:
    # reloadconfig and SIGHUP: a change that needs new processes replaces them as `reload`
    # does, never below the target, and an aborted roll is reported, the old ones serving on.
    script = _server(short_path)
    (short_path / "ok").touch()
    (short_path / "gate").touch()
    async with running_core(short_path, _body(script)) as (arbiter, recorder):
        web = arbiter.get("web")
        await eventually(lambda: web.ready() == 3)
        before = set(web.pids())
        start = len(recorder.events)
        config = arbiter.config.path
        assert config is not None
        config.write_text(
            config.read_text().replace(
                "graceful_timeout = 2", 'env = { V = "2" }\ngraceful_timeout = 2'
            )
        )
        changes = await reread_config(arbiter)
        assert changes.changed == ["web"] and changes.failed == []
        assert not set(web.pids()) & before and web.ready() == 3
        assert min(_ready_counts(recorder.events)[start:]) >= 3
        assert [e.phase for e in recorder.of(events.Rolling)][-1] == "done"

        before = set(web.pids())
        (short_path / "ok").unlink()
        config.write_text(
            config.read_text()
            .replace('V = "2"', 'V = "3"')
            .replace("start_timeout = 30", "start_timeout = 0.5")
        )
        changes = await reread_config(arbiter)
        assert changes.changed == ["web"]
        (failed,) = changes.failed
        new = [e.pid for e in recorder.of(events.Spawned) if e.pid not in before][-1]
        assert failed.startswith(
            f"web: rolling reload of web aborted: new process {new}: not ready within 0.5 s"
        )
        assert set(web.pids()) == before and web.ready() == 3
