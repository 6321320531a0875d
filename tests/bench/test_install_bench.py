"""Benchmarks of the package as users get it, against Circus 0.19 measured in the same run.

- the wheel's size, against Circus 0.19.0's wheel;
- installing it into a fresh venv (creating the venv included; dependencies come from pip's
  cache when it has them, so run twice to see the cached figure), against the same for
  `circus==0.19.0`;
- `circus-tui --version` from that venv, against `circusd --version` and `python -c pass`
  (the floor: the interpreter's own start-up), median of `BENCH_VERSION_RUNS` (default 15);
- from `kill -QUIT` of the daemon to its exit with 100 processes, against circusd.

Run with `make bench` or `pytest -q -s tests/bench/test_install_bench.py`.
"""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bench.test_daemon_bench import (
    CIRCUSD_NAME,
    OURS,
    REPO,
    Supervisor,
    ms,
    ratio,
    start_circusd,
    start_ours,
)
from tests.support.procs import alive

VERSION_RUNS = int(os.environ.get("BENCH_VERSION_RUNS", "15"))


@pytest.fixture
def work() -> Iterator[Path]:
    path = Path(f"/tmp/cib-{os.getpid()}-{os.urandom(3).hex()}")
    path.mkdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _timed(argv: list[str], **kwargs: object) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, timeout=900, **kwargs)  # type: ignore[call-overload]
    return time.perf_counter() - t0


def _fresh_install(venv: Path, requirement: str) -> float:
    """Seconds to make a venv and pip-install `requirement` into it."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    _timed([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", requirement])
    return time.perf_counter() - t0


def _median_run(argv: list[str]) -> float:
    return statistics.median(_timed(argv, cwd="/") for _ in range(VERSION_RUNS))


@pytest.mark.timeout(1800)
def test_wheel_install_and_version(work: Path) -> None:
    _timed([sys.executable, "-m", "build", "--wheel", "--outdir", str(work / "dist"), str(REPO)])
    wheel = next((work / "dist").glob("*.whl"))
    _timed(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "circus==0.19.0"],
        cwd=work,
    )
    circus_wheel = next(work.glob("circus-0.19.0*"))

    ours_install = _fresh_install(work / "v-ours", str(wheel))
    circus_install = _fresh_install(work / "v-circus", "circus==0.19.0")

    ours_version = _median_run([str(work / "v-ours" / "bin" / "circus-tui"), "--version"])
    circus_version = _median_run([str(work / "v-circus" / "bin" / "circusd"), "--version"])
    floor = _median_run([str(work / "v-ours" / "bin" / "python"), "-c", "pass"])

    size, circus_size = wheel.stat().st_size, circus_wheel.stat().st_size
    print()
    print(
        f"BENCH wheel size: ours {size / 1024:.0f} KiB ({wheel.name}), circus 0.19.0 "
        f"{circus_size / 1024:.0f} KiB ({circus_wheel.name}), ratio {ratio(size, circus_size)}"
    )
    print(
        f"BENCH install into a fresh venv (venv + pip install, pip's cache as it is): ours "
        f"{ours_install:.1f} s, circus 0.19.0 {circus_install:.1f} s, "
        f"ratio {ratio(ours_install, circus_install)}"
    )
    print(
        f"BENCH `circus-tui --version` median of {VERSION_RUNS}: {ms(ours_version)}, "
        f"`circusd --version` {ms(circus_version)}, ratio {ratio(ours_version, circus_version)}; "
        f"`python -c pass` {ms(floor)}"
    )
    assert ours_version > 0


def _quit_on_sigquit(sup: Supervisor, name: str) -> tuple[float, int]:
    pids = sup.wait_running(name, 100, timeout=120.0)
    sup.snapshot()
    t0 = time.perf_counter()
    os.kill(sup.proc.pid, signal.SIGQUIT)
    code = sup.proc.wait(120)
    elapsed = time.perf_counter() - t0
    assert sum(1 for p in pids if alive(p)) == 0, f"{sup.kind} left processes running"
    return elapsed, code


@pytest.mark.timeout(600)
def test_sigquit_to_exit_with_100_processes(work: Path) -> None:
    herd = {"cmd": "sleep 100000", "numprocesses": 100}
    results: dict[str, tuple[float, int]] = {}
    with start_ours(work / "q1", {"herd": herd}) as ours:
        results[OURS] = _quit_on_sigquit(ours, "herd")
    with start_circusd(work / "q2", {"herd": herd}, stats=False) as theirs:
        results[CIRCUSD_NAME] = _quit_on_sigquit(theirs, "herd")
    (t_ours, code_ours), (t_circus, code_circus) = results[OURS], results[CIRCUSD_NAME]
    print()
    print(
        f"BENCH kill -QUIT to exit, 100 `sleep` processes: ours {ms(t_ours)} (exit {code_ours}), "
        f"circusd {ms(t_circus)} (exit {code_circus}), ratio {ratio(t_ours, t_circus)}"
    )
    assert code_ours == 0
