"""Run Circus's real circusctl without paying its import time on every command.

The `.venv/bin/circusctl` console script is `sys.exit(circus.circusctl.main())`; importing
circus, tornado and zmq takes about 0.3 s of CPU, which would dominate the compatibility suite.
This server imports `circus.circusctl` once, then for each request forks a child that runs that
same `main()` with the requested argv, with fds 0/1/2 on files, and reports its exit status.
Each command still runs in its own fresh process with its own zmq context.

Protocol (line-delimited JSON): request `{"argv": [...], "stdin": path, "stdout": path,
"stderr": path}` on stdin; reply `{"returncode": n}` on stdout.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Any


def _child(request: dict[str, Any]) -> int:
    for fd, key, flags in (
        (0, "stdin", os.O_RDONLY),
        (1, "stdout", os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
        (2, "stderr", os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
    ):
        new = os.open(request[key], flags, 0o600)
        os.dup2(new, fd)
        os.close(new)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
    sys.argv = ["circusctl", *request["argv"]]
    from circus.circusctl import main

    try:
        main()
        code: Any = 0
    except SystemExit as exc:
        code = exc.code
    except BaseException:
        traceback.print_exc()
        code = 1
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    return code


def serve() -> None:
    import circus.circusctl  # noqa: F401 - the point: import once, before forking

    os.environ.pop("CIRCUSCTL_ENDPOINT", None)
    proto_in = sys.stdin
    proto_out = sys.stdout
    while line := proto_in.readline():
        request = json.loads(line)
        proto_out.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = _child(request)
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        proto_out.write(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}) + "\n")
        proto_out.flush()


if __name__ == "__main__":
    serve()
