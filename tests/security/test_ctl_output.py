"""What `circus-tui ctl` prints of a program's or the daemon's text cannot act on the terminal
(no escape sequence, no control, no bidi or zero-width character); `--json` stays exact."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from tests.conftest import RunningDaemon, wait_for

PY = sys.executable
TITLE = "\x1b]0;PWNED\x07"
# Anything a terminal would act on, or that would hide or reorder what the operator reads.
UNSAFE = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
)


def hostile(daemon_factory: Any, tmp_path: Path) -> RunningDaemon:
    # argv[0] retitles the terminal, as `exec -a "$(printf '\033]0;PWNED\007')" sleep 1e5`.
    prog = tmp_path / "hostile.py"
    prog.write_text(
        "import os, sys\n"
        "print('evil\\u202eexe.txt\\u200b \\x1b[2Jcleared \\u2066x\\u2069', flush=True)\n"
        f"os.execv('/bin/sleep', [{TITLE!r}, '1000'])\n"
    )
    return daemon_factory(f'[watchers.hostile]\ncmd = "{PY} {prog} \\u001b]0;PWNED\\u0007"\n')


def shown(d: RunningDaemon, *args: str) -> str:
    done = d.ctl(*args)
    assert not UNSAFE.search(done.stdout + done.stderr), done.stdout + done.stderr
    return done.stdout


def test_stats_show_a_hostile_argv0_as_text(daemon_factory: Any, tmp_path: Path) -> None:
    d = hostile(daemon_factory, tmp_path)
    (pid,) = d.wait_pids("hostile", 1)

    def exact() -> dict[str, Any] | None:
        info = json.loads(d.ctl("--json", "stats", "hostile").stdout)["info"].get(str(pid))
        return info if isinstance(info, dict) and info["cmdline"] == TITLE else None

    wait_for(exact)
    out = shown(d, "stats", "hostile")
    assert re.search(rf"^  {pid}:  pid {pid} cpu ", out, re.MULTILINE), out
    out = shown(d, "stats")
    assert f"  {pid}:  pid {pid}" in out, out


def test_options_and_get_show_a_hostile_command_line_as_text(
    daemon_factory: Any, tmp_path: Path
) -> None:
    d = hostile(daemon_factory, tmp_path)
    d.wait_pids("hostile", 1)
    out = shown(d, "options", "hostile")
    assert re.search(r"^cmd: \S+ \S+hostile\.py $", out, re.MULTILINE), out
    shown(d, "get", "hostile", "cmd", "args")
    exact = json.loads(d.ctl("--json", "get", "hostile", "cmd").stdout)
    assert exact["options"]["cmd"].endswith(f"hostile.py {TITLE}")


def test_tail_shows_bidi_and_zero_width_characters_as_text(
    daemon_factory: Any, tmp_path: Path
) -> None:
    d = hostile(daemon_factory, tmp_path)
    wait_for(lambda: d.call("tail", name="hostile")["lines"])
    out = shown(d, "tail", "hostile")
    assert "evil\ufffdexe.txt\ufffd cleared \ufffdx\ufffd" in out, out
    line = json.loads(d.ctl("--json", "tail", "hostile").stdout)["lines"][0]
    assert line["data"] == "evil\u202eexe.txt\u200b \x1b[2Jcleared \u2066x\u2069"


def test_errors_from_the_daemon_are_shown_as_text(daemon_factory: Any, tmp_path: Path) -> None:
    d = hostile(daemon_factory, tmp_path)
    done = d.ctl("status", f"x{TITLE}\u202e")
    assert done.returncode == 1
    assert done.stderr == "error: program x\ufffd not found\n", done.stderr
    done = d.ctl("--json", "status", f"x{TITLE}")
    assert done.returncode == 1 and not UNSAFE.search(done.stdout + done.stderr)
