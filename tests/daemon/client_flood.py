"""Many clients connecting at once: `python client_flood.py ENDPOINT COUNT`.

Opens COUNT DEALER sockets on ENDPOINT, all at once, each sending one `numwatchers` request,
and holds them open until its stdin closes. Prints `connecting`, then `replies N` whenever the
number of replies received changes, so a test can follow without sleeping. Run as its own
process: it needs two descriptors per client, more than a test process may have to spare.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from typing import Any

import zmq


def main(endpoint: str, count: int) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    ctx = zmq.Context()
    ctx.set(zmq.MAX_SOCKETS, count + 64)
    sockets: list[zmq.Socket[Any]] = []
    for n in range(count):
        sock = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(endpoint)
        sock.send(json.dumps({"id": str(n), "command": "numwatchers"}).encode())
        sockets.append(sock)
    print("connecting", flush=True)
    poller = zmq.Poller()
    for sock in sockets:
        poller.register(sock, zmq.POLLIN)
    stdin = sys.stdin.fileno()
    poller.register(stdin, zmq.POLLIN)
    replies = 0
    while True:
        for sock, _ in poller.poll(1000):
            if sock == stdin:
                if not os.read(stdin, 1):
                    ctx.destroy(linger=0)
                    return
                continue
            sock.recv()
            poller.unregister(sock)
            replies += 1
            print(f"replies {replies}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
