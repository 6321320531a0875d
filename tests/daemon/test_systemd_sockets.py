"""`sockets_env = "systemd"`: sockets handed down as systemd's socket activation does, so a
server reads LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES and finds its sockets at 3, 4, …."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from tests.support.core import running_core
from tests.support.waiting import eventually

PY = sys.executable


async def test_sockets_arrive_as_systemd_passes_them(short_path: Path) -> None:
    report = short_path / "report.json"
    script = short_path / "server.py"
    script.write_text(
        "import json, os, socket, sys, time\n"
        "def target(fd):\n"
        "    try:\n"
        "        return os.readlink('/proc/self/fd/' + fd)\n"
        "    except OSError:\n"
        "        return None\n"
        "n = int(os.environ['LISTEN_FDS'])\n"
        "socks = [socket.socket(fileno=3 + i) for i in range(n)]\n"
        "info = {\n"
        "    'pid_ok': os.environ['LISTEN_PID'] == str(os.getpid()),\n"
        "    'names': os.environ['LISTEN_FDNAMES'],\n"
        "    'addresses': [s.getsockname() for s in socks],\n"
        "    'fds': {f: target(f) for f in os.listdir('/proc/self/fd')},\n"
        "}\n"
        f"open({str(report)!r}, 'w').write(json.dumps(info))\n"
        "conn, _ = socks[1].accept()\n"
        "conn.sendall(b'hello from fd 4')\n"
        "time.sleep(60)\n"
    )
    body = (
        '[sockets.api]\nhost = "127.0.0.1"\nport = 0\n'
        # Blocking, so that the program's accept waits (Circus's default hands sockets over
        # non-blocking).
        f'[sockets.admin]\npath = "{short_path}/admin.sock"\nblocking = true\n'
        f'[watchers.srv]\ncmd = "{PY} {script}"\nsockets_env = "systemd"\n'
    )
    async with running_core(short_path, body) as (_arbiter, _):
        await eventually(lambda: report.exists() and report.read_text())
        info = json.loads(report.read_text())
        assert info["pid_ok"]
        assert info["names"] == "api:admin"
        assert info["addresses"][0][0] == "127.0.0.1"
        assert info["addresses"][1] == f"{short_path}/admin.sock"
        # 0-2, the two sockets, and the listing's own descriptor (gone when it was read):
        # nothing else of the daemon's (or of pytest's) reached the program.
        fds = {int(fd): target for fd, target in info["fds"].items() if target is not None}
        assert sorted(fds) == [0, 1, 2, 3, 4], fds
        assert fds[3].startswith("socket:") and fds[4].startswith("socket:")
        # Through the loop, not a blocking recv: the core runs in this loop too.
        reader, writer = await asyncio.open_unix_connection(f"{short_path}/admin.sock")
        assert await asyncio.wait_for(reader.read(100), 30) == b"hello from fd 4"
        writer.close()
        assert os.path.exists(f"{short_path}/admin.sock")
