"""A program that tells what it was started with: run by circusd and by our daemon from the
same circus.ini, it writes what it sees as JSON to OUT/LABEL-PID.json, then waits.

    option_probe.py OUT LABEL [ARG ...]

Its own arguments, after LABEL: `exit=N` exits with N at once (after writing), `ignore`
ignores the stop signal, `linger` waits a second after it, `child` starts a child that
reports signals as it does, `say=TEXT` prints TEXT on stdout and stderr, `big=N` prints N
bytes of lines. Signals it gets are appended to OUT/LABEL-PID.signals.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import stat
import sys
import time

CAUGHT = ("SIGTERM", "SIGQUIT", "SIGINT", "SIGHUP", "SIGUSR1", "SIGUSR2")


def describe_fd(fd: int) -> dict[str, object]:
    try:
        target = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return {"kind": "gone"}
    info = os.fstat(fd)
    if stat.S_ISSOCK(info.st_mode):
        sock = socket.socket(fileno=os.dup(fd))
        try:
            name = sock.getsockname()
            described: dict[str, object] = {
                "kind": "socket",
                "family": socket.AddressFamily(sock.family).name,
                "type": socket.SocketKind(sock.type).name,
                "address": list(name) if isinstance(name, tuple) else name,
                "listening": bool(sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)),
                "reuseport": bool(sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)),
                "blocking": os.get_blocking(fd),
            }
        finally:
            sock.close()  # the duplicate: fd itself stays
        if isinstance(name, str) and name:
            described["mode"] = oct(os.stat(name).st_mode & 0o777)
        return described
    if stat.S_ISFIFO(info.st_mode):
        return {"kind": "pipe"}
    return {"kind": "file", "path": target}


def _forked() -> float:
    """When this process was forked, in seconds since boot (what the start of python's own
    startup, which a busy machine slows, does not blur)."""
    with open("/proc/self/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[19]) / os.sysconf("SC_CLK_TCK")


def _cmdline(pid: int) -> list[str]:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().decode(errors="replace").split("\0")[:-1]


def report(out: str, label: str) -> dict[str, object]:
    umask = os.umask(0)
    os.umask(umask)
    limits = {
        name: list(resource.getrlimit(getattr(resource, name)))
        for name in dir(resource)
        if name.startswith("RLIMIT_")
    }
    fds = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
    return {
        "label": label,
        "pid": os.getpid(),
        "parent": _cmdline(os.getppid()),
        "argv": sys.argv,
        "env": dict(os.environ),
        "cwd": os.getcwd(),
        "umask": oct(umask),
        "uid": os.getuid(),
        "gid": os.getgid(),
        "rlimits": limits,
        "fds": {str(fd): describe_fd(fd) for fd in fds if fd > 2 or fd in (0, 1, 2)},
        "started": time.time(),
        "forked": _forked(),
    }


def on_signal(path: str, ignore: bool, linger: bool = False) -> None:
    def handler(signum: int, frame: object) -> None:
        with open(path, "a") as f:
            f.write(f"{signal.Signals(signum).name} {time.time()}\n")
        if signum != signal.SIGHUP and not ignore:
            if linger:
                time.sleep(1)  # so that a supervisor signalling children after it finds them
            os._exit(0)

    for name in CAUGHT:
        signal.signal(getattr(signal, name), handler)


def main() -> None:
    out, label, *args = sys.argv[1:]
    base = os.path.join(out, f"{label}-{os.getpid()}")
    on_signal(base + ".signals", "ignore" in args, "linger" in args)
    for arg in args:
        if arg.startswith("say="):
            text = arg[4:]
            print(text, flush=True)
            print(text + " on stderr", file=sys.stderr, flush=True)
        elif arg.startswith("big="):
            line = "x" * 99 + "\n"
            sys.stdout.write(line * (int(arg[4:]) // 100))
            sys.stdout.flush()
    if "child" in args and os.fork() == 0:
        child = os.path.join(out, f"{label}-child-{os.getpid()}")
        on_signal(child + ".signals", False)
        with open(child + ".json", "w") as f:
            json.dump({"pid": os.getpid()}, f)
        while True:
            time.sleep(60)
    partial = base + ".json.part"
    with open(partial, "w") as f:
        json.dump(report(out, label), f)
    os.rename(partial, base + ".json")
    for arg in args:
        if arg.startswith("exit="):
            sys.exit(int(arg[5:]))
    while True:
        time.sleep(60)


if __name__ == "__main__":
    main()
