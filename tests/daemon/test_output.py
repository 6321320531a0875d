"""Program output: complete, in order, faithful, bounded, and never blocking a child."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from daemon.logfile import LogFile
from tests.conftest import RunningDaemon, Subscriber, wait_for

PY = sys.executable


def log_lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")[:-1]


def payload(line: bytes) -> bytes:
    """The program's text from one log line: `<time> <pid> <stream><mark> <text>`."""
    return line.split(b" ", 3)[3][1:]


def script(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


def counter(tmp_path: Path, word: str) -> Path:
    """A program that prints `word N` for N = 0, 1, 2 ... twenty times a second."""
    return script(
        tmp_path,
        f"{word}.py",
        "import time\n"
        "i = 0\n"
        "while True:\n"
        f"    print({word!r}, i, flush=True); i += 1; time.sleep(0.05)\n",
    )


def gated(gate: Path) -> str:
    """The start of a program that says `ready` until `gate` exists: the test opens it once
    its subscriber hears the program (see `open_gate`), so nothing after is missed."""
    return (
        "import os, time\n"
        f"while not os.path.exists({str(gate)!r}):\n"
        "    print('ready', flush=True); time.sleep(0.05)\n"
    )


def open_gate(sub: Subscriber, topic: str, gate: Path) -> None:
    sub.wait(topic, timeout=15)  # the daemon publishes to us: our subscription is in
    gate.touch()


def test_a_million_lines_land_complete_and_in_order(daemon_factory: Any, tmp_path: Path) -> None:
    flood = script(
        tmp_path,
        "flood.py",
        "import sys\n"
        "out = sys.stdout.buffer\n"
        "for start in range(0, 1_000_000, 10_000):\n"
        "    out.write(b''.join(b'line %d\\n' % i for i in range(start, start + 10_000)))\n"
        "out.flush()\n"
        "import time; time.sleep(1000)\n",
    )
    d = daemon_factory(f'[watchers.flood]\ncmd = "{PY} {flood}"\nmax_bytes = 0\n')
    log = d.state_dir / "logs" / "flood.log"

    def complete() -> bool:
        return log.exists() and log.stat().st_size > 0 and log_lines(log)[-1].endswith(b"999999")

    wait_for(complete, timeout=60, interval=0.2)
    lines = log_lines(log)
    assert len(lines) == 1_000_000
    assert [payload(ln) for ln in lines[::99_999]] == [
        b"line %d" % i for i in range(0, 1_000_000, 99_999)
    ]
    numbers = [int(ln.rsplit(b" ", 1)[1]) for ln in lines]
    assert numbers == list(range(1_000_000))
    reply = d.call("tail", name="flood", count=3)
    assert [ln["data"] for ln in reply["lines"]] == ["line 999997", "line 999998", "line 999999"]
    assert reply["last_seq"] == 1_000_000


def test_a_10_mb_line_without_newline_is_split_and_marked(
    daemon_factory: Any, tmp_path: Path
) -> None:
    big = script(
        tmp_path,
        "big.py",
        "import sys, time\n"
        "sys.stdout.buffer.write(b'x' * (10 * 1024 * 1024)); sys.stdout.flush()\n"
        "print('after', flush=True)\n"
        "time.sleep(1000)\n",
    )
    d = daemon_factory(f'[watchers.big]\ncmd = "{PY} {big}"\n')
    wait_for(lambda: any(ln["data"] == "after" for ln in d.call("tail", name="big")["lines"]))
    lines = d.call("tail", name="big", count=200)["lines"]
    pieces = [ln for ln in lines if ln["data"].startswith("x")]
    assert sum(len(ln["data"]) for ln in pieces) == 10 * 1024 * 1024
    assert all(len(ln["data"]) <= 65536 for ln in pieces)
    assert all(ln["partial"] for ln in pieces[:-1])
    # The daemon stayed responsive and small while it happened.
    assert d.call("numwatchers")["numwatchers"] == 1
    assert psutil.Process(d.proc.pid).memory_info().rss < 300 * 1024 * 1024


def test_binary_and_invalid_utf8_are_kept_faithfully_on_disk(
    daemon_factory: Any, tmp_path: Path
) -> None:
    raw = b"\xff\xfe bad \xc3\x28 utf8 \x1b]0;pwned\x07 \x1b[2J \x00 nul"
    prog = script(
        tmp_path,
        "bin.py",
        f"import sys, time\nsys.stdout.buffer.write({raw!r} + b'\\n'); sys.stdout.flush()\n"
        "time.sleep(1000)\n",
    )
    d = daemon_factory(f'[watchers.bin]\ncmd = "{PY} {prog}"\n')
    log = d.state_dir / "logs" / "bin.log"
    wait_for(lambda: log.exists() and log.stat().st_size > 0)
    assert payload(log_lines(log)[0]) == raw
    line = d.call("tail", name="bin")["lines"][0]
    assert line["data"] == raw.decode("utf-8", "replace")
    # What `ctl tail` prints to a terminal carries no escape or control character.
    shown = d.ctl("tail", "bin").stdout
    assert "\x1b" not in shown and "\x07" not in shown and "\x00" not in shown
    assert "bad" in shown


def test_output_right_before_exit_is_read_before_the_reap(
    daemon_factory: Any, tmp_path: Path
) -> None:
    prog = script(
        tmp_path,
        "last.py",
        "import os, sys\n"
        "sys.stdout.write('x' * 100000 + '\\n')\n"
        "print('last words', flush=True)\n"
        "print('on stderr', file=sys.stderr, flush=True)\n"
        "os._exit(4)\n",
    )
    d = daemon_factory(f'[watchers.last]\ncmd = "{PY} {prog}"\nrespawn = false\n')
    wait_for(lambda: d.call("status", name="last")["details"]["running"] == 0, timeout=15)
    texts = [ln["data"] for ln in d.call("tail", name="last")["lines"]]
    assert texts[-2:] in (["last words", "on stderr"], ["on stderr", "last words"])
    assert texts[0] == "x" * 65536 and texts[1] == "x" * (100000 - 65536)


def test_reap_comes_after_the_last_output_batch(daemon_factory: Any, tmp_path: Path) -> None:
    gate = tmp_path / "go"
    prog = script(
        tmp_path,
        "ordered.py",
        gated(gate) + "print('goodbye', flush=True)\nos._exit(0)\n",
    )
    d = daemon_factory(f'[watchers.ordered]\ncmd = "{PY} {prog}"\nrespawn = false\n')
    sub = Subscriber(d.pubsub_endpoint)
    try:
        open_gate(sub, "output.ordered.", gate)
        sub.wait("watcher.ordered.reap", timeout=15)
        topics = [t for t, _ in sub.seen]
        output_at = max(i for i, t in enumerate(topics) if t == "output.ordered.")
        assert output_at < topics.index("watcher.ordered.reap")
        assert "goodbye" in [ln["data"] for ln in sub.seen[output_at][1]["lines"]]
    finally:
        sub.close()


def test_rotation_under_load_loses_nothing(daemon_factory: Any, tmp_path: Path) -> None:
    flood = script(
        tmp_path,
        "rot.py",
        "import sys, time\n"
        "for i in range(200_000):\n"
        "    sys.stdout.write('rotating line %06d\\n' % i)\n"
        "sys.stdout.flush()\n"
        "time.sleep(1000)\n",
    )
    d = daemon_factory(
        f'[watchers.rot]\ncmd = "{PY} {flood}"\nmax_bytes = 1000000\nbackup_count = 20\n'
    )
    log = d.state_dir / "logs" / "rot.log"

    def files() -> list[Path]:
        rotated = sorted(
            log.parent.glob("rot.log.*"), key=lambda p: int(p.suffix[1:]), reverse=True
        )
        return [*rotated, log]

    wait_for(
        lambda: log.exists() and log_lines(log) and log_lines(log)[-1].endswith(b"199999"),
        timeout=60,
        interval=0.2,
    )
    numbers = [int(ln.rsplit(b" ", 1)[1]) for f in files() for ln in log_lines(f)]
    assert numbers == list(range(200_000))
    assert all(f.stat().st_size <= 1_000_000 for f in files())


def test_external_logrotate_and_sigusr1_reopen(daemon_factory: Any, tmp_path: Path) -> None:
    prog = script(
        tmp_path,
        "slow.py",
        "import time\n"
        "i = 0\n"
        "while True:\n"
        "    print('tick', i, flush=True); i += 1; time.sleep(0.02)\n",
    )
    d = daemon_factory(f'[watchers.slow]\ncmd = "{PY} {prog}"\n')
    log = d.state_dir / "logs" / "slow.log"
    wait_for(lambda: log.exists() and len(log_lines(log)) > 5)
    moved = log.with_name("slow.log.old")
    os.rename(log, moved)
    wait_for(lambda: log.exists() and len(log_lines(log)) > 5, timeout=10)
    os.rename(log, log.with_name("slow.log.older"))
    d.proc.send_signal(signal.SIGUSR1)
    wait_for(lambda: log.exists() and len(log_lines(log)) > 5, timeout=10)
    all_lines = [ln for f in (moved, log.with_name("slow.log.older"), log) for ln in log_lines(f)]
    numbers = [int(ln.rsplit(b" ", 1)[1]) for ln in all_lines]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))


def test_a_stopped_subscriber_costs_nothing(daemon_factory: Any, tmp_path: Path) -> None:
    flood = script(
        tmp_path,
        "noisy.py",
        "import sys, time\n"
        "n, pad = 0, 'y' * 200\n"
        "while True:\n"
        "    sys.stdout.write(''.join('noise %d %s\\n' % (n + i, pad) for i in range(1000)))\n"
        "    n += 1000\n",
    )
    d = daemon_factory(f'[watchers.noisy]\ncmd = "{PY} {flood}"\nmax_bytes = 50000000\n')
    # A follower stopped with SIGSTOP: subscribed, never reading again.
    import subprocess

    follower = subprocess.Popen(
        [PY, "-m", "tui.cli", "ctl", "--endpoint", d.endpoint, "tail", "noisy", "-f"],
        stdout=subprocess.DEVNULL,
    )
    wait_for(lambda: d.call("tail", name="noisy", count=1)["last_seq"] > 10_000, timeout=30)
    follower.send_signal(signal.SIGSTOP)
    try:
        daemon = psutil.Process(d.proc.pid)
        wait_for(lambda: d.call("tail", name="noisy", count=1)["last_seq"] > 100_000, timeout=30)
        rss_early = daemon.memory_info().rss
        seq_early = d.call("tail", name="noisy", count=1)["last_seq"]
        wait_for(
            lambda: d.call("tail", name="noisy", count=1)["last_seq"] > seq_early + 300_000,
            timeout=60,
        )
        # The child kept writing at full speed and the daemon's memory stayed bounded.
        assert daemon.memory_info().rss < rss_early + 80 * 1024 * 1024
        assert d.call("numwatchers")["numwatchers"] == 1
    finally:
        follower.kill()
        follower.wait()


def test_ctl_tail_follows(daemon_factory: Any, tmp_path: Path) -> None:
    import subprocess

    prog = counter(tmp_path, "follow")
    d: RunningDaemon = daemon_factory(f'[watchers.f]\ncmd = "{PY} {prog}"\n')
    wait_for(lambda: d.call("tail", name="f")["lines"])
    proc = subprocess.Popen(
        [PY, "-m", "tui.cli", "ctl", "--endpoint", d.endpoint, "tail", "f", "-n", "1", "-f"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        got = [proc.stdout.readline() for _ in range(20)]
        numbers = [int(line.split()[-1]) for line in got]
        assert numbers == list(range(numbers[0], numbers[0] + 20))
    finally:
        proc.kill()
        proc.wait()


def test_output_options_change_with_set(daemon_factory: Any, tmp_path: Path) -> None:
    prog = counter(tmp_path, "talk")
    d = daemon_factory(f'[watchers.talk]\ncmd = "{PY} {prog}"\nstdout = "discard"\n')
    d.wait_pids("talk", 1)
    assert d.call("tail", name="talk")["lines"] == []
    custom = tmp_path / "talk-custom.log"
    reply = d.call(
        "set", name="talk", options={"stdout": "pipe", "stdout_file": str(custom)}, waiting=True
    )
    assert reply["status"] == "ok", reply
    wait_for(lambda: d.call("tail", name="talk")["lines"], timeout=10)
    wait_for(lambda: custom.exists() and b"talk" in custom.read_bytes(), timeout=10)
    assert d.call("status", name="talk")["status"] == "active"


def test_many_short_lines_in_one_read_are_published_in_bounded_batches(
    daemon_factory: Any, tmp_path: Path
) -> None:
    gate = tmp_path / "go"
    prog = script(
        tmp_path,
        "burst.py",
        gated(gate) + "import sys\n"
        "sys.stdout.write('x\\n' * 20000); sys.stdout.flush()\n"
        "time.sleep(1000)\n",
    )
    d = daemon_factory(f'[watchers.burst]\ncmd = "{PY} {prog}"\n')
    sub = Subscriber(d.pubsub_endpoint, b"output.burst.")
    try:
        open_gate(sub, "output.burst.", gate)
        got = 0
        deadline = time.monotonic() + 20
        while got < 20000 and time.monotonic() < deadline:
            item = sub.next()
            if item is not None:
                batch = item[1]
                got += sum(1 for line in batch["lines"] if line["data"] == "x")
                assert batch["last"] - batch["first"] + 1 == len(batch["lines"])
                assert len(batch["lines"]) <= 500
        assert got == 20000
    finally:
        sub.close()


def test_a_burst_larger_than_max_bytes_rotates_as_it_is_written(tmp_path: Path) -> None:
    # circusd's FileStream rotates within one read of the pipe; a burst must not make one
    # file max_bytes many times over.
    log = LogFile(tmp_path / "app.log", max_bytes=2000, backup_count=2)
    lines = [b"%04d " % i + b"x" * 94 + b"\n" for i in range(50)]  # 100 bytes each
    log.write(b"".join(lines), len(lines))
    log.write(b"y" * 2500 + b"\n", 1)  # longer than max_bytes: alone in its file
    log.close()
    files = [tmp_path / name for name in ("app.log.2", "app.log.1", "app.log")]
    sizes = [p.stat().st_size for p in files]
    assert sizes == [2000, 1000, 2501]
    kept = b"".join(p.read_bytes() for p in files)
    assert kept == b"".join(lines[20:]) + b"y" * 2500 + b"\n"
