"""Shared fixtures: a real daemon in a subprocess, on ipc endpoints in the test's own directory.

The harness itself is in tests/support/; its names stay importable from here
(`from tests.conftest import RunningDaemon, wait_for, ...`), as tests have always written them.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from hypothesis import settings

from tests.support.configs import write_config
from tests.support.daemon import (
    CIRCUS_TUI,
    VENV_BIN,
    RunningDaemon,
    Subscriber,
    raw_call,
    start_daemon,
)
from tests.support.dirs import short_dir
from tests.support.waiting import until, wait_for

__all__ = [
    "CIRCUS_TUI",
    "VENV_BIN",
    "RunningDaemon",
    "Subscriber",
    "raw_call",
    "start_daemon",
    "until",
    "wait_for",
    "write_config",
]

# CI replays the same examples on every run (HYPOTHESIS_PROFILE=ci, set by .ci/run): what
# lands was checked on exactly those. Local runs draw new ones each time and so keep looking.
settings.register_profile("ci", derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def daemon_factory(tmp_path: Path) -> Iterator[Callable[..., RunningDaemon]]:
    started: list[RunningDaemon] = []
    # ipc paths are limited to ~107 bytes; pytest's tmp_path can be long, so use a short dir.
    short = Path(f"/tmp/ct-{os.getpid()}-{os.urandom(3).hex()}")

    def factory(
        body: str,
        circus_extra: str = "",
        sub: str = "d",
        launcher: Sequence[str] = (),
        endpoint: str | None = None,
    ) -> RunningDaemon:
        d: RunningDaemon = start_daemon(short / sub, body, circus_extra, launcher, endpoint)
        started.append(d)
        return d

    yield factory
    for d in started:
        d.stop()
    subprocess.run(["rm", "-rf", str(short)], check=False)


@pytest.fixture
def short_path() -> Iterator[Path]:
    """A private directory with a short path, for a core run in-process (unix socket paths)."""
    with short_dir("cc") as path:
        yield path
