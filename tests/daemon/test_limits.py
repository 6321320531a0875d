"""Built-in limits on a real core: a process tree over max_memory or max_cpu is replaced,
gracefully, with the reason in the event, its exit and the watcher's last exit; one under them
is left alone."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from daemon import events
from daemon.checks import CheckError
from daemon.options import make_watcher_config
from tests.support.core import running_core
from tests.support.waiting import eventually

PY = sys.executable
FAST_STATS = "stats_interval = 0.2\n"


async def test_a_tree_over_max_memory_is_replaced_with_the_reason(short_path: Path) -> None:
    # The memory is a child's: the whole tree counts.
    script = short_path / "hog.py"
    script.write_text(
        "import subprocess, sys, time\n"
        "if len(sys.argv) > 1:\n"
        "    data = bytearray(80 * 1024 * 1024)\n"
        "    for i in range(0, len(data), 4096):\n"
        "        data[i] = 1\n"
        "    time.sleep(600)\n"
        "subprocess.Popen([sys.executable, __file__, 'child'])\n"
        "time.sleep(600)\n"
    )
    body = (
        f'[watchers.hog]\ncmd = "{PY} {script}"\nmax_memory = "60M"\ngraceful_timeout = 1\n'
        '[watchers.calm]\ncmd = "sleep 600"\nmax_memory = "60M"\n'
    )
    async with running_core(short_path, body, FAST_STATS) as (arbiter, rec):
        over = await eventually(lambda: rec.of(events.LimitExceeded, "hog"), 30)
        first = over[0]
        assert first.limit == "max_memory"
        assert first.reason.startswith("memory ") and first.reason.endswith(" over max_memory 60M")
        reaped = await eventually(
            lambda: [e for e in rec.of(events.Reaped, "hog") if e.pid == first.pid]
        )
        assert reaped[0].cause == "max_memory"
        hog = arbiter.get("hog")
        await eventually(lambda: hog.last_exit == first.reason)
        # Replaced, under the restart policy.
        await eventually(lambda: any(e.pid != first.pid for e in rec.of(events.Spawned, "hog")))
        assert not rec.of(events.LimitExceeded, "calm")


async def test_a_tree_over_max_cpu_for_the_window_is_replaced(short_path: Path) -> None:
    spin = f"{PY} -c 'while True: pass'"
    body = (
        f'[watchers.spin]\ncmd = "{spin}"\nmax_cpu = 50\nlimit_window = 1\ngraceful_timeout = 1\n'
        '[watchers.idle]\ncmd = "sleep 600"\nmax_cpu = 50\nlimit_window = 1\n'
    )
    async with running_core(short_path, body, FAST_STATS) as (arbiter, rec):
        over = await eventually(lambda: rec.of(events.LimitExceeded, "spin"), 30)
        assert over[0].limit == "max_cpu"
        reason = over[0].reason
        assert reason.startswith("CPU ") and " over max_cpu 50% for 1 s" in reason
        assert int(reason.split()[1].rstrip("%")) > 50
        await eventually(lambda: arbiter.get("spin").last_exit == reason)
        assert not rec.of(events.LimitExceeded, "idle")


def test_limit_values_are_checked() -> None:
    cfg = make_watcher_config("w", {"cmd": "x", "max_memory": "1.5G", "max_cpu": "90"})
    assert (cfg.max_memory, cfg.max_cpu) == (1536 << 20, 90.0)
    assert cfg.as_options()["max_memory"] == "1536M"
    for key, value in (("max_memory", "lots"), ("max_cpu", 0), ("limit_window", 0)):
        with pytest.raises(CheckError, match=key):
            make_watcher_config("w", {"cmd": "x", key: value})
