"""A console that cannot start says why, once, and exits non-zero: teardown never fails on
state that mount did not make."""

from __future__ import annotations

import os
import subprocess
import sys

# The console as `circus-tui` runs it, with a stylesheet that cannot be read (as a wheel
# without its stylesheets had), on Textual's headless driver.
BROKEN_CONSOLE = """
import sys
import tui.app
from tui.cli import main

tui.app.CircusApp.CSS_PATH = ["/nonexistent/app.tcss"]
sys.exit(main(["--endpoint", "ipc:///nonexistent/control.sock"]))
"""


def test_a_console_that_fails_to_start_shows_one_error() -> None:
    run = subprocess.run(
        [sys.executable, "-c", BROKEN_CONSOLE],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TEXTUAL_DRIVER": "textual.drivers.headless_driver:HeadlessDriver"},
    )
    out = run.stdout + run.stderr
    assert "unable to read CSS file '/nonexistent/app.tcss'" in out
    assert out.count("Traceback") == 1, out
    assert "AttributeError" not in out, out
    assert run.returncode == 1
