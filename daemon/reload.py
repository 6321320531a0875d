"""A reload: the file is read again and compared with what runs. Watchers whose settings
changed are reconfigured (and restarted if need be), added ones started, removed ones stopped;
sockets stay bound, new ones are bound; what a reload cannot change is reported as ignored."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from daemon.config import load_config
from daemon.errors import Refused, SystemRefused
from daemon.events import ReloadChanges
from daemon.sockets import SocketError, bind_all

if TYPE_CHECKING:
    from daemon.arbiter import Arbiter

log = logging.getLogger("circus-tui")


async def reread_config(arbiter: Arbiter) -> ReloadChanges:
    """What changed, by kind: added, removed, changed, ignored. Refused (the file is bad, or
    there is none) or SystemRefused (a new socket cannot be bound) leave everything as it was."""
    if arbiter.config.path is None:
        raise Refused("no configuration file to reload")
    try:
        # In a thread: a plugin with another interpreter is probed by running it.
        new = await asyncio.to_thread(load_config, arbiter.config.path)
    except Exception as exc:  # a bad file must leave everything running as it was
        raise Refused(f"reload refused: {exc}") from exc
    changes = ReloadChanges()
    # Sockets stay bound across a reload: new ones are bound, others are left as they
    # are (re-binding would drop connections waiting in their queues).
    fresh = {n: c for n, c in new.sockets.items() if n not in arbiter.sockets}
    try:
        bound = bind_all(fresh, arbiter.base_dir)
        arbiter.sockets.update(bound)
        arbiter.socket_fds.update({name: s.fd for name, s in bound.items()})
    except SocketError as exc:
        raise SystemRefused(f"reload refused: {exc}") from exc
    for name, cfg in new.sockets.items():
        if name not in fresh and arbiter.sockets[name].config != cfg:
            changes.ignored.append(f"sockets.{name} (changes need a restart)")
    changes.ignored += [
        f"sockets.{n} (still bound until restart)" for n in arbiter.sockets if n not in new.sockets
    ]
    if new.settings != arbiter.settings:
        changes.ignored.append("[circus] (changes need a restart)")
    for item in changes.ignored:
        log.warning("reload: %s", item)
    wanted = arbiter.wanted_watchers(new)
    old_names = {w.name for w in arbiter.watchers.values()}
    for name in old_names - set(wanted):
        await arbiter.remove_watcher(name)
        changes.removed.append(name)
    plugins = {p.watcher_name for p in new.plugins.values()}
    for name, cfg in wanted.items():
        if name not in old_names:
            await arbiter.add_watcher(cfg, cfg.autostart)
            changes.added.append(name)
        else:
            watcher = arbiter.get(name)
            if watcher.config != cfg:
                try:
                    # A plugin's single process is stopped before its replacement starts, as
                    # circusd replaces a plugin: two of them would both act on every event.
                    await watcher.reconfigure(cfg, graceful=name not in plugins)
                except Refused as exc:
                    # An aborted rolling reload: the old processes serve on; the others go on.
                    log.error("reload: %s", exc.reason)
                    changes.failed.append(f"{name}: {exc.reason}")
                changes.changed.append(name)
    arbiter.config = replace(new, settings=arbiter.settings)
    return changes
