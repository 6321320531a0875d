"""A server that takes a while to boot, for rolling reloads under load: run as
`python slow_server.py FD BOOT_SECONDS`. It sleeps BOOT_SECONDS (an application loading),
then serves HTTP on the inherited listening socket FD (answering its pid), prints
"Listening" and sends READY=1 when $NOTIFY_SOCKET is set. On SIGTERM it stops accepting,
finishes the requests it has, and exits 0: connections still queued on the shared socket
are left to the other processes."""

from __future__ import annotations

import http.server
import os
import signal
import socket
import sys
import threading
import time


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = str(os.getpid()).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def notify(message: str) -> None:
    path = os.environ.get("NOTIFY_SOCKET")
    if not path:
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.connect(path)
        s.send(message.encode())


def main() -> None:
    fd, boot = int(sys.argv[1]), float(sys.argv[2])
    time.sleep(boot)
    listener = socket.socket(fileno=fd)
    # Non-blocking as the daemon hands it over (Circus's default), and left so: every process
    # wakes for a connection, one gets it, the others' accept fails at once and they go back
    # to waiting, where a blocking accept would hang a process that is shutting down.
    server = http.server.ThreadingHTTPServer(
        listener.getsockname()[:2], Handler, bind_and_activate=False
    )
    server.socket = listener
    server.daemon_threads = False
    server.block_on_close = True  # server_close waits for the requests in hand
    signal.signal(
        signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start()
    )
    print("Listening", flush=True)
    notify("READY=1")
    server.serve_forever(poll_interval=0.05)
    server.server_close()


if __name__ == "__main__":
    main()
