"""The package as users get it: an sdist and a wheel built from this tree, the wheel installed
(not editable) into a fresh venv, and everything run from that venv alone, in a directory that
is not the source tree, with an environment that names nothing of ours."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import wait_for
from tests.support.procs import gone

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = (".py", ".tcss")
NOT_SOURCES = (".*", "build", "dist", "*.egg-info", "__pycache__", "snapshots", "docs")

# One build for the module's tests: they run in one worker (`--dist loadgroup`).
pytestmark = pytest.mark.xdist_group("wheel")


@dataclass
class Installed:
    wheel: Path
    bin: Path
    home: Path  # the working directory, $HOME and $XDG_RUNTIME_DIR's parent
    env: dict[str, str]

    def run(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            cwd=self.home,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


@pytest.fixture(scope="module")
def installed() -> Iterator[Installed]:
    # Short: the default ipc endpoints live under $XDG_RUNTIME_DIR, and unix socket paths are
    # limited to about 100 bytes.
    top = Path(f"/tmp/ct-wheel-{os.getpid()}-{os.urandom(3).hex()}")
    dist, home, venv, tree = top / "dist", top / "home", top / "venv", top / "tree"
    (home / "run").mkdir(parents=True, mode=0o700)
    # A copy of the tree: a build writes into the tree it builds (egg-info, a staging folder),
    # and must not meet a `make dist` or another build there.
    shutil.copytree(ROOT, tree, ignore=shutil.ignore_patterns(*NOT_SOURCES))
    build = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(dist), str(tree)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    wheel = next(dist.glob("*.whl"))
    assert next(dist.glob("*.tar.gz"))
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    # Nothing of the source tree may be importable: the wheel alone is under test.
    pip = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
        capture_output=True,
        text=True,
        cwd=home,
        timeout=600,
    )
    assert pip.returncode == 0, pip.stderr[-3000:]
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(home),
        "XDG_RUNTIME_DIR": str(home / "run"),
        "LANG": "C.UTF-8",
    }
    yield Installed(wheel, venv / "bin", home, env)
    shutil.rmtree(top, ignore_errors=True)


def test_the_wheel_holds_every_module_and_stylesheet_of_the_tree(installed: Installed) -> None:
    names = {n for n in zipfile.ZipFile(installed.wheel).namelist() if ".dist-info/" not in n}
    tree = {str(p.relative_to(ROOT)) for d in ("daemon", "tui") for p in (ROOT / d).rglob("*.py")}
    tree |= {f"tui/styles/{p.name}" for p in (ROOT / "styles").iterdir() if p.suffix in SHIPPED}
    assert "tui/styles/app.tcss" in tree
    # Nothing missing (a package the list in pyproject.toml forgot), nothing else.
    assert names == tree


def test_version_and_help_from_the_installed_package(installed: Installed) -> None:
    version = installed.run("circus-tui", "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == "circus-tui 0.1.0"
    assert installed.run("circus-tui", "-V").stdout == version.stdout
    helped = installed.run("circus-tui", "--help")
    assert helped.returncode == 0
    for word in ("--endpoint", "--config", "--readonly", "daemon", "ctl", "convert"):
        assert word in helped.stdout


def test_daemon_ctl_and_console_from_the_installed_package(installed: Installed) -> None:
    config = installed.home / "smoke.toml"
    config.write_text(
        textwrap.dedent(
            """\
            [circus]
            state_dir = "state"

            [watchers.sleeper]
            cmd = "sleep 300"
            numprocesses = 2
            """
        )
    )
    started = installed.run("circus-tui", "daemon", str(config), "--daemonize")
    assert started.returncode == 0, started.stderr
    pid = int(installed.run("circus-tui", "ctl", "globaloptions", "pid").stdout.split()[-1])
    try:
        status = installed.run("circus-tui", "ctl", "status")
        assert status.returncode == 0, status.stderr
        assert status.stdout.startswith("sleeper: active"), status.stdout
        # The console, headless: its stylesheets load from the wheel, it attaches to the
        # daemon on the default endpoint and draws the watcher with both processes.
        console = subprocess.run(
            [str(installed.bin / "python"), "-I", "-c", CONSOLE_SMOKE],
            cwd=installed.home,
            env=installed.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert console.returncode == 0, console.stdout + console.stderr
        assert console.stdout.strip() == "shown: sleeper 2/2", console.stdout + console.stderr
    finally:
        quit_ = installed.run("circus-tui", "ctl", "quit")
        try:
            wait_for(lambda: gone(pid), timeout=30)
        finally:
            # A daemon that would not quit must not outlive the test (its guardian then
            # ends its programs).
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    assert quit_.returncode == 0, quit_.stderr
    assert installed.run("circus-tui", "ctl", "status").returncode == 1


CONSOLE_SMOKE = """
import asyncio, time
from tui.app import CircusApp
from daemon.paths import default_endpoints

async def main():
    app = CircusApp(default_endpoints()["endpoint"])
    async with app.run_test(size=(100, 30)) as pilot:
        deadline = time.monotonic() + 60
        while True:
            screen = app.export_screenshot()
            if "sleeper" in screen and "2/2" in screen:
                break
            assert time.monotonic() < deadline, "the console never showed the watcher"
            await pilot.pause(0.1)
        await pilot.press("q")
    assert app.return_code == 0, app.return_code
    print("shown: sleeper 2/2")

asyncio.run(main())
"""
