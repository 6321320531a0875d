"""Demo web server that serves on a socket the daemon bound and passed down by fd.

Run by the demo as `python3 webapp.py $(circus.sockets.web)`: every worker accepts on the same
listening socket, so workers can be added, removed and restarted without refusing anyone.
"""

import http.server
import os
import socket
import sys
import time


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"hello from worker {os.getpid()} at {time.strftime('%H:%M:%S')}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt: str, *args: object) -> None:
        print(f"{self.address_string()} {fmt % args}", flush=True)


def main() -> None:
    server = http.server.ThreadingHTTPServer(("", 0), Handler, bind_and_activate=False)
    server.socket.close()
    # Leave the socket's blocking mode alone: every worker shares it. When another worker
    # wins the race for a connection, accept() fails and the server just waits again.
    server.socket = socket.socket(fileno=int(sys.argv[1]))
    print(f"worker {os.getpid()} serving on {server.socket.getsockname()}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
