"""How exits are worded: one wording for the daemon's events and the console."""

from __future__ import annotations

import signal

from daemon import exits
from daemon.process import ExitStatus


def test_an_exit_code_and_a_signal_by_name_or_number() -> None:
    assert exits.describe(3) == "exited with code 3"
    assert exits.describe(None, signal.SIGKILL) == "killed by SIGKILL"
    assert exits.describe(None, 99) == "killed by signal 99"


def test_circus_exit_codes_are_worded_as_the_daemon_words_the_status() -> None:
    for status in (ExitStatus(0, None), ExitStatus(3, None), ExitStatus(None, 15)):
        assert exits.describe_circus_code(status.circus_code) == status.describe()
