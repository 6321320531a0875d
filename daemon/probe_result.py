"""What one probe attempt found: whether it passed, and a short printable detail of why, worded
the same way by every kind of probe (daemon.probes, daemon.probe_exec)."""

from __future__ import annotations

import codecs
import socket
import ssl
import time
from dataclasses import dataclass

from daemon.printable import printable

OUTPUT_SHOWN = 200  # bytes of a program's output (or a server's) a detail shows


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    detail: str  # short and printable: "HTTP 200", "connection refused", "exit 1: ..."
    at: float  # time.time() when it ended
    took: float  # seconds


def result(ok: bool, detail: str, started: float) -> ProbeResult:
    return ProbeResult(ok, detail, time.time(), time.monotonic() - started)


def timed_out(timeout: float) -> str:
    return f"timed out after {timeout:g} s"


def os_words(exc: BaseException, host: str = "") -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve {printable(host)}: {exc.strerror}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS: {exc.reason or exc}"
    words = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return printable(words[:1].lower() + words[1:200])


def shown(data: bytes) -> str:
    """The first OUTPUT_SHOWN bytes of a program's output, as printable text (a character cut
    in two at the end is left out)."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    return printable(decoder.decode(data[:OUTPUT_SHOWN]).strip())
