"""One probe attempt against a process (an HTTP GET, a TCP connection, a command), bounded by
its timeout and never blocking the event loop; and the `log` readiness probe's matcher.

What passes, and the detail a result carries (short, printable):

- http: a GET of the URL answered with a 2xx or 3xx status ("HTTP 200", "HTTP 503"). Only the
  status line is read, at most 8 KiB of it; https verifies the server's certificate against
  the system's trusted ones and the URL's host. user:password@ in a URL is not sent.
- tcp: a connection to HOST:PORT ("[::1]:PORT" for IPv6) is accepted ("connected").
- exec (daemon.probe_exec): the command exits 0 ("exit 0"); otherwise "exit 1: <output>" or
  "killed by SIGSEGV: <output>", with the first 200 bytes of what it wrote (stdout and stderr
  together, made printable). It runs in its own session and process group, which is killed
  with SIGKILL when the command ends (nothing it started outlives it) or at the timeout.
- Failures to connect: "connection refused", "timed out after 2 s", "cannot resolve HOST: ...",
  "TLS: ...", or the system's words ("no route to host").
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import re
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from daemon import fdlimit
from daemon.printable import printable
from daemon.probe_exec import check_exec, exec_argv
from daemon.probe_result import ProbeResult, os_words, result, shown, timed_out
from daemon.probe_spec import Probe
from daemon.substitute import expand

__all__ = ["LogMatch", "ProbeResult", "check", "check_exec", "check_http", "check_tcp"]

STATUS_LINE_LIMIT = 8192
LOG_LINE_LOOKED_AT = 4096

_STATUS = re.compile(rb"HTTP/\d(?:\.\d)? (\d{3})(?:[ \r\n]|$)")
# Characters of a path or query sent as they are; anything else is %-escaped.
_URL_SAFE = "/%:@!$&'()*+,;=-._~?"


# -- connecting: tcp and http --------------------------------------------------------------


@functools.cache
def tls_context() -> ssl.SSLContext:
    # Loading the trusted certificates costs milliseconds: once per daemon.
    return ssl.create_default_context()


def _host_port(target: str) -> tuple[str, int]:
    host, sep, port = target.strip().rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port.isascii() or not port.isdigit():
        raise ValueError("expected HOST:PORT")
    return host, int(port)


async def _connect(host: str, port: int) -> socket.socket:
    """A connected non-blocking socket to the first address of `host` that accepts."""
    loop = asyncio.get_running_loop()
    try:
        # A numeric address needs no resolver (which runs in a thread).
        ip = ipaddress.ip_address(host)
        family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        addresses = [(family, (host, port))]
    except ValueError:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = [(info[0], info[4]) for info in infos]
    failure: OSError = OSError(f"no address for {host}")
    for family, address in addresses:
        fdlimit.budget.check_spawn()
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        fdlimit.budget.opened(1)
        try:
            await loop.sock_connect(sock, address)
        except OSError as exc:
            _close(sock)
            failure = exc
        except BaseException:
            _close(sock)
            raise
        else:
            return sock
    raise failure


def _close(sock: socket.socket) -> None:
    sock.close()
    fdlimit.budget.released()


async def check_tcp(target: str, timeout: float) -> ProbeResult:
    """A connection to "HOST:PORT" is accepted within `timeout`."""
    started = time.monotonic()
    try:
        host, port = _host_port(target)
    except ValueError as exc:
        return result(False, f"bad target {printable(target)!r}: {exc}", started)
    try:
        async with asyncio.timeout(timeout):
            sock = await _connect(host, port)
    except TimeoutError:
        return result(False, timed_out(timeout), started)
    except OSError as exc:
        return result(False, os_words(exc, host), started)
    _close(sock)
    return result(True, "connected", started)


@dataclass(frozen=True)
class _HttpTarget:
    tls: bool
    host: str
    port: int
    request: bytes

    @classmethod
    def of(cls, url: str) -> _HttpTarget:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("expected an http:// or https:// URL with a host")
        tls = parts.scheme == "https"
        port = parts.port or (443 if tls else 80)
        netloc = parts.netloc.rpartition("@")[2]
        if not netloc.isascii() or any(c <= " " or c == "\x7f" for c in netloc):
            raise ValueError("the host must be ASCII, without spaces")
        path = quote(parts.path or "/", safe=_URL_SAFE)
        if parts.query:
            path += "?" + quote(parts.query, safe=_URL_SAFE)
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {netloc}\r\nUser-Agent: circus-tui-probe\r\n"
            "Accept: */*\r\nConnection: close\r\n\r\n"
        )
        return cls(tls, parts.hostname, port, request.encode("ascii"))


async def check_http(url: str, timeout: float) -> ProbeResult:
    """A GET of `url` answered with a 2xx or 3xx status within `timeout`."""
    started = time.monotonic()
    try:
        target = _HttpTarget.of(url)
    except ValueError as exc:
        return result(False, f"bad URL: {exc}", started)
    try:
        async with asyncio.timeout(timeout):
            ok, detail = await _get(target)
    except TimeoutError:
        return result(False, timed_out(timeout), started)
    except OSError as exc:  # ssl.SSLError included
        return result(False, os_words(exc, target.host), started)
    return result(ok, detail, started)


async def _get(target: _HttpTarget) -> tuple[bool, str]:
    sock = await _connect(target.host, target.port)
    try:
        reader, writer = await asyncio.open_connection(
            sock=sock,
            ssl=tls_context() if target.tls else None,
            server_hostname=target.host if target.tls else None,
            limit=STATUS_LINE_LIMIT,
        )
    except BaseException:
        _close(sock)
        raise
    try:
        writer.write(target.request)
        line = await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return False, "connection closed without an answer"
        line = exc.partial
    except asyncio.LimitOverrunError:
        return False, f"no status line in the first {STATUS_LINE_LIMIT // 1024} KiB"
    finally:
        # The rest of the answer is not needed, nor a polite TLS goodbye.
        writer.transport.abort()
        fdlimit.budget.released()
    found = _STATUS.match(line)
    if found is None:
        return False, f"not an HTTP answer: {shown(line)!r}"
    code = int(found.group(1))
    return 200 <= code < 400, f"HTTP {code}"


# -- dispatch, and the log probe -----------------------------------------------------------


async def check(
    probe: Probe,
    *,
    pid: int,
    wid: int,
    env: dict[str, str],
    cwd: str | None,
    user: str | int | None = None,
    group: str | int | None = None,
) -> ProbeResult:
    """One attempt of an http, tcp or exec probe for the process `pid` (of wid `wid`); an
    exec probe runs with `env`, `cwd`, `user` and `group`, as the process does. In a URL or
    "host:port", `$(circus.wid)`, `$(circus.pid)` and `$(circus.env.NAME)` are replaced too,
    so that each process can be probed on a port of its own."""
    if probe.kind in ("http", "tcp"):
        try:
            target = targeted(probe.target, pid=pid, wid=wid, env=env)
        except KeyError as exc:
            return ProbeResult(False, f"a probe has no sockets: {exc.args[0]}", time.time(), 0.0)
        if probe.kind == "http":
            return await check_http(target, probe.timeout)
        return await check_tcp(target, probe.timeout)
    if probe.kind == "exec":
        try:
            argv = exec_argv(probe.target, pid=pid, wid=wid, env=env)
        except ValueError as exc:
            return ProbeResult(False, f"bad command: {exc}", time.time(), 0.0)
        return await check_exec(
            argv, env=env, cwd=cwd, timeout=probe.timeout, user=user, group=group
        )
    raise ValueError(f"a {probe.kind} probe is not run: the process tells")


def targeted(target: str, *, pid: int, wid: int, env: dict[str, str]) -> str:
    if "$(" not in target:
        return target
    return expand(target, wid=wid, env=env, sockets={}, pid=pid)


class LogMatch:
    """The `log` readiness probe: a line of the process's own output matches a regex, in its
    first LOG_LINE_LOOKED_AT bytes (the pattern runs on every line a starting process writes)."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._search = re.compile(pattern.encode()).search

    def matches(self, data: bytes) -> bool:
        return self._search(data, 0, LOG_LINE_LOOKED_AT) is not None
