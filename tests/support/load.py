"""A bounded loopback HTTP load for the tests and benches that replace servers under it: a few
threads, each issuing one request per connection until told to stop, recording every failure
and every request's latency."""

from __future__ import annotations

import http.client
import threading
import time


def answering(port: int) -> bool:
    """Whether a GET of / on loopback `port` is answered 200 now."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/")
        return conn.getresponse().status == 200
    except OSError:
        return False


class Load:
    def __init__(
        self, port: int, threads: int = 4, limit: float = 60.0, timeout: float = 10.0
    ) -> None:
        self.port = port
        self.timeout = timeout
        self.ok = 0
        self.failed: list[str] = []
        self.servers: set[str] = set()  # the bodies answered: a server's pid each
        self.latencies: list[float] = []  # seconds, of every request that was answered
        self._stop = threading.Event()
        self._deadline = time.monotonic() + limit
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            started = time.monotonic()
            try:
                conn.request("GET", "/")
                resp = conn.getresponse()
                body = resp.read().decode()
                took = time.monotonic() - started
                with self._lock:
                    if resp.status == 200:
                        self.ok += 1
                        self.servers.add(body)
                        self.latencies.append(took)
                    else:
                        self.failed.append(f"status {resp.status}")
            except OSError as exc:
                with self._lock:
                    self.failed.append(repr(exc))
            finally:
                conn.close()

    def mark(self) -> int:
        """How many requests were answered so far: `since(mark)` reads the latencies after."""
        with self._lock:
            return len(self.latencies)

    def since(self, mark: int) -> list[float]:
        with self._lock:
            return self.latencies[mark:]

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(15)
