"""The command palette (ctrl+p): every command, for every watcher.

Typing a number offers "scale to N"; "add NAME CMD..." offers to add a watcher.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from tui.app import CircusApp

SIGNALS = ("HUP", "USR1", "USR2", "TERM", "INT", "QUIT", "KILL", "TTIN", "TTOU")


class WatcherCommands(Provider):
    @property
    def app_(self) -> CircusApp:
        return self.app  # type: ignore[return-value]

    def _commands(self, query: str) -> list[tuple[str, Callable[[], Any], str]]:
        app = self.app_
        store = app.store
        out: list[tuple[str, Callable[[], Any], str]] = []
        if app.readonly:
            return out
        number = re.search(r"\b(\d{1,6})\b", query)
        for name in store.sorted_names():
            send = partial(app.send)
            confirm = partial(app.confirm_then_send)
            if number:
                n = int(number.group(1))
                out.append(
                    (
                        f"Scale {name} to {n}",
                        partial(send, f"{name} to {n}", "set", name=name,
                                options={"numprocesses": n}, waiting=True),
                        "set numprocesses",
                    )
                )  # fmt: skip
            out += [
                (f"Start {name}", partial(send, f"start {name}", "start", name=name,
                                          match="simple", waiting=True), "start"),
                (f"Stop {name}", partial(confirm, f"Stop {name}?", "", f"stop {name}", "stop",
                                         name=name, match="simple", waiting=True), "stop"),
                (f"Restart {name}", partial(confirm, f"Restart {name}?", "", f"restart {name}",
                                            "restart", name=name, match="simple",
                                            waiting=True), "restart"),
                (f"Reload {name} gracefully", partial(send, f"reload {name}", "reload",
                                                      name=name, graceful=True, waiting=True),
                 "new processes first, then the old ones stop"),
                (f"Remove {name}", partial(confirm, f"Remove {name}?",
                                           "Its processes are stopped.", f"rm {name}", "rm",
                                           name=name, waiting=True), "rm"),
            ]  # fmt: skip
            for sig in SIGNALS:
                out.append(
                    (
                        f"Send SIG{sig} to {name}",
                        partial(send, f"SIG{sig} to {name}", "signal", name=name, signum=sig),
                        "signal",
                    )
                )
        add = re.match(r"\s*add\s+(\S+)\s+(.+)", query)
        if add:
            cmd = add.group(2).strip()
            out.append(
                (
                    f"Add watcher {add.group(1)}: {cmd}",
                    partial(app.send, f"add {add.group(1)}", "add", name=add.group(1),
                            cmd=cmd, start=True, waiting=True),
                    "add and start",
                )
            )  # fmt: skip
        out += [
            ("Save running state to the config file", partial(app.send, "save", "save"), "save"),
            (
                "Reload the configuration file",
                partial(app.send, "reloadconfig", "reloadconfig", waiting=True),
                "reloadconfig",
            ),
        ]
        return out

    async def discover(self) -> Hits:
        for text, callback, help_text in self._commands(""):
            yield DiscoveryHit(text, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(_words(query))
        for text, callback, help_text in self._commands(query):
            if text.startswith(("Scale ", "Add watcher ")) and re.search(r"\d|add", query):
                yield Hit(1.0, text, callback, help=help_text)
                continue
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), callback, text=text, help=help_text)


def _words(query: str) -> str:
    """The query without the numbers that parametrise it, for fuzzy matching."""
    try:
        parts = shlex.split(query)
    except ValueError:
        parts = query.split()
    return " ".join(p for p in parts if not p.isdigit())
