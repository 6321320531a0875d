"""How an exit is worded, for the daemon's events and `status` and for the console.

Standard library only: the console imports it to word a `reap` event's `exit_code` exactly as
the daemon words the exits it sees itself.
"""

from __future__ import annotations

import signal


def describe(code: int | None, sig: int | None = None) -> str:
    """ "exited with code 3", "killed by SIGKILL", or "killed by signal 99" for a number Python
    has no name for."""
    if sig is not None:
        try:
            return f"killed by {signal.Signals(sig).name}"
        except ValueError:
            return f"killed by signal {sig}"
    return f"exited with code {code}"


def describe_circus_code(exit_code: int) -> str:
    """The same for Circus's `exit_code`: the code, or minus the signal number."""
    return describe(None, -exit_code) if exit_code < 0 else describe(exit_code)
