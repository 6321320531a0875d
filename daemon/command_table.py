"""Every control command once: what it is for, the arguments `ctl` takes and the properties they
become, how `ctl` shows the reply, whether it changes anything, and how the console offers it.

`ctl`'s parser and help, its human output, the console's palette entries and read-only mode,
and the command list of docs/protocol.md all come from `COMMANDS`; the handlers in
`daemon.commands` are registered under the same names (a test holds the two together). Adding
a command is an entry here and its handler there.

Plain data and pure functions: the console imports this module, so it never reaches ZeroMQ."""

from __future__ import annotations

import shlex

from daemon import ctl_output
from daemon.command_spec import Args, Command, ConsoleUse, Param, Props, UsageError, given

__all__ = ["COMMANDS", "SIGNALS", "Command", "ConsoleUse", "Param", "UsageError", "console_uses"]

# -- arguments several commands share --------------------------------------------------

WAITING = Param("--waiting", "reply only when done", prop="waiting", switch=True)
NAME = Param("name", "the watcher", prop="name")
SOME_NAME = Param("name", "a watcher (all when absent)", prop="name", nargs="?")
MATCHED_NAME = Param("name", "a watcher, or a glob of names (all when absent)", "name", "?")


def _set(args: Args) -> Props:
    pairs = args["pairs"]
    if len(pairs) % 2:
        raise UsageError("set: give KEY VALUE pairs")
    options = dict(zip(pairs[::2], pairs[1::2], strict=True))
    return {"name": args["name"], "options": options, **given((WAITING,), args)}


def _add(args: Args) -> Props:
    if not args["cmd"]:
        raise UsageError("add: give NAME CMD [ARGS...]")
    props: Props = {"name": args["name"], "cmd": shlex.join(args["cmd"]), "start": args["start"]}
    return {**props, **given((WAITING,), args)}


def _signal(args: Args) -> Props:
    rest = args["rest"]
    if len(rest) == 1:
        pid, signum = None, rest[0]
    elif len(rest) == 2 and rest[0].isdigit():
        pid, signum = int(rest[0]), rest[1]
    else:
        raise UsageError("signal: give NAME [PID] SIGNAL")
    props: Props = {"name": args["name"], "signum": signum}
    if pid is not None:
        props["pid"] = pid
    return {**props, **given(SIGNAL_SWITCHES, args)}


SIGNAL_SWITCHES = (
    Param("--children", "the direct children only, not the process", "children", switch=True),
    Param("--recursive", "the process, then every descendant", "recursive", switch=True),
)


def _reload(args: Args) -> Props:
    props = given((SOME_NAME, WAITING), args)
    return {**props, "graceful": not args["terminate"], "sequential": args["sequential"]}


def _scale(name: str, verb: str, action: str, title: str, help_: str) -> Command:
    """`incr` and `decr`: one process more or less from the console, `nb` from `ctl`."""
    return Command(
        name,
        f"{verb} the number of processes",
        (NAME, Param("nb", "how many (default 1)", "nb", "?", int, 1), WAITING),
        changes=True,
        human=ctl_output.count,
        console=(ConsoleUse(action, title, help_, {"name": "{name}", "nb": 1, "waiting": True}),),
    )


# The signals the console offers for a watcher.
SIGNALS = ("HUP", "USR1", "USR2", "TERM", "INT", "QUIT", "KILL", "TTIN", "TTOU")

SIMPLE = {"name": "{name}", "match": "simple", "waiting": True}

_COMMANDS = (
    Command(
        "list",
        "watchers, or the pids of one",
        (SOME_NAME,),
        human=ctl_output.listing,
    ),
    Command(
        "status",
        "state of every watcher, or of one",
        (SOME_NAME,),
        human=ctl_output.status,
    ),
    Command(
        "start",
        "start one watcher (glob) or all",
        (MATCHED_NAME, WAITING),
        changes=True,
        console=(ConsoleUse("start", "Start {name}", "Start the watcher", SIMPLE),),
    ),
    Command(
        "stop",
        "stop one watcher (glob) or all",
        (MATCHED_NAME, WAITING),
        changes=True,
        console=(
            ConsoleUse(
                "stop",
                "Stop {name}",
                "Stop the watcher (asks first)",
                SIMPLE,
                ask="Its processes get their stop signal, then SIGKILL after graceful_timeout.",
            ),
        ),
    ),
    Command(
        "restart",
        "restart one watcher (glob) or all",
        (MATCHED_NAME, WAITING),
        changes=True,
        console=(
            ConsoleUse(
                "restart",
                "Restart {name}",
                "Restart the watcher (asks first)",
                SIMPLE,
                ask="Every process is stopped, then started again.",
            ),
        ),
    ),
    _scale("incr", "increase", "scale-up", "Add a process to {name}", "Add a process now"),
    _scale(
        "decr", "decrease", "scale-down", "Remove a process from {name}", "Remove a process now"
    ),
    Command(
        "numprocesses",
        "processes running now",
        (SOME_NAME,),
        human=ctl_output.count,
    ),
    Command("numwatchers", "number of watchers", human=ctl_output.count_watchers),
    Command(
        "stats",
        "cpu and memory per process",
        (
            SOME_NAME,
            Param("pid", "one process", "process", "?", int),
            Param(
                "--extended",
                "what the extended_stats hook adds",
                prop="extended",
                switch=True,
            ),
        ),
        human=ctl_output.stats,
    ),
    Command("dstats", "the daemon's own stats", human=ctl_output.daemon_stats),
    Command("options", "every option of a watcher", (NAME,), human=ctl_output.options),
    Command(
        "get",
        "some options of a watcher",
        (NAME, Param("keys", "option names", "keys", "+")),
        human=ctl_output.options,
    ),
    Command(
        "set",
        "change options: set NAME KEY VALUE [KEY VALUE ...]",
        (NAME, Param("pairs", "KEY VALUE pairs", nargs="+"), WAITING),
        changes=True,
        build=_set,
        console=(
            ConsoleUse(
                "scale-to",
                "Scale {name} to {n}",
                "Set the number of processes",
                {"name": "{name}", "options": {"numprocesses": "{n}"}, "waiting": True},
                needs=("n",),
            ),
        ),
    ),
    Command(
        "globaloptions",
        "the daemon's options",
        (Param("option", "one of them", "option", "?"),),
        human=ctl_output.options,
    ),
    Command(
        "signal",
        "send a signal: signal NAME [PID] SIGNAL",
        (NAME, Param("rest", "[PID] SIGNAL", nargs="+"), *SIGNAL_SWITCHES),
        changes=True,
        build=_signal,
        console=(
            ConsoleUse(
                "send-signal",
                "Send SIG{signal} to {name}",
                "Send a signal to every process",
                {"name": "{name}", "signum": "{signal}"},
                needs=("signal",),
            ),
        ),
    ),
    Command(
        "kill",
        "stop processes with a signal",
        (
            NAME,
            Param("pid", "one process (all when absent)", "pid", "?", int),
            Param("--signum", "the signal (default: the watcher's stop_signal)", "signum"),
            WAITING,
        ),
        changes=True,
    ),
    Command(
        "add",
        "add a watcher: add [--start] NAME CMD [ARGS...]",
        (
            Param("--start", "start it too", switch=True),
            WAITING,
            Param("name", "the new watcher's name"),
            # Everything after the name is the command line, options such as `-m` included.
            Param("cmd", "the command line", nargs="..."),
        ),
        changes=True,
        build=_add,
        console=(
            ConsoleUse(
                "add-watcher",
                "Add watcher {name}: {cmd}",
                "Add a watcher and start it",
                {"name": "{name}", "cmd": "{cmd}", "start": True, "waiting": True},
                scope="daemon",
                needs=("name", "cmd"),
            ),
        ),
    ),
    Command(
        "rm",
        "remove a watcher",
        (NAME, Param("--nostop", "leave its processes running", "nostop", switch=True), WAITING),
        changes=True,
        console=(
            ConsoleUse(
                "remove",
                "Remove {name}",
                "Remove the watcher (asks first)",
                {"name": "{name}", "waiting": True},
                ask="Its processes are stopped.",
            ),
        ),
    ),
    Command(
        "reload",
        "restart processes gracefully",
        (
            SOME_NAME,
            Param("--terminate", "stop them all first, then start", switch=True),
            Param("--sequential", "one watcher after another", switch=True),
            WAITING,
        ),
        changes=True,
        build=_reload,
        console=(
            # Graceful, Circus's default: a rolling reload (the number ready never drops).
            ConsoleUse(
                "reload",
                "Rolling reload of {name}",
                "Replace its processes a few at a time, each old one once its new one is ready",
                {"name": "{name}", "graceful": True, "waiting": True},
            ),
        ),
    ),
    Command(
        "reloadconfig",
        "re-read the configuration file",
        changes=True,
        human=ctl_output.changes,
        build=lambda args: {"waiting": True},
        console=(
            ConsoleUse(
                "reload-config",
                "Reload the configuration file",
                "Re-read the file and apply what changed",
                {"waiting": True},
                scope="daemon",
            ),
        ),
    ),
    Command("quit", "stop every program and the daemon", (WAITING,), changes=True),
    Command("listsockets", "sockets the daemon owns", human=ctl_output.sockets),
    Command(
        "tail",
        "program output: tail NAME [-n N] [-f]",
        (
            NAME,
            Param("-n", "lines of backlog (default 20)", "count", type=int, default=20),
            Param("--follow", "keep printing new output", switch=True, short="-f"),
            Param("--pid", "one process", "pid", type=int),
            Param("--stream", "one stream", "stream", choices=("stdout", "stderr")),
        ),
        circus=False,
        human=ctl_output.lines,
    ),
    Command(
        "history",
        "stats history",
        (SOME_NAME,),
        circus=False,
        human=ctl_output.history,
    ),
    Command(
        "save",
        "write the running state back to the TOML file",
        changes=True,
        circus=False,
        human=ctl_output.saved,
        console=(
            ConsoleUse(
                "save-config",
                "Save running state to the config file",
                "Write the running state back to the TOML file",
                scope="daemon",
            ),
        ),
    ),
)

COMMANDS: dict[str, Command] = {c.name: c for c in _COMMANDS}


def console_uses() -> list[tuple[Command, ConsoleUse]]:
    """Every way the console offers a command, in the table's order."""
    return [(c, use) for c in _COMMANDS for use in c.console]
