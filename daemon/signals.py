"""The signal state a daemon inherits, put back to the defaults before anything starts.

Ignored dispositions and the blocked mask survive fork and exec: a daemon started as a
background job of a shell (SIGINT and SIGQUIT ignored), under nohup (SIGHUP), or by a parent
that blocks signals would hand them to every program it runs, and a program that ignores its
`stop_signal` is only ended by the SIGKILL after `graceful_timeout`. The daemon's own handlers
need no reset: exec sets caught signals back to their default in the child. Python's own two
ignored signals (SIGPIPE, SIGXFSZ) stay as Python wants them here; subprocess restores them in
every child (`restore_signals`, on by default).

glibc keeps two real-time signals to itself (32 and 33: thread cancellation and set*id across
threads) and refuses them to sigaction(), so Python cannot reset them; GNU make, for one,
starts its recipes with both ignored. Those two are reset with the raw system call.
"""

from __future__ import annotations

import contextlib
import ctypes
import platform
import signal

PYTHONS_OWN = {signal.SIGPIPE, signal.SIGXFSZ}
GLIBC_RESERVED = (32, 33)
# rt_sigaction's number, where we know it.
RT_SIGACTION = {"x86_64": 13, "aarch64": 134}
KERNEL_SIGSET_BYTES = 8


def reset_inherited() -> None:
    """Every ignored signal back to its default action, and nothing blocked in this thread (the
    one that spawns programs: a child inherits its mask)."""
    for sig in signal.valid_signals():
        if sig in PYTHONS_OWN or sig in (signal.SIGKILL, signal.SIGSTOP):
            continue
        with contextlib.suppress(OSError, ValueError):
            if signal.getsignal(sig) == signal.SIG_IGN:
                signal.signal(sig, signal.SIG_DFL)
    _reset_reserved()
    signal.pthread_sigmask(signal.SIG_SETMASK, set())


def _reset_reserved() -> None:
    number = RT_SIGACTION.get(platform.machine())
    if number is None:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for sig in GLIBC_RESERVED:
        # The kernel's struct sigaction starts with the handler on every 64-bit layout; zeros
        # throughout (ample room for any layout) mean SIG_DFL, no flags, nothing masked.
        old, new = ctypes.create_string_buffer(64), ctypes.create_string_buffer(64)
        if libc.syscall(number, sig, None, old, KERNEL_SIGSET_BYTES) != 0:
            continue
        if ctypes.c_void_p.from_buffer(old).value == signal.SIG_IGN.value:
            libc.syscall(number, sig, new, None, KERNEL_SIGSET_BYTES)
