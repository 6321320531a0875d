"""log_format: a log file in our format, with the bytes alone, or as Circus's FileStream with
a time_format writes it (`TIME [PID] | line`)."""

from __future__ import annotations

import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from daemon.config import ConfigError, parse_config_text
from daemon.logformat import LogFormat
from tests.conftest import wait_for

PY = sys.executable
NOW = 1_795_000_000.25


def test_raw_is_the_bytes_alone_with_split_lines_joined_again() -> None:
    raw = LogFormat("raw")
    assert raw.render(NOW, 7, "stdout", [b"a", b"\xff b"], None) == b"a\n\xff b\n"
    # A line split at max_line_length is one line again in the file.
    assert raw.render(NOW, 7, "stderr", [b"xx", b"yy", b"z"], [True, False, False]) == (
        b"xxyy\nz\n"
    )


def test_circus_prefixes_each_line_as_filestream_does() -> None:
    fmt = LogFormat("circus", "%Y-%m-%d %H:%M:%S")
    when = datetime.fromtimestamp(NOW).strftime("%Y-%m-%d %H:%M:%S")
    head = f"{when} [42] | ".encode()
    assert fmt.render(NOW, 42, "stdout", [b"one", b"two"], None) == (
        head + b"one\n" + head + b"two\n"
    )
    assert fmt.render(NOW, 42, "stdout", [b"lo", b"ng", b"x"], [True, False, False]) == (
        head + b"long\n" + head + b"x\n"
    )


def test_stamped_marks_the_pieces_of_a_split_line() -> None:
    fmt = LogFormat()
    out = fmt.render(NOW, 9, "stderr", [b"lo", b"ng"], [True, False]).split(b"\n")
    assert re.fullmatch(rb"\S+ 9 stderr\+ lo", out[0]) and re.fullmatch(
        rb"\S+ 9 stderr  ng", out[1]
    )


@pytest.mark.parametrize(
    ("body", "key", "message"),
    [
        ('log_format = "circus"\n', "log_format", "needs log_time_format"),
        ('log_time_format = "%H"\n', "log_time_format", 'only with log_format = "circus"'),
        ('log_format = "circus"\nlog_time_format = "no percent"\n', "log_time_format", "strftime"),
        ('log_format = "circus"\nlog_time_format = "%H\\n%M"\n', "log_time_format", "control"),
        ('log_format = "json"\n', "log_format", "expected one of stamped, raw, circus"),
    ],
)
def test_bad_log_formats_name_the_key(body: str, key: str, message: str) -> None:
    text = f'[watchers.a]\ncmd = "x"\n{body}'
    with pytest.raises(ConfigError) as err:
        parse_config_text(text)
    assert err.value.key.endswith(key), err.value
    assert message in err.value.message


def test_a_daemon_writes_circus_s_bytes_and_set_switches_the_format(
    daemon_factory: Any, tmp_path: Path
) -> None:
    prog = tmp_path / "talk.py"
    prog.write_text(
        "import sys, time\n"
        "i = 0\n"
        "while True:\n"
        "    print('line', i, flush=True)\n"
        "    sys.stderr.write('E' * 100 + '\\n'); sys.stderr.flush()\n"
        "    i += 1; time.sleep(0.05)\n"
    )
    log = tmp_path / "talk.log"
    d = daemon_factory(
        f'[watchers.talk]\ncmd = "{PY} {prog}"\nstdout_file = "{log}"\n'
        'log_format = "circus"\nlog_time_format = "%Y-%m-%d %H:%M:%S"\nmax_line_length = 80\n'
    )
    [pid] = d.wait_pids("talk", 1)
    wait_for(lambda: log.exists() and log.read_bytes().count(b"\n") >= 6, timeout=15)
    lines = log.read_bytes().split(b"\n")[:-1]
    prefix = rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[%d\] \| " % pid
    for line in lines:
        assert re.fullmatch(prefix + rb"(line \d+|E{100})", line), line
    assert d.call("get", name="talk", keys=["log_format"])["options"] == {"log_format": "circus"}

    # To raw without restarting the process (the file goes on).
    reply = d.call(
        "set", name="talk", options={"log_format": "raw", "log_time_format": ""}, waiting=True
    )
    assert reply["status"] == "ok", reply
    size = log.stat().st_size
    wait_for(lambda: log.read_bytes()[size:].count(b"\n") >= 6, timeout=15)
    tail = log.read_bytes()[size:].split(b"\n")[:-1]
    # The first few may have been read before the change reached the file.
    raw = [ln for ln in tail if not re.match(prefix, ln)]
    assert raw and all(re.fullmatch(rb"line \d+|E{100}", ln) for ln in raw), tail
    assert tail[-1] in raw
    assert d.pids("talk") == [pid]
