"""What the operator gives a command besides the watcher (a `ConsoleUse`'s `needs`): how the
console asks for it and checks it, with the daemon's own rules (`daemon.options`), so a value
the console takes is one the daemon takes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from daemon.options import OptionError, check_name, check_option, parse_signal, signal_name

Values = dict[str, Any]


@dataclass(frozen=True)
class Question:
    prompt: str  # "{name}" is the watcher's
    placeholder: str
    # The operator's text to the values; ValueError says what is wrong with it.
    parse: Callable[[str], Values]


def _count(text: str) -> Values:
    try:
        return {"n": check_option("numprocesses", text)}
    except OptionError as exc:
        raise ValueError(f"{exc.message} (a whole number, 0 to 100000)") from None


def _signal(text: str) -> Values:
    number = parse_signal(text)
    # By name, as the palette sends them: "HUP", not 1 or "SIGHUP".
    return {"signal": signal_name(number).removeprefix("SIG")}


def _watcher(text: str) -> Values:
    name, _, cmd = text.strip().partition(" ")
    check_name(name)
    if not cmd.strip():
        raise ValueError("give the command line after the name")
    return {"name": name, "cmd": cmd.strip()}


QUESTIONS: dict[tuple[str, ...], Question] = {
    ("n",): Question("How many processes should {name} run?", "a number, 0 to 100000", _count),
    ("signal",): Question("Which signal to {name}'s processes?", "HUP, TERM, USR1, 9...", _signal),
    ("name", "cmd"): Question("Add a watcher and start it", "NAME COMMAND [ARGS...]", _watcher),
}


def question(needs: tuple[str, ...]) -> Question:
    return QUESTIONS[needs]
