"""The command table is the one list of commands: the handlers, `ctl`, the console's palette
and docs/protocol.md agree with it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from daemon.command_table import COMMANDS, UsageError, console_uses
from daemon.commands import COMMANDS as HANDLERS
from daemon.ctl import _parser

DOC = Path(__file__).parents[2] / "docs" / "protocol.md"


def _doc_rows() -> dict[str, tuple[str, str]]:
    """command -> (properties, notes), from the table under `## Commands`."""
    text = DOC.read_text().split("\n## Commands\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, tuple[str, str]] = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[0] in ("command", "---"):
            continue
        for name in re.findall(r"`(\w+)`", cells[0]):
            rows[name] = (cells[1], cells[3])
    return rows


def test_every_command_has_a_handler_and_every_handler_an_entry() -> None:
    assert list(HANDLERS) and set(COMMANDS) == set(HANDLERS)


def test_the_protocol_page_lists_exactly_the_commands_of_the_table() -> None:
    assert set(_doc_rows()) == set(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_protocol_page_names_every_property_ctl_sends(name: str) -> None:
    props, notes = _doc_rows()[name]
    documented = set(re.findall(r"`(\w+)`", props))
    sent = {p.prop for p in COMMANDS[name].params if p.prop is not None}
    assert sent <= documented, f"{name}: {sent - documented} missing from docs/protocol.md"
    assert notes.startswith("Ours") == (not COMMANDS[name].circus), name


@pytest.mark.parametrize(
    ("argv", "props"),
    [
        (["list"], {}),
        (["list", "web"], {"name": "web"}),
        (["start", "web*", "--waiting"], {"name": "web*", "waiting": True}),
        (["incr", "web"], {"name": "web", "nb": 1}),
        (["decr", "web", "3", "--waiting"], {"name": "web", "nb": 3, "waiting": True}),
        (["stats", "web", "12"], {"name": "web", "process": 12}),
        (["get", "web", "a", "b"], {"name": "web", "keys": ["a", "b"]}),
        (["set", "web", "a", "1", "b", "2"], {"name": "web", "options": {"a": "1", "b": "2"}}),
        (["signal", "web", "HUP"], {"name": "web", "signum": "HUP"}),
        (
            ["signal", "web", "12", "TERM", "--children"],
            {"name": "web", "pid": 12, "signum": "TERM", "children": True},
        ),
        (["kill", "web", "7", "--signum", "INT"], {"name": "web", "pid": 7, "signum": "INT"}),
        (
            ["add", "--start", "w", "python", "-m", "http.server"],
            {"name": "w", "cmd": "python -m http.server", "start": True},
        ),
        (["rm", "web", "--nostop"], {"name": "web", "nostop": True}),
        (["reload", "--terminate"], {"graceful": False, "sequential": False}),
        (["reloadconfig"], {"waiting": True}),
        (["tail", "web", "-n", "5", "--stream", "stderr"], {"name": "web", "count": 5,
                                                             "stream": "stderr"}),
        (["globaloptions", "pubsub_endpoint"], {"option": "pubsub_endpoint"}),
    ],
)  # fmt: skip
def test_ctl_arguments_become_the_properties_circusctl_would_send(
    argv: list[str], props: dict[str, object]
) -> None:
    ns = _parser().parse_args(argv)
    assert COMMANDS[ns.command].properties(vars(ns)) == props


@pytest.mark.parametrize(
    "argv", [["set", "web", "a"], ["signal", "web", "x", "TERM"], ["add", "web"]]
)
def test_arguments_that_make_no_command_are_a_usage_error(argv: list[str]) -> None:
    ns = _parser().parse_args(argv)
    with pytest.raises(UsageError):
        COMMANDS[ns.command].properties(vars(ns))


def test_console_uses_are_commands_that_change_something_with_unique_action_ids() -> None:
    uses = console_uses()
    ids = [use.action for _, use in uses]
    assert len(ids) == len(set(ids))
    assert all(command.changes for command, _ in uses)


def test_a_console_use_fills_its_template_keeping_numbers_numbers() -> None:
    use = next(u for _, u in console_uses() if u.action == "scale-to")
    assert use.text(name="web", n=4) == "Scale web to 4"
    assert use.properties(name="web", n=4) == {
        "name": "web",
        "options": {"numprocesses": 4},
        "waiting": True,
    }
