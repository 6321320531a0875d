"""`depends_on`: a watcher starts when its conditions hold, waits (saying for what) until they
do, and stops before what it depends on. Orders are asserted as orders, never as durations."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from daemon import events
from daemon.config import ConfigError, parse_config_text
from daemon.watcher import ACTIVE, COMPLETED, FAILED, WAITING
from tests.support.core import running_core
from tests.support.waiting import eventually

PY = sys.executable


def _index(recorder_events: list[events.Event], kind: type[events.Event], watcher: str) -> int:
    return next(
        i for i, e in enumerate(recorder_events) if isinstance(e, kind) and e.watcher == watcher
    )


async def test_web_starts_after_migrate_completed(short_path: Path) -> None:
    gate = short_path / "go"
    body = (
        "[watchers.web]\n"
        'cmd = "sleep 60"\n'
        'depends_on = { migrate = "completed" }\n'
        "numprocesses = 2\n"
        "[watchers.migrate]\n"
        f'cmd = "{PY} -c \'import os, time\\nwhile not os.path.exists(\\"{gate}\\"): '
        "time.sleep(0.02)'\"\n"
        'restart = "never"\n'
    )
    async with running_core(short_path, body) as (arbiter, recorder):
        web, migrate = arbiter.get("web"), arbiter.get("migrate")
        await eventually(lambda: web.state == WAITING and migrate.state == ACTIVE)
        assert web.waiting_for is not None and web.waiting_for.startswith("migrate: running")
        assert not recorder.of(events.Spawned, "web")
        (waiting,) = recorder.of(events.Waiting, "web")
        assert waiting.reason.startswith("waiting for migrate: running")
        gate.touch()
        await eventually(lambda: web.state == ACTIVE and len(web.live()) == 2)
        assert _index(recorder.events, events.Completed, "migrate") < _index(
            recorder.events, events.Spawned, "web"
        )
    # Quit stops web (the dependent) before migrate would be: web's stops come first.
    kills = [e.watcher for e in recorder.of(events.Stopping)]
    assert kills and set(kills) == {"web"}


async def test_a_failed_dependency_keeps_dependents_waiting_until_it_succeeds(
    short_path: Path,
) -> None:
    script = short_path / "migrate.py"
    script.write_text(
        "import pathlib, sys\n"
        f"ok = pathlib.Path({str(short_path / 'fixed')!r})\n"
        "sys.exit(0 if ok.exists() else 1)\n"
    )
    body = (
        '[watchers.web]\ncmd = "sleep 60"\ndepends_on = { migrate = "completed" }\n'
        f'[watchers.migrate]\ncmd = "{PY} {script}"\nrestart = "never"\n'
    )
    async with running_core(short_path, body) as (arbiter, recorder):
        web, migrate = arbiter.get("web"), arbiter.get("migrate")
        await eventually(lambda: migrate.state == FAILED)
        await eventually(lambda: web.waiting_for is not None and "failed" in web.waiting_for)
        assert web.state == WAITING
        assert "migrate: failed: exited with code 1" in web.waiting_for
        # The event follows the change a moment later (the arbiter looks at the waiting
        # watchers once the loop is free).
        await eventually(
            lambda: recorder.of(events.Waiting, "web")[-1].reason.startswith(
                "waiting for migrate: failed"
            )
        )
        (short_path / "fixed").touch()
        await migrate.start()
        await eventually(lambda: migrate.state == COMPLETED and web.state == ACTIVE)


async def test_ready_waits_for_every_process_ready(short_path: Path) -> None:
    gate = short_path / "go"
    body = (
        '[watchers.web]\ncmd = "sleep 60"\ndepends_on = { redis = "ready" }\n'
        "[watchers.redis]\n"
        f'cmd = "{PY} -u -c \'import os, time\\nwhile not os.path.exists(\\"{gate}\\"): '
        'time.sleep(0.02)\\nprint(\\"Ready to accept connections\\")\\ntime.sleep(60)\'"\n'
        "numprocesses = 2\n"
        "[watchers.redis.ready]\n"
        'log = "Ready to accept"\n'
    )
    async with running_core(short_path, body) as (arbiter, recorder):
        web, redis = arbiter.get("web"), arbiter.get("redis")
        await eventually(lambda: len(redis.live()) == 2)
        assert web.state == WAITING and redis.ready() == 0
        assert web.waiting_for is not None and "0/2 ready" in web.waiting_for
        gate.touch()
        await eventually(lambda: web.state == ACTIVE)
        assert len(recorder.of(events.Ready, "redis")) == 2
        assert max(
            i for i, e in enumerate(recorder.events) if isinstance(e, events.Ready)
        ) < _index(recorder.events, events.Spawned, "web")


async def test_restarting_a_dependency_leaves_its_dependents_running(short_path: Path) -> None:
    body = (
        '[watchers.web]\ncmd = "sleep 60"\ngraceful_timeout = 1\n'
        'depends_on = { redis = "started" }\n'
        '[watchers.redis]\ncmd = "sleep 60"\ngraceful_timeout = 1\n'
    )
    async with running_core(short_path, body) as (arbiter, recorder):
        web, redis = arbiter.get("web"), arbiter.get("redis")
        await eventually(lambda: web.state == ACTIVE and len(web.pids()) == 1)
        before, redis_before = web.pids(), redis.pids()
        await redis.restart()
        assert redis.state == ACTIVE and redis.pids() != redis_before
        assert web.pids() == before and web.state == ACTIVE
        assert not recorder.of(events.Stopping, "web")


async def test_stop_goes_in_reverse_dependency_order(short_path: Path) -> None:
    # db has the higher priority, but order comes from depends_on first.
    body = (
        '[watchers.db]\ncmd = "sleep 60"\npriority = 5\n'
        '[watchers.app]\ncmd = "sleep 60"\ndepends_on = ["db"]\npriority = 9\n'
        '[watchers.edge]\ncmd = "sleep 60"\ndepends_on = { app = "started" }\n'
    )
    async with running_core(short_path, body) as (arbiter, recorder):
        await eventually(lambda: all(w.state == ACTIVE for w in arbiter.watchers.values()))
        started = [e.watcher for e in recorder.of(events.Spawned)]
        assert started == ["db", "app", "edge"]
    stopped = [e.watcher for e in recorder.of(events.Stopping)]
    assert stopped == ["edge", "app", "db"]


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (
            '[watchers.a]\ncmd = "x"\ndepends_on = { b = "ready" }\n'
            '[watchers.b]\ncmd = "x"\ndepends_on = { a = "started" }\n',
            ":3: watchers.a.depends_on.b: a dependency cycle: a -> b -> a",
        ),
        (
            '[watchers.a]\ncmd = "x"\ndepends_on = { nope = "ready" }\n',
            ":3: watchers.a.depends_on.nope: no such watcher",
        ),
        (
            '[watchers.a]\ncmd = "x"\ndepends_on = { a = "ready" }\n',
            ":3: watchers.a.depends_on.a: a watcher cannot depend on itself",
        ),
        (
            '[watchers.a]\ncmd = "x"\ndepends_on = { b = "healthy" }\n[watchers.b]\ncmd = "x"\n',
            ':3: watchers.a.depends_on: b: expected "started", "ready", "completed"',
        ),
    ],
)
def test_bad_dependencies_are_config_errors(body: str, where: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config_text(body, Path("/etc/programs.toml"))
    assert str(caught.value) == "/etc/programs.toml" + where
