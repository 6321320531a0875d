"""A watcher's log on a full filesystem: said everywhere, counted, never a torn line, and
written again once there is room."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Subscriber, wait_for

# Numbered lines, 100 bytes each, until told to stop: a gate file tells it how many to write.
WRITER = """
import os, sys, time
gate, n = sys.argv[1], 0
while True:
    want = int(open(gate).read() or 0) if os.path.exists(gate) else 0
    while n < want:
        n += 1
        sys.stdout.write(f"line {n:08d} " + "x" * 85 + "\\n")
    sys.stdout.flush()
    time.sleep(0.01)
"""
LINE = re.compile(rb"^\S+ \d+ stdout  line (\d{8}) x{85}$")


@pytest.fixture
def small_disk() -> Iterator[Path]:
    if os.getuid() != 0:
        pytest.skip("needs root to mount a small filesystem")
    where = Path(f"/tmp/ct-disk-{os.getpid()}-{os.urandom(2).hex()}")
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k,mode=0755", "tmpfs", str(where)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        where.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)
    where.rmdir()


def test_a_full_disk_is_reported_counted_never_tears_a_line_and_resumes(
    daemon_factory: Any, small_disk: Path, tmp_path: Path
) -> None:
    script, gate = tmp_path / "writer.py", tmp_path / "gate"
    script.write_text(WRITER)
    log = small_disk / "w.log"
    d = daemon_factory(
        f'[watchers.w]\ncmd = "{sys.executable} {script} {gate}"\n'
        f'stdout_file = "{log}"\nmax_bytes = 0\noutput_buffer = 100000\n'
    )
    events = Subscriber(d.pubsub_endpoint, b"watcher.w.")
    try:
        d.wait_pids("w", 1)
        # A filler takes most of the room; what is left fills up with the first lines.
        filler = small_disk / "filler"
        filler.write_bytes(b"\0" * 150_000)
        gate.write_text("3000")  # about 400 KB of log lines: far more than is left
        error = events.wait("watcher.w.log_error", timeout=20)
        assert error["path"] == str(log)
        assert "No space left on device" in error["reason"]
        wait_for(lambda: len(d.call("tail", name="w", count=5000)["lines"]) == 3000, timeout=30)
        details = d.call("status", name="w")["details"]
        assert "No space left on device" in details["log_error"]
        on_disk = log.read_bytes().splitlines()
        numbers = [int(LINE.match(line).group(1)) for line in on_disk]  # type: ignore[union-attr]
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
        assert details["log_lines_lost"] == 3000 - len(numbers) > 0
        # Room again: the next lines are written, and that is said too.
        filler.unlink()
        gate.write_text("3010")
        resumed = events.wait("watcher.w.log_resumed", timeout=20)
        assert resumed["lost"] == 3000 - len(numbers)
        wait_for(lambda: log.read_bytes().endswith(b"line 00003010 " + b"x" * 85 + b"\n"))
        assert d.call("status", name="w")["details"]["log_error"] is None
        tail = log.read_bytes().splitlines()[len(on_disk) :]
        assert [int(LINE.match(ln).group(1)) for ln in tail] == list(range(3001, 3011))  # type: ignore[union-attr]
    finally:
        events.close()
        d.stop()
    assert "No space left on device" in (d.dir / "daemon.log").read_text()
