"""Client connections on the daemon's endpoints, bounded before libzmq accepts them.

libzmq accepts every connection it can, and an accept on an ipc endpoint that meets EMFILE
aborts the whole process (`Too many open files (src/ipc_listener.cpp:297)`). A ROUTER cannot
close one peer, and unbinding closes every connection that came through that bind. So on an
ipc endpoint the daemon owns the listening socket and hands libzmq only batches of
connections that already wait in a listening socket nobody can reach any more:

1. The *open* listening socket, ours, sits at the endpoint's path with a small backlog b.
   Connects queue in it (the kernel holds at most b + 1); libzmq does not watch it.
2. To admit them, a fresh listening socket is bound under a temporary name and renamed over
   the path (atomic: a connect finds one or the other), and the old one is given to libzmq
   (ZMQ_USE_FD). Since nothing can reach it any more, libzmq accepts at most b + 1
   connections from it, into descriptors the budget counted as free first.
3. When every connection of a batch has left, its listener is unbound (that closes nothing
   else) and its descriptor freed.

A batch is admitted only when it fits the endpoint's MAX_CONNECTIONS, the clients' share of
descriptors and the descriptors free right now (daemon/fdlimit.py). Otherwise clients wait:
b + 1 in the queue, and the kernel refuses the others (EAGAIN), whose libzmq tries again every
100 ms. The monitor's ACCEPTED and DISCONNECTED events count the connections of each batch:
they name the listener an accepted connection came through, by its temporary name.

A TCP port has no path to rename, so there libzmq listens itself: an accept that meets EMFILE
is harmless there (it is retried), and connections beyond the limit are shut down as soon as
the monitor reports them, which frees their descriptors at once.
"""

from collections.abc import Callable
from typing import Any

import zmq

from daemon.admission.gate import MAX_BACKLOG, MAX_CONNECTIONS, Gate
from daemon.admission.ipc import IpcGate
from daemon.admission.tcp import TcpGate
from daemon.endpoints import ipc_path

__all__ = ["MAX_BACKLOG", "MAX_CONNECTIONS", "Gate", "make_gate"]


def make_gate(sock: zmq.Socket[Any], url: str, on_change: Callable[[], None] | None = None) -> Gate:
    """The gate an endpoint needs: an abstract ipc name (`ipc://@…`) has no path to rename."""
    if ipc_path(url) is not None and not url.startswith("ipc://@"):
        return IpcGate(sock, url, on_change=on_change)
    return TcpGate(sock, url, on_change=on_change)
