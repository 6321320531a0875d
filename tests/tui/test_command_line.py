"""`circus-tui` as typed at a shell: version, help, and endpoints it cannot use."""

from __future__ import annotations

import re
import subprocess
from importlib.metadata import version

import pytest

from daemon.commands import COMMANDS
from tests.conftest import CIRCUS_TUI


def circus_tui(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CIRCUS_TUI, *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_comes_from_the_package_metadata(flag: str) -> None:
    run = circus_tui(flag)
    assert run.returncode == 0, run.stderr
    assert run.stdout == f"circus-tui {version('circus-tui')}\n"


def test_help_lists_the_console_options_and_every_subcommand() -> None:
    run = circus_tui("--help")
    assert run.returncode == 0
    for option in ("--endpoint", "--config", "--readonly", "--version"):
        assert option in run.stdout
    for sub in ("daemon", "ctl", "convert"):
        # A line each: the name, then what it does.
        assert re.search(rf"^  {sub} .*\w+ \w+", run.stdout, re.M), run.stdout


def test_ctl_help_describes_every_command_the_daemon_knows() -> None:
    run = circus_tui("ctl", "--help")
    assert run.returncode == 0
    described = dict(re.findall(r"^    (\w+) +(\S.*)$", run.stdout, re.M))
    assert set(COMMANDS) <= set(described), set(COMMANDS) - set(described)


@pytest.mark.parametrize(
    "args",
    [
        ["--endpoint", "ftp://host/run/control.sock"],
        ["ctl", "--endpoint", "http://127.0.0.1:5555", "status"],
        ["ctl", "--endpoint", "tcp://127.0.0.1", "status"],
        ["ctl", "--endpoint", "/run/control.sock", "status"],
    ],
)
def test_an_endpoint_it_cannot_use_is_one_line_and_status_2(args: list[str]) -> None:
    run = circus_tui(*args)
    assert run.returncode == 2, run.stderr
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert args[args.index("--endpoint") + 1] in lines[0]
    assert "ipc://" in lines[0] and "tcp://" in lines[0]  # what would do instead
