"""What an entry of the command table says: a command (`Command`), the arguments `ctl` takes
for it (`Param`) and how the console offers it (`ConsoleUse`). The entries themselves are in
daemon.command_table."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from daemon import ctl_output

Props = dict[str, Any]
Args = Mapping[str, Any]  # the parsed arguments of `ctl COMMAND`, by their `dest`


class UsageError(ValueError):
    """Arguments argparse accepted that still do not make a command (`set NAME KEY`)."""


@dataclass(frozen=True)
class Param:
    """One argument of `ctl COMMAND`. A positional when `flag` does not start with "-"."""

    flag: str
    help: str = ""
    # The property it becomes; None: only the command's own `build` reads it.
    prop: str | None = None
    nargs: str | None = None  # argparse's: "?", "+", argparse.REMAINDER ("...")
    type: Callable[[str], Any] | None = None
    default: Any = None
    choices: tuple[str, ...] | None = None
    switch: bool = False  # an option without a value (store_true)
    short: str | None = None  # "-f" beside "--follow"

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")


@dataclass(frozen=True)
class ConsoleUse:
    """The command as the console offers it: an action of its registry, a palette entry.

    `props` is a template: a string value `"{x}"` stands for the value `x` the operator gives
    (the watcher's `name`, a number `n`, a `signal`, a `cmd`), kept as it is (a number stays a
    number); other strings are formatted with them."""

    action: str  # the console action's id, the one a keymap names
    title: str  # "Stop {name}": the palette's text, and the confirmation's question
    help: str
    props: Mapping[str, Any] = field(default_factory=dict)
    scope: Literal["watcher", "daemon"] = "watcher"
    # Asks first with this detail; None: runs at once.
    ask: str | None = None
    # What the operator gives besides the watcher: ("n",), ("signal",), ("name", "cmd").
    needs: tuple[str, ...] = ()

    def properties(self, **values: Any) -> Props:
        return _fill(self.props, values)

    def text(self, **values: Any) -> str:
        return self.title.format(**values)


def _fill(template: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(template, Mapping):
        return {k: _fill(v, values) for k, v in template.items()}
    if isinstance(template, str):
        if template.startswith("{") and template.endswith("}") and template[1:-1] in values:
            return values[template[1:-1]]
        return template.format(**values)
    return template


@dataclass(frozen=True)
class Command:
    name: str
    summary: str  # one line: `ctl --help`, the docs' command list
    params: tuple[Param, ...] = ()
    # Changes the daemon or its programs: a read-only console neither shows nor sends it.
    changes: bool = False
    circus: bool = True  # one of Circus 0.19's commands; False: ours
    human: Callable[[Props], str] = ctl_output.ok
    # The properties from `ctl`'s arguments; by default every param with a `prop` that was
    # given (a switch only when set).
    build: Callable[[Args], Props] | None = None
    console: tuple[ConsoleUse, ...] = ()

    def properties(self, args: Args) -> Props:
        if self.build is not None:
            return self.build(args)
        return given(self.params, args)


def given(params: tuple[Param, ...], args: Args) -> Props:
    """The properties from `ctl`'s arguments: every param with a `prop` that was given (a switch
    only when set)."""
    props: Props = {}
    for p in params:
        if p.prop is None:
            continue
        value = args.get(p.dest)
        if value is None or value is False or value == []:
            continue
        props[p.prop] = value
    return props
