"""Every action of the console once: its id (the binding id a keymap names), default keys, the
words the key bar, the help screen and the palette show, whether it changes anything and
whether it asks first.

The daemon's commands come from `daemon.command_table` (what they send, whether they change
anything, what they ask); the console adds their keys here. The console's own actions (filter,
follow, sort, copy, help...) are declared here. Bindings, the key bar, the help screen and the
palette are all made from `ACTIONS`, and read-only mode is `allowed`, nowhere else.

An action runs as a Textual action string (`run`) on the node its `where` names: a key runs it
through its binding, the palette through `run_action`, so both run the same code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from textual.binding import Binding, BindingsMap
from textual.dom import DOMNode

from daemon.command_table import Command, ConsoleUse, console_uses
from tui.widgets.tables import WATCHER_COLUMNS

# Where an action's binding lives: the app (every screen), or one screen.
Where = Literal["app", "main", "details", "confirm", "ask", "help"]

# An action's keys in force, by action id: the defaults, or as a keymap changed them.
Keys = Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class Action:
    id: str
    help: str  # the help screen's and the palette's words, the binding's tooltip
    keys: tuple[str, ...] = ()  # Textual key names; none: the palette (or a keymap) only
    label: str = ""  # the key bar's word
    show: bool = False  # in the key bar
    where: Where = "main"
    run: str = ""  # the Textual action string, run on the node of `where`
    # Changes the daemon or its programs: a read-only console neither shows nor runs it.
    changes: bool = False
    ask: str | None = None  # asks first, with this detail
    # The palette's text; "{name}" makes one entry per watcher, whose name the action's
    # method then takes as its argument (a key passes none: the selected watcher).
    palette: str | None = None
    command: Command | None = None
    use: ConsoleUse | None = None


# The keys and key-bar words of the daemon's commands; the others have no key by default.
_COMMAND_KEYS = {
    "scale-up": (("plus",), "+1"),
    "scale-down": (("minus",), "-1"),
    "start": (("s",), "Start"),
    "stop": (("x",), "Stop"),
    "restart": (("r",), "Restart"),
}


def _command_actions() -> list[Action]:
    actions = []
    for command, use in console_uses():
        keys, label = _COMMAND_KEYS.get(use.action, ((), ""))
        actions.append(
            Action(
                use.action,
                use.help,
                keys,
                label,
                show=bool(keys),
                run=f"command({use.action!r})",
                changes=command.changes,
                ask=use.ask,
                command=command,
                use=use,
            )
        )
    return actions


_SORTS = [
    Action(
        f"sort-{column.key}",
        f"Sort watchers by {column.label.lower()}; again to reverse",
        (str(i),),
        f"Sort by {column.label.lower()}",
        run=f"sort({column.key!r})",
        palette=f"Sort watchers by {column.label.lower()}",
    )
    for i, column in enumerate(WATCHER_COLUMNS[:7], start=1)
]

_COMMANDS = _command_actions()

_ACTIONS = [
    # The keyed commands first, in the key bar's order; then the console's own.
    *sorted((a for a in _COMMANDS if a.keys), key=lambda a: list(_COMMAND_KEYS).index(a.id)),
    Action("filter", "Filter the output", ("slash",), "Filter", True, run="filter_log",
           palette="Filter the output"),
    Action("follow", "Follow new output", ("f",), "Follow", True, run="toggle_follow",
           palette="Follow new output (on/off)"),
    Action("all-logs", "All watchers' output", ("a",), "All logs", True, run="toggle_all",
           palette="All watchers' output (on/off)"),
    Action("copy", "Copy the last line, or all filtered", ("y",), "Copy",
           run="copy_output", palette="Copy the output to the clipboard"),
    Action("clear-filter", "Clear filter", ("escape",), "Clear filter", run="clear_filter",
           palette="Clear the filter"),
    *_SORTS,
    Action("details", "Details of the watcher: charts, options, events", run="details",
           palette="Details of {name}"),
    *(a for a in _COMMANDS if not a.keys),
    Action("quit", "Leave; the daemon keeps running", ("q",), "Quit", True, "app", "quit"),
    Action("help", "Every key", ("question_mark",), "Help", True, "app", "help"),
    Action("details-back", "Back to the watchers", ("escape", "q"), "Back", True, "details",
           "close"),
    Action("confirm-yes", "Do it", ("y",), "Yes", True, "confirm", "answer(True)"),
    Action("confirm-no", "Leave it", ("n", "escape"), "No", True, "confirm", "answer(False)"),
    Action("ask-cancel", "Leave it: nothing is sent", ("escape",), "Cancel", True, "ask",
           "cancel"),
    Action("help-close", "Close the help", ("escape", "q", "question_mark"), "Close", True,
           "help", "close"),
]  # fmt: skip

ACTIONS: dict[str, Action] = {a.id: a for a in _ACTIONS}
DEFAULT_KEYS: Keys = {a.id: a.keys for a in _ACTIONS}


def allowed(action: Action, readonly: bool) -> bool:
    """Read-only mode, the one rule: an action that changes anything is neither shown nor run."""
    return not (readonly and action.changes)


def bindings(where: Where, keys: Keys = DEFAULT_KEYS) -> list[Binding]:
    """The bindings of the actions of `where`, with the keys in force."""
    return [
        Binding(
            ",".join(keys[a.id]),
            a.run,
            a.label,
            show=a.show,
            id=a.id,
            tooltip=a.help,
        )
        for a in _ACTIONS
        if a.where == where and keys[a.id]
    ]


def use_keys(node: DOMNode, where: Where, keys: Keys) -> None:
    """Give `node` the keys in force for its actions, keeping Textual's own bindings.

    A keymap cannot go through Textual's `App.set_keymap`: that only moves the keys of a
    binding that exists, and most of the palette's actions have no key until a keymap gives
    them one. So the bindings are made again, once, when the node is made.
    """
    if keys is DEFAULT_KEYS:
        return
    ours = set(ACTIONS)
    # `_bindings` is what Textual reads the node's keys from (made from BINDINGS at __init__).
    kept = [b for bs in node._bindings.key_to_bindings.values() for b in bs if b.id not in ours]
    node._bindings = BindingsMap([*kept, *bindings(where, keys)])


def in_order(where: Iterable[Where]) -> list[Action]:
    """The actions of those places, in the registry's order."""
    places = set(where)
    return [a for a in _ACTIONS if a.where in places]
