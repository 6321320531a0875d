"""Running a watcher's hooks (daemon.hook_spec): a Python callable in a thread with Circus's
signature `hook(watcher=, arbiter=, hook_name=, **kwargs)`, or a command in its own process
group (as an exec probe runs), each bounded by the watcher's hook timeout so that a slow hook
never stalls the daemon. What a hook answers is a yes or a no: a callable's truthy return
(as in Circus: a hook that returns nothing says no), a command's exit 0.

A failure (an exception, an exit other than 0, the timeout, a callable that cannot be
imported) is a no, unless the hook's errors are ignored (`"module.function, true"`, or one of
daemon.hook_spec.IGNORED_BY_DEFAULT, as in circusd); then it is a yes. Each call ends in a
`hook_success` or `hook_failure` event, as circusd publishes.

A callable runs in the daemon's process, as under circusd; it sees views of the watcher and
the daemon (WatcherView, ArbiterView), not the live objects, which belong to the event loop.
A change it makes to `watcher.env` applies to the processes started after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from daemon import events
from daemon.hook_spec import IGNORED_BY_DEFAULT, Hook, Hooks
from daemon.printable import printable
from daemon.probe_exec import check_exec

log = logging.getLogger("circus-tui")

# Callables running at once, every watcher's together: a call waits for a free place (within
# its timeout), and a hook stuck past its timeout keeps its place until it returns.
MAX_THREADS = 16
_IMPORT_LOCK = threading.Lock()
ERROR_SHOWN = 300
_places: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


async def in_thread(fn: Callable[[], Any], timeout: float) -> Any:
    """`fn()` in a thread of its own, its result within `timeout` (TimeoutError otherwise).
    Daemon threads, not an executor's: one stuck in a user's code must not keep the daemon
    from exiting, as an executor's threads would at interpreter shutdown."""
    loop = asyncio.get_running_loop()
    places = _places.setdefault(loop, asyncio.Semaphore(MAX_THREADS))
    deadline = loop.time() + timeout
    async with asyncio.timeout(timeout):
        await places.acquire()
    future: asyncio.Future[Any] = loop.create_future()

    def tell(result: Any, error: BaseException | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits any more
            loop.call_soon_threadsafe(_settle, future, result, error)
            loop.call_soon_threadsafe(places.release)

    def work() -> None:
        try:
            result = fn()
        except BaseException as exc:  # the user's code: handed back whatever it is
            tell(None, exc)
        else:
            tell(result, None)

    threading.Thread(target=work, name="hook", daemon=True).start()
    return await asyncio.wait_for(asyncio.shield(future), max(0.0, deadline - loop.time()))


@dataclass
class WatcherView:
    """What a Python hook sees as `watcher`: Circus's attributes that hooks read."""

    name: str
    numprocesses: int
    pids: list[int]
    env: dict[str, str]
    state: str
    cmd: str
    args: list[str]
    working_dir: str | None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class ArbiterView:
    """What a Python hook sees as `arbiter`."""

    endpoint: str
    pubsub_endpoint: str
    stats_endpoint: str | None
    watchers: list[WatcherView]

    def get_watcher(self, name: str) -> WatcherView | None:
        return next((w for w in self.watchers if w.name == name), None)


class HookFailure(Exception):
    pass


def resolve(target: str, search: list[str]) -> Callable[..., Any]:
    """The callable a dotted name (or "module:attribute") names, importing what it must;
    `search`: directories tried as well as the daemon's own path."""
    if ":" in target:
        module_name, _, attribute = target.partition(":")
    else:
        module_name, _, attribute = target.rpartition(".")
    with _IMPORT_LOCK:
        for directory in search:
            if directory and directory not in sys.path:
                sys.path.append(directory)
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:  # the user's code: anything can happen as it imports
            raise HookFailure(f"cannot import {module_name}: {type(exc).__name__}: {exc}") from None
    found: Any = module
    for part in attribute.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise HookFailure(f"{module_name} has no {attribute}") from None
    if not callable(found):
        raise HookFailure(f"{target} is not callable")
    return found


async def unimportable(hooks: Hooks, search: list[str]) -> str | None:
    """Why one of the Python callables of `hooks` cannot be found ("hooks.NAME: …"), or None;
    imported in a thread, within the hooks' timeout (importing runs the module's code)."""
    for name, hook in hooks.hooks.items():
        if hook.is_command:
            continue
        assert isinstance(hook.target, str)
        target = hook.target
        try:
            await in_thread(lambda t=target: resolve(t, search), hooks.timeout)
        except TimeoutError:
            return f"hooks.{name}: importing {target} took more than {hooks.timeout:g} s"
        except HookFailure as exc:
            return f"hooks.{name}: {printable(str(exc))[:ERROR_SHOWN]}"
    return None


class HookRunner:
    """The hooks of one watcher. `view` builds what a callable sees; `command_env` the
    environment, directory, user and group a command runs with."""

    def __init__(
        self,
        watcher_name: str,
        emit: Callable[[events.Event], None],
        *,
        hooks: Callable[[], Hooks | None],
        view: Callable[[], tuple[WatcherView, ArbiterView]],
        command_env: Callable[[], tuple[dict[str, str], str | None, Any, Any]],
        search: Callable[[], list[str]],
        env_changed: Callable[[dict[str, str]], None],
    ) -> None:
        self.watcher_name = watcher_name
        self.emit = emit
        self.view = view
        self.command_env = command_env
        self.search = search
        self.env_changed = env_changed
        self.hooks = hooks
        # Hooks whose earlier call outlived its timeout and still runs in its thread: a
        # call meanwhile fails at once, so that a hung hook holds one thread, not all.
        self._stuck: set[str] = set()

    def has(self, name: str) -> bool:
        hooks = self.hooks()
        return hooks is not None and hooks.get(name) is not None

    async def run(self, name: str, **kwargs: Any) -> bool:
        """The hook's answer; True when there is no such hook."""
        hooks = self.hooks()
        hook = hooks.get(name) if hooks is not None else None
        if hooks is None or hook is None:
            return True
        ignored = hook.ignore_errors or name in IGNORED_BY_DEFAULT
        try:
            if hook.is_command:
                answer = await self._command(name, hook, hooks.timeout, kwargs)
            else:
                answer = await self._callable(name, hook, hooks.timeout, kwargs)
        except HookFailure as exc:
            error = printable(str(exc))[:ERROR_SHOWN]
            log.error("watcher %s: hook %s failed: %s", self.watcher_name, name, error)
            self.emit(events.HookFailed(self.watcher_name, name, error))
            return ignored
        self.emit(events.HookSucceeded(self.watcher_name, name))
        # A hook that ran says yes or no, even one whose errors are ignored (a before_signal
        # that says no keeps the signal from being sent, as in circusd).
        return answer

    async def _callable(
        self, name: str, hook: Hook, timeout: float, kwargs: dict[str, Any]
    ) -> bool:
        assert isinstance(hook.target, str)
        if name in self._stuck:
            raise HookFailure("an earlier call is still running, past the timeout")
        watcher, arbiter = self.view()
        env_before = dict(watcher.env)
        search = self.search()
        target = hook.target

        def call() -> Any:
            fn = resolve(target, search)
            return fn(watcher=watcher, arbiter=arbiter, hook_name=name, **kwargs)

        finished = threading.Event()

        def call_and_free() -> Any:
            try:
                return call()
            finally:
                finished.set()
                self._stuck.discard(name)  # a set: safe from a thread under the GIL

        try:
            result = await in_thread(call_and_free, timeout)
        except TimeoutError:
            self._stuck.add(name)
            if finished.is_set():  # it returned between the timeout and now
                self._stuck.discard(name)
            raise HookFailure(f"no answer within {timeout:g} s") from None
        except HookFailure:
            raise
        except Exception as exc:  # the user's code
            raise HookFailure(f"{type(exc).__name__}: {exc}") from None
        if watcher.env != env_before:
            self.env_changed(dict(watcher.env))
        return bool(result)

    async def _command(
        self, name: str, hook: Hook, timeout: float, kwargs: Mapping[str, Any]
    ) -> bool:
        assert isinstance(hook.target, tuple)
        env, cwd, user, group = self.command_env()
        env = {**env, "CIRCUS_TUI_HOOK": name}
        for key in ("pid", "process_pid", "signum", "exit_code"):
            if kwargs.get(key) is not None:
                env[f"CIRCUS_TUI_{'PID' if 'pid' in key else key.upper()}"] = str(kwargs[key])
        argv = list(hook.target)
        if cwd is not None and "/" in argv[0] and not os.path.isabs(argv[0]):
            argv[0] = str(Path(cwd) / argv[0])
        started = time.monotonic()
        found = await check_exec(argv, env=env, cwd=cwd, timeout=timeout, user=user, group=group)
        if found.ok:
            return True
        # "exit 1: what it wrote", "timed out after 30 s", "cannot run: …"
        raise HookFailure(f"{found.detail} (after {time.monotonic() - started:.1f} s)")
