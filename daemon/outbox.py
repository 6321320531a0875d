"""Replies queued for each client of the control endpoint, counted in bytes.

A ROUTER never blocks a send: what a client does not read waits in the daemon, up to SNDHWM
*messages* per client, and a message can be a 30 MiB `tail`. So every reply of TRACK_FROM
bytes or more is sent zero-copy with a tracker, which tells when libzmq has let go of it (it
is in the kernel's socket buffer, or gone with the connection): until then it counts against
its client, and against all clients together. A client at its budget gets nothing more, and
its requests are not even worked on, until it reads.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("circus-tui")

MIB = 1024 * 1024
MAX_QUEUED_PER_CLIENT = 32 * MIB
MAX_QUEUED_TOTAL = 256 * MIB
# Smaller replies are sent as plain copies: tracking costs more than they weigh, and SNDHWM
# (1,000 messages) bounds them to 1 MiB per client anyway.
TRACK_FROM = 1024
# Clients that vanished with replies queued are noticed at most this often.
SWEEP_INTERVAL = 1.0


@dataclass
class _Queue:
    items: list[tuple[Any, int]] = field(default_factory=list)  # (MessageTracker, bytes)
    size: int = 0


@dataclass
class _Episode:
    """A client that does not read, from its first dropped reply or request on."""

    peer: str
    dropped: int = 0


def describe(peer_address: str) -> str:
    """A client as the log names it: by pid on ipc (libzmq reports `host:uid:gid:pid`), by
    address on TCP."""
    parts = peer_address.split(":")
    if len(parts) == 4 and parts[3].isdigit():
        return f"client pid {parts[3]}"
    return f"client {peer_address}" if peer_address else "a client"


class Outbox:
    def __init__(
        self, per_client: int = MAX_QUEUED_PER_CLIENT, total: int = MAX_QUEUED_TOTAL
    ) -> None:
        self.per_client = per_client
        self.total_limit = total
        self.total = 0
        self._queues: dict[bytes, _Queue] = {}
        self._episodes: dict[bytes, _Episode] = {}
        self._swept = time.monotonic()

    def queued(self, identity: bytes) -> int:
        queue = self._queues.get(identity)
        if queue is None:
            return 0
        self._prune(identity, queue)
        return queue.size

    def full(self, identity: bytes) -> bool:
        """Whether this client's requests are to be dropped unread: its replies fill its
        budget, or one was dropped already and it has not read since. A client that does
        not read then costs no work either."""
        self._sweep()
        if identity in self._episodes:
            self._recovered(identity)
            return identity in self._episodes
        return self.queued(identity) >= self.per_client

    def refusal(self, identity: bytes, size: int) -> str | None:
        """Why a reply of `size` bytes cannot be queued for this client now, or None."""
        if size < TRACK_FROM:
            return None
        mine = self.queued(identity)
        if mine + size > self.per_client:
            return (
                f"{(mine + size) / MIB:.1f} MiB would be queued for it "
                f"(the limit is {self.per_client // MIB} MiB a client)"
            )
        if self.total + size > self.total_limit:
            self._prune_all()
            if self.total + size > self.total_limit:
                return (
                    f"replies queued for all clients reach {self.total_limit // MIB} MiB, "
                    "the daemon's limit"
                )
        return None

    def sent(self, identity: bytes, tracker: Any, size: int) -> None:
        queue = self._queues.setdefault(identity, _Queue())
        queue.items.append((tracker, size))
        queue.size += size
        self.total += size
        self._recovered(identity)

    def sent_small(self, identity: bytes) -> None:
        self._recovered(identity)

    def drop(self, identity: bytes, peer: str, what: str, why: str) -> None:
        """Count a dropped reply or request; log the first of an episode."""
        episode = self._episodes.get(identity)
        if episode is None:
            episode = self._episodes[identity] = _Episode(describe(peer))
            log.warning(
                "%s does not read its replies: dropping a %s, %s; its requests are dropped "
                "until it reads",
                episode.peer,
                what,
                why,
            )
        episode.dropped += 1

    def _recovered(self, identity: bytes) -> None:
        # Half the budget free again, not merely room for one more: a client hovering at its
        # limit must not fill the log.
        if identity in self._episodes and self.queued(identity) < self.per_client // 2:
            episode = self._episodes.pop(identity)
            log.info("%s reads again; %d dropped meanwhile", episode.peer, episode.dropped)

    def _prune(self, identity: bytes, queue: _Queue) -> None:
        if not queue.items or not queue.items[0][0].done:
            # Replies leave in order: nothing after an unsent one has gone either.
            return
        kept = []
        for tracker, size in queue.items:
            if tracker.done:
                queue.size -= size
                self.total -= size
            else:
                kept.append((tracker, size))
        queue.items = kept
        if not kept:
            del self._queues[identity]

    def _prune_all(self) -> None:
        for identity, queue in list(self._queues.items()):
            self._prune(identity, queue)

    def _sweep(self) -> None:
        """End the episodes of clients whose queue emptied without another request from
        them: they read at last, or left, and libzmq dropped what they had."""
        now = time.monotonic()
        if now - self._swept < SWEEP_INTERVAL:
            return
        self._swept = now
        self._prune_all()
        for identity in [i for i in self._episodes if i not in self._queues]:
            episode = self._episodes.pop(identity)
            log.info(
                "%s: its queued replies are gone (read, or dropped with its connection); "
                "%d dropped",
                episode.peer,
                episode.dropped,
            )
