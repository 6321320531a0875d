"""What every rule is: a callable from the unchecked value to the checked one, raising
ValueError; CheckError names the key."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from typing import Any

Rule = Callable[[Any], Any]


class CheckError(ValueError):
    """A refused value: `key` names it, `message` says why."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def check(key: str, rule: Rule, value: Any) -> Any:
    try:
        return rule(value)
    except CheckError:
        raise
    except ValueError as exc:
        raise CheckError(key, str(exc)) from None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {found[0]!r}?)" if found else ""
