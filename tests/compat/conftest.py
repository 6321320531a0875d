"""The compatibility suite runs each test against our daemon and against Circus 0.19's circusd.

The `circusd` runs prove that the assertions describe what the real tools do; select one side
with `-m circusd` or `-m "not circusd"`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from compat_support import (
    CIRCUSD_IMPL,
    OURS,
    CtlRunner,
    Supervise,
    Supervisor,
    Watchers,
    start_circusd,
    start_ours,
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "circusd: the test runs against Circus 0.19's real circusd (the reference)"
    )


@pytest.fixture(
    params=[pytest.param(OURS, id=OURS), pytest.param(CIRCUSD_IMPL, marks=pytest.mark.circusd)]
)
def impl(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def ctl_runner() -> Iterator[CtlRunner]:
    runner = CtlRunner()
    yield runner
    runner.cleanup()


@pytest.fixture
def supervise(impl: str, ctl_runner: CtlRunner) -> Iterator[Supervise]:
    """`supervise(watchers, stats=False)` starts a supervisor running `watchers`.

    `stats` matters only for circusd, where a stats endpoint means an extra watcher.
    """
    started: list[Supervisor] = []
    short = Path(f"/tmp/cc-{os.getpid()}-{os.urandom(3).hex()}")

    def start(watchers: Watchers, stats: bool = False) -> Supervisor:
        if impl == CIRCUSD_IMPL:
            sup = start_circusd(short / f"r{len(started)}", watchers, stats, ctl_runner)
        else:
            sup = start_ours(short / f"d{len(started)}", watchers, ctl_runner)
        started.append(sup)
        return sup

    yield start
    for sup in started:
        sup.stop()
    shutil.rmtree(short, ignore_errors=True)
