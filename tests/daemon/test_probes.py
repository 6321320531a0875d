"""daemon.probes and daemon.probe_exec: one attempt of each kind against real servers and real
commands, bounded by its timeout; the exec probe's child kept from the daemon's orphan scan."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from daemon import procfs, tree
from daemon.probe_result import OUTPUT_SHOWN
from daemon.probe_spec import Probe
from daemon.probes import (
    LOG_LINE_LOOKED_AT,
    LogMatch,
    ProbeResult,
    check,
    check_exec,
    check_http,
    check_tcp,
    tls_context,
)
from daemon.reaper import Reaper
from tests.support.waiting import eventually, wait_for

SERVER = r"""
import http.server, ssl, sys

CODES = {"/ok": 200, "/moved": 302, "/fail": 503, "/q?a=1&b=%20x": 200}


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(CODES.get(self.path, 404))
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"hi")

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
if len(sys.argv) > 1:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[1], sys.argv[2])
    server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


@contextlib.contextmanager
def http_server(*args: str) -> Iterator[int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, *args], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL
    )
    try:
        assert proc.stdout is not None
        yield int(proc.stdout.readline())
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def http_port() -> Iterator[int]:
    with http_server() as port:
        yield port


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """Listening on loopback, never accepting: the kernel completes connections anyway."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock
    sock.close()


def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@contextlib.contextmanager
def one_shot_server(
    answer: Callable[[socket.socket], None], seen: list[bytes] | None = None
) -> Iterator[int]:
    """A server that accepts one connection, reads the request (kept in `seen`) and answers
    with `answer`."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)

    def serve() -> None:
        conn, _ = sock.accept()
        with conn:
            request = b""
            while b"\r\n\r\n" not in request and (data := conn.recv(4096)):
                request += data
            if seen is not None:
                seen.append(request)
            answer(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        thread.join(10)
        sock.close()


def group_members(pgid: int) -> list[int]:
    return [e.pid for e in procfs.read_table().values() if e.pgid == pgid and not e.zombie]


# -- http -----------------------------------------------------------------------------------


async def test_http_2xx_and_3xx_pass_and_others_fail(http_port: int) -> None:
    base = f"http://127.0.0.1:{http_port}"
    results = {path: await check_http(base + path, 5) for path in ("/ok", "/moved", "/fail", "/")}
    assert {p: (r.ok, r.detail) for p, r in results.items()} == {
        "/ok": (True, "HTTP 200"),
        "/moved": (True, "HTTP 302"),
        "/fail": (False, "HTTP 503"),
        "/": (False, "HTTP 404"),
    }
    assert all(0 <= r.took < 5 for r in results.values())


async def test_http_sends_the_query_and_escapes_what_must_be(http_port: int) -> None:
    result = await check_http(f"http://localhost:{http_port}/q?a=1&b= x", 5)
    assert (result.ok, result.detail) == (True, "HTTP 200")


async def test_http_to_a_closed_port_is_refused() -> None:
    result = await check_http(f"http://127.0.0.1:{closed_port()}/", 5)
    assert (result.ok, result.detail) == (False, "connection refused")


async def test_http_to_a_server_that_never_answers_times_out(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    result = await check_http(f"http://127.0.0.1:{port}/", 0.3)
    assert (result.ok, result.detail) == (False, "timed out after 0.3 s")
    assert 0.3 <= result.took < 3


async def test_http_answers_that_are_not_http() -> None:
    with one_shot_server(lambda c: c.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")) as port:
        garbage = await check_http(f"http://127.0.0.1:{port}/", 5)
    with one_shot_server(lambda c: None) as port:
        closed = await check_http(f"http://127.0.0.1:{port}/", 5)
    with one_shot_server(lambda c: c.sendall(b"x" * 20000)) as port:
        endless = await check_http(f"http://127.0.0.1:{port}/", 5)
    with one_shot_server(lambda c: c.sendall(b"HTTP/1.1 200 OK\x1b[2J")) as port:
        unfinished = await check_http(f"http://127.0.0.1:{port}/", 5)
    assert (garbage.ok, garbage.detail) == (False, "not an HTTP answer: 'SSH-2.0-OpenSSH_9.2'")
    assert (closed.ok, closed.detail) == (False, "connection closed without an answer")
    assert (endless.ok, endless.detail) == (False, "no status line in the first 8 KiB")
    # A status line cut short by the end of the answer still counts.
    assert (unfinished.ok, unfinished.detail) == (True, "HTTP 200")


async def test_a_bad_url_is_a_failure_not_an_exception() -> None:
    result = await check_http("ftp://127.0.0.1/", 1)
    assert (result.ok, result.detail) == (
        False,
        "bad URL: expected an http:// or https:// URL with a host",
    )


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("needs openssl to make a certificate")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_https_verifies_the_certificate(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    with http_server(str(cert), str(key)) as port:
        untrusted = await check_http(f"https://127.0.0.1:{port}/ok", 5)
        # Trusted from now on in this test process only: the shared context of its probes.
        tls_context().load_verify_locations(cafile=str(cert))
        trusted = await check_http(f"https://127.0.0.1:{port}/ok", 5)
        plain = await check_http(f"http://127.0.0.1:{port}/ok", 5)
    assert not untrusted.ok
    assert untrusted.detail.startswith("TLS: "), untrusted.detail
    assert "self-signed" in untrusted.detail or "verify" in untrusted.detail
    assert (trusted.ok, trusted.detail) == (True, "HTTP 200")
    assert not plain.ok


# -- tcp ------------------------------------------------------------------------------------


async def test_tcp_connects_or_is_refused(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    results = [
        await check_tcp(f"127.0.0.1:{port}", 5),
        await check_tcp(f"localhost:{port}", 5),
        await check_tcp(f"127.0.0.1:{closed_port()}", 5),
        await check_tcp("127.0.0.1:http", 5),
    ]
    assert [(r.ok, r.detail) for r in results] == [
        (True, "connected"),
        (True, "connected"),
        (False, "connection refused"),
        (False, "bad target '127.0.0.1:http': expected HOST:PORT"),
    ]


async def test_tcp_over_ipv6() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    sock = socket.socket(socket.AF_INET6)
    try:
        sock.bind(("::1", 0))
    except OSError:
        pytest.skip("no ::1 here")
    with sock:
        sock.listen(1)
        result = await check_tcp(f"[::1]:{sock.getsockname()[1]}", 5)
    assert (result.ok, result.detail) == (True, "connected")


async def test_tcp_to_a_full_accept_queue_times_out() -> None:
    # A backlog of 0 holds one connection; the kernel drops the next one's SYNs.
    with socket.socket() as sock, socket.socket() as filler:
        sock.bind(("127.0.0.1", 0))
        sock.listen(0)
        filler.setblocking(False)
        filler.connect_ex(sock.getsockname())
        await eventually(lambda: filler.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0)
        await eventually(lambda: _connected(filler))
        result = await check_tcp(f"127.0.0.1:{sock.getsockname()[1]}", 0.3)
    assert (result.ok, result.detail) == (False, "timed out after 0.3 s")


def _connected(sock: socket.socket) -> bool:
    try:
        sock.getpeername()
    except OSError:
        return False
    return True


# -- exec -----------------------------------------------------------------------------------

ENV = {"PATH": os.environ.get("PATH", os.defpath)}


async def run(script: str, timeout: float = 10, **kwargs: object) -> ProbeResult:
    return await check_exec(["sh", "-c", script], env=ENV, cwd=None, timeout=timeout, **kwargs)  # type: ignore[arg-type]


async def test_exec_exit_codes_and_output() -> None:
    passed = await run("echo fine")
    failed = await run("echo not ready >&2; echo 'second line'; exit 1")
    killed = await run("kill -TERM $$")
    assert (passed.ok, passed.detail) == (True, "exit 0")
    assert (failed.ok, failed.detail) == (False, "exit 1: not ready␊second line")
    assert (killed.ok, killed.detail) == (False, "killed by SIGTERM")


async def test_exec_output_is_bounded_and_made_printable() -> None:
    # Two megabytes of output: read as it comes (never a full pipe), the first 200 bytes
    # shown, without the escape sequence, and without the half of a character they end in.
    flood = await check_exec(
        [
            sys.executable,
            "-c",
            "import sys; sys.stdout.write('\\x1b[2Jx' + 'é' * 10**6); sys.exit(2)",
        ],
        env=ENV,
        cwd=None,
        timeout=30,
    )
    assert not flood.ok
    assert flood.detail == "exit 2: x" + "é" * ((OUTPUT_SHOWN - 5) // 2)


async def test_exec_runs_with_the_env_and_cwd_given(tmp_path: Path) -> None:
    result = await check_exec(
        [
            "sh",
            "-c",
            'test "$WHO" = web && test "$(pwd)" = "$1" || { pwd; exit 1; }',
            "-",
            str(tmp_path),
        ],
        env={**ENV, "WHO": "web"},
        cwd=str(tmp_path),
        timeout=10,
    )
    assert (result.ok, result.detail) == (True, "exit 0")


async def test_exec_of_a_command_that_cannot_run() -> None:
    missing = await check_exec(["/nonexistent/probe"], env=ENV, cwd=None, timeout=5)
    empty = await check_exec([], env=ENV, cwd=None, timeout=5)
    assert (missing.ok, missing.detail) == (
        False,
        "cannot run /nonexistent/probe: no such file or directory",
    )
    assert (empty.ok, empty.detail) == (False, "no command")


async def test_exec_past_its_timeout_is_killed_with_its_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    result = await run(f"echo $$ > {pidfile}; echo started; sleep 60 & sleep 60", timeout=0.5)
    assert (result.ok, result.detail) == (False, "timed out after 0.5 s: started")
    assert 0.5 <= result.took < 5
    pgid = int(pidfile.read_text())
    wait_for(lambda: not group_members(pgid), timeout=5)
    assert pgid not in tree.awaited


async def test_exec_leaves_nothing_behind_when_it_passes(tmp_path: Path) -> None:
    # The background sleep holds the output pipe open: the probe must end all the same.
    pidfile = tmp_path / "pid"
    result = await run(f"echo $$ > {pidfile}; sleep 60 & exit 0")
    assert (result.ok, result.detail) == (True, "exit 0")
    assert result.took < 5
    pgid = int(pidfile.read_text())
    wait_for(lambda: not group_members(pgid), timeout=5)


async def test_a_cancelled_exec_probe_kills_its_command(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    probe = asyncio.ensure_future(run(f"echo $$ > {pidfile}; sleep 60", timeout=60))
    await eventually(lambda: pidfile.exists() and pidfile.read_text().strip())
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe
    pgid = int(pidfile.read_text())
    assert pgid not in tree.awaited
    wait_for(lambda: not group_members(pgid), timeout=5)


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
async def test_exec_runs_as_the_user_given() -> None:
    result = await run("id -u; exit 1", user="nobody")
    assert result.detail == "exit 1: 65534"


async def test_exec_probes_keep_their_exit_status_from_the_orphan_scan() -> None:
    """The daemon reaps every child it does not manage (its adopted orphans): an exec probe's
    child must be left to the probe, or its status is lost. Scans run on every SIGCHLD, as in
    the daemon, and between all other callbacks."""
    loop = asyncio.get_running_loop()
    scans = Reaper(list)
    loop.add_signal_handler(signal.SIGCHLD, scans.schedule_orphan_scan)
    scanning = True

    def scan_again() -> None:
        scans._reap_orphans()
        if scanning:
            loop.call_soon(scan_again)

    loop.call_soon(scan_again)
    try:
        results = await asyncio.gather(*(run(f"exit {3 + i % 2}") for i in range(40)))
        passed = await asyncio.gather(*(run("true") for _ in range(20)))
    finally:
        scanning = False
        loop.remove_signal_handler(signal.SIGCHLD)
    assert [r.detail for r in results] == [f"exit {3 + i % 2}" for i in range(40)]
    assert all(r.ok for r in passed), [r.detail for r in passed if not r.ok]
    assert not tree.awaited


# -- dispatch -------------------------------------------------------------------------------


async def test_check_runs_each_kind_for_the_process(
    http_port: int, listener: socket.socket
) -> None:
    def probe(kind: str, target: str) -> Probe:
        return Probe(kind, target, interval=1.0, timeout=5.0)

    async def one(p: Probe) -> ProbeResult:
        return await check(p, pid=4242, wid=3, env={**ENV, "X": "x y"}, cwd=None)

    http = await one(probe("http", f"http://127.0.0.1:{http_port}/ok"))
    tcp = await one(probe("tcp", f"127.0.0.1:{listener.getsockname()[1]}"))
    exec_ = await one(
        probe(
            "exec",
            "sh -c 'echo \"$1 [$2]\"; exit $0' $(circus.wid) $(circus.pid) '$(circus.env.X)'",
        )
    )
    socket_var = await one(probe("exec", "echo $(circus.sockets.web)"))
    assert (http.ok, http.detail) == (True, "HTTP 200")
    assert (tcp.ok, tcp.detail) == (True, "connected")
    assert (exec_.ok, exec_.detail) == (False, "exit 3: 4242 [x y]")
    assert (socket_var.ok, socket_var.detail) == (
        False,
        "bad command: a probe's command has no sockets: no socket named 'web'",
    )
    with pytest.raises(ValueError, match="notify"):
        await one(probe("notify", ""))


# -- log ------------------------------------------------------------------------------------


def test_log_match_looks_at_the_start_of_a_line_only() -> None:
    match = LogMatch(r"Listening at: http://[\d.]+:\d+")
    assert match.matches(b"[INFO] Listening at: http://127.0.0.1:8000 (42)")
    assert not match.matches(b"[INFO] Booting worker")
    assert match.matches(b"Listening at: http://0.0.0.0:1 " + b"x" * 100_000)
    assert not match.matches(b"x" * LOG_LINE_LOOKED_AT + b"Listening at: http://0.0.0.0:1")
    assert not match.matches(b"\xff\xfe\x00 not text")
    # The pattern is text; the line is bytes: a non-ASCII literal matches its UTF-8 bytes.
    assert LogMatch("prêt").matches("serveur prêt".encode())


async def test_http_and_tcp_targets_name_the_process_they_probe(listener: socket.socket) -> None:
    # A process of its own port each: `$(circus.wid)`, `$(circus.pid)` and the env.
    requests: list[bytes] = []

    def answer(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")

    with one_shot_server(answer, requests) as port:
        env = {"PORT": str(port)}
        http = await check(
            Probe(
                "http", "http://127.0.0.1:$(circus.env.PORT)/w$(circus.wid)/p$(circus.pid)", 1, 5
            ),
            pid=4242,
            wid=3,
            env=env,
            cwd=None,
        )
    assert (http.ok, http.detail) == (True, "HTTP 204")
    assert requests[0].startswith(b"GET /w3/p4242 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % port)
    tcp = await check(
        Probe("tcp", "127.0.0.1:$(circus.env.PORT)", 1, 5),
        pid=1,
        wid=1,
        env={"PORT": str(listener.getsockname()[1])},
        cwd=None,
    )
    assert (tcp.ok, tcp.detail) == (True, "connected")
