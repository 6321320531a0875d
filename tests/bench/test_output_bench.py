"""Output throughput: one flooding child to disk through the daemon, nothing lost, against
the same child writing into a plain pipe read by `cat > /dev/null`, in the same run.

Run with `make bench`; prints a BENCH line, asserts only that nothing was lost.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

from tests.conftest import start_daemon, wait_for

LINES = int(os.environ.get("BENCH_FLOOD_LINES", "2000000"))
FLOOD = f"""
import sys
out = sys.stdout.buffer
line = b'flood line %09d of the benchmark\\n'
for start in range(0, {LINES}, 10_000):
    out.write(b''.join(line % i for i in range(start, start + 10_000)))
out.flush()
"""


def test_flood_to_disk_against_cat(tmp_path: Path) -> None:
    script = tmp_path / "flood.py"
    script.write_text(FLOOD)

    started = time.perf_counter()
    subprocess.run(
        f"{sys.executable} {script} | cat > /dev/null", shell=True, check=True, timeout=600
    )
    cat_seconds = time.perf_counter() - started

    short = Path(f"/tmp/cob-{os.getpid()}")
    d = start_daemon(
        short,
        f'[watchers.flood]\ncmd = "{sys.executable} {script}"\nautostart = false\n'
        "respawn = false\nmax_bytes = 0\n",
    )
    try:
        log = d.state_dir / "logs" / "flood.log"
        daemon = psutil.Process(d.proc.pid)
        peak = [daemon.memory_info().rss]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.05):
                peak.append(daemon.memory_info().rss)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        last = f"{LINES - 1:09d}".encode()
        started = time.perf_counter()
        d.call("start", name="flood", waiting=True)

        def complete() -> bool:
            if not log.exists():
                return False
            with open(log, "rb") as fh:
                fh.seek(max(0, log.stat().st_size - 200))
                return last in fh.read()

        wait_for(complete, timeout=600, interval=0.01)
        daemon_seconds = time.perf_counter() - started
        done.set()
        sampler.join()
        with open(log, "rb") as fh:
            count = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
        assert count == LINES
    finally:
        d.stop()
        subprocess.run(["rm", "-rf", str(short)], check=False)

    ours = LINES / daemon_seconds
    baseline = LINES / cat_seconds
    print(
        f"\nBENCH flood of {LINES} lines: through the daemon to disk {ours:,.0f} lines/s "
        f"({daemon_seconds:.2f} s, none lost), child | cat > /dev/null {baseline:,.0f} lines/s "
        f"({cat_seconds:.2f} s), ratio {ours / baseline:.2f}; daemon RSS peak "
        f"{max(peak) / 2**20:.1f} MiB (at rest {peak[0] / 2**20:.1f} MiB)"
    )
