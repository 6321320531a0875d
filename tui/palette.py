"""The command palette (ctrl+p): every action of the registry (tui/actions.py), the daemon's
commands once for every watcher.

A command that needs a value takes it from what was typed: `scale web 4` offers "Scale web
to 4", `add api python -m http.server` offers to add that watcher. Without it the entry ends
in "…" and asks when chosen (`scale web`: "Scale web to …"). Besides its text, an entry is
found by the words an operator types for it: the `ctl` command (`signal web`, `rm web`) and
the action's id (`scale web`).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple

from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Provider

from daemon.command_table import SIGNALS
from tui.actions import ACTIONS, Action, allowed
from tui.values import question

if TYPE_CHECKING:
    from tui.app import CircusApp

# Textual's fuzzy scores are not within 0..1 (a good match scores tens): an entry whose value
# was typed (`scale web 4`) goes before every other.
EXACT = 1_000.0


class Entry(NamedTuple):
    text: str
    words: tuple[str, ...]  # other texts it is found by
    values: dict[str, Any]  # what it runs with
    action: Action
    exact: bool  # its values came from the query: it goes first


class Query(NamedTuple):
    words: str  # for fuzzy matching: the query without its numbers
    n: int | None
    add: tuple[str, str] | None  # `add NAME CMD...`


def parse(query: str) -> Query:
    try:
        parts = shlex.split(query)
    except ValueError:
        parts = query.split()
    numbers = [p for p in parts if p.isdigit()]
    n = None
    if numbers:
        try:
            n = question(("n",)).parse(numbers[-1])["n"]
        except ValueError:
            n = None  # out of range: only the entry that asks
    add = re.match(r"\s*add\s+(\S+)\s+(.+)", query)
    return Query(
        " ".join(p for p in parts if not p.isdigit()),
        n,
        (add.group(1), add.group(2).strip()) if add else None,
    )


def _asking(text: str) -> str:
    # "Add watcher …: …" reads "Add watcher …".
    return re.sub(r"…(\W+…)+", "…", text)


def entries(app: CircusApp, query: Query) -> Iterator[Entry]:
    names = app.store.sorted_names()
    for action in ACTIONS.values():
        if not allowed(action, app.readonly):
            continue
        use = action.use
        if use is None:
            if action.palette is None:
                continue
            per_watcher = "{name}" in action.palette
            for name in names if per_watcher else [None]:
                values = {} if name is None else {"name": name}
                yield Entry(action.palette.format(name=name), (), values, action, False)
            continue
        targets: list[str | None] = list(names) if use.scope == "watcher" else [None]
        for name in targets:
            base = {} if name is None else {"name": name}
            for values, exact in _values(use.needs, query):
                values = {**base, **values}
                filled = {n: values.get(n, "…") for n in ("name", *use.needs)}
                text = use.text(**filled)
                if any(n not in values for n in use.needs):
                    text = _asking(text)
                spoken = [str(values[n]) for n in ("name", *use.needs) if n in values]
                words = (
                    " ".join([action.command.name if action.command else "", *spoken]),
                    " ".join([action.id.replace("-", " "), *spoken]),
                )
                yield Entry(text, words, values, action, exact)


def _values(needs: tuple[str, ...], query: Query) -> Iterator[tuple[dict[str, Any], bool]]:
    """The values an entry offers: from the query, every signal, or none (it asks)."""
    if not needs:
        yield {}, False
    elif needs == ("n",):
        yield ({"n": query.n}, True) if query.n is not None else ({}, False)
    elif needs == ("signal",):
        for sig in SIGNALS:
            yield {"signal": sig}, False
    elif needs == ("name", "cmd"):
        if query.add is not None:
            yield {"name": query.add[0], "cmd": query.add[1]}, True
        else:
            yield {}, False
    else:  # a new kind of value: asked for when chosen
        yield {}, False


class WatcherCommands(Provider):
    @property
    def app_(self) -> CircusApp:
        return self.app  # type: ignore[return-value]

    def _run(self, entry: Entry) -> Any:
        values = dict(entry.values)
        name = values.pop("name", None)
        return partial(self.app_.perform, entry.action.id, name, **values)

    async def discover(self) -> Hits:
        for entry in entries(self.app_, parse("")):
            yield DiscoveryHit(Text(entry.text), self._run(entry), help=entry.action.help)

    async def search(self, query: str) -> Hits:
        parsed = parse(query)
        matcher = self.matcher(parsed.words)
        for entry in entries(self.app_, parsed):
            if not parsed.words:
                # Only a number: what it parametrises.
                if entry.exact:
                    yield Hit(EXACT, Text(entry.text), self._run(entry), help=entry.action.help)
                continue
            on_text = matcher.match(entry.text)
            score = max([on_text, *(matcher.match(w) for w in entry.words)])
            if score <= 0:
                continue
            shown = matcher.highlight(entry.text) if on_text > 0 else Text(entry.text)
            score += EXACT if entry.exact else 0.0
            yield Hit(score, shown, self._run(entry), text=entry.text, help=entry.action.help)
