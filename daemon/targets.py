"""Where a client finds a daemon: `ipc://PATH` and `tcp://HOST:PORT` as before, or
`ssh://[user@]host[:port][/path/to/control.sock]` reached through the operator's own OpenSSH,
each optionally labelled `LABEL=TARGET`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from daemon.endpoints import EndpointError

_LABEL = re.compile(r"[A-Za-z0-9][\w.-]{0,63}", re.ASCII)
# What ssh takes as a host or user: never an option (a leading '-') nor a shell word.
_HOST = re.compile(r"[A-Za-z0-9_][\w.:%-]*", re.ASCII)
_USER = re.compile(r"[A-Za-z0-9_][\w.-]*", re.ASCII)
USAGE = "use ipc://PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT][/PATH]"


@dataclass(frozen=True)
class Target:
    text: str  # as given, without its label
    label: str
    # ipc:// or tcp://: the endpoint itself; ssh://: None
    endpoint: str | None = None
    host: str | None = None
    user: str | None = None
    port: int | None = None
    # the remote control socket; None: the remote user's default, asked of the remote side
    path: str | None = None

    @property
    def is_ssh(self) -> bool:
        return self.host is not None

    def ssh_args(self) -> list[str]:
        """The arguments after ssh's own options that name the host."""
        assert self.host is not None
        args = ["-p", str(self.port)] if self.port is not None else []
        if self.user is not None:
            args += ["-l", self.user]
        return [*args, "--", self.host]


def parse_target(text: str) -> Target:
    """Raises EndpointError, naming the text, for anything else."""
    label = None
    head, sep, rest = text.partition("=")
    if sep and "://" not in head and "://" in rest:
        if not _LABEL.fullmatch(head):
            raise EndpointError(f"{text}: {head!r} is not a label (letters, digits, . _ -)")
        label, text = head, rest
    scheme, sep, _ = text.partition("://")
    if scheme in ("ipc", "tcp"):
        return Target(text, label or text, endpoint=text)
    if scheme != "ssh" or not sep:
        raise EndpointError(f"{text}: not a target; {USAGE}")
    return _ssh(text, label)


def _ssh(text: str, label: str | None) -> Target:
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        raise EndpointError(f"{text}: the port must be a number from 1 to 65535") from None
    host = parts.hostname
    if not host or not _HOST.fullmatch(host):
        raise EndpointError(f"{text}: no host, or not a host name; {USAGE}")
    user = unquote(parts.username) if parts.username else None
    if user is not None and not _USER.fullmatch(user):
        raise EndpointError(f"{text}: {user!r} is not a user name")
    if parts.password is not None or parts.query or parts.fragment:
        raise EndpointError(f"{text}: a password, query or fragment is not taken; {USAGE}")
    path = unquote(parts.path) or None
    if path is not None and ("\0" in path or "\n" in path):
        raise EndpointError(f"{text}: the socket path must not contain NUL or a newline")
    shown = host if port is None else f"{host}:{port}"
    return Target(text, label or shown, host=host, user=user, port=port, path=path)
