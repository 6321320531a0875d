"""Circus's idioms on a real core: `PATH = "$PATH:/opt/extra"` finds a program in the extra
directory, and `$(circus.env.NAME)` in a log file's name and a socket's path makes them where
the variable says (not a directory named after the variable)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.core import running_core
from tests.support.waiting import eventually


async def test_env_expansion_finds_the_program_and_places_files(
    short_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = short_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "ct-tool"
    tool.write_text(f'#!/bin/sh\necho "tool ran in $PWD"\ntouch {short_path}/ran\nexec sleep 600\n')
    tool.chmod(0o755)
    run_dir = short_path / "run"
    run_dir.mkdir(mode=0o700)
    monkeypatch.setenv("CT_ENV_RUN", str(run_dir))
    body = (
        '[sockets.admin]\npath = "$(circus.env.CT_ENV_RUN)/admin.sock"\n'
        '[watchers.tool]\ncmd = "ct-tool"\ngraceful_timeout = 1\n'
        'working_dir = "$(circus.env.WORK)"\n'
        'stdout_file = "$(circus.env.LOGDIR)/tool.log"\n'
        f'[watchers.tool.env]\nPATH = "$PATH:{bin_dir}"\nWORK = "{short_path}"\n'
        f'LOGDIR = "{short_path}/logs"\n'
    )
    (short_path / "logs").mkdir(mode=0o700)
    async with running_core(short_path, body) as (arbiter, _):
        await eventually(lambda: (short_path / "ran").exists())
        log = short_path / "logs" / "tool.log"
        await eventually(lambda: log.exists() and b"tool ran in" in log.read_bytes())
        assert f"tool ran in {short_path}".encode() in log.read_bytes()
        assert (run_dir / "admin.sock").is_socket()
        assert not any("circus" in p.name for p in short_path.rglob("*")), list(
            short_path.rglob("*")
        )
        assert arbiter.watchers["tool"].state == "active"
