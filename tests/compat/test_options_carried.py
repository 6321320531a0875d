"""Circus's documented options, carried by `circus-tui convert`: one circus.ini (option_runs.py)
run by Circus 0.19's circusd and, converted, by our daemon, at the same time. Each check reads
what the programs saw or what happened, from both; it passes when both saw the same, and that
is what the option asks for (so that a check cannot pass on two supervisors ignoring it).

documented_options.py lists every documented option with the check that shows it carried, or
the reason it is not; docs/migrating.md's table says the same."""

from __future__ import annotations

import concurrent.futures
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.compat.documented_options import CARRIED, NOT_CARRIED, entries
from tests.compat.option_runs import DAEMON_ENV, Run, exercise, prepare

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def runs() -> Iterator[dict[str, Run]]:
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        futures = {kind: pool.submit(exercise, prepare(kind)) for kind in ("circusd", "ours")}
        done = {kind: future.result() for kind, future in futures.items()}
    yield done
    for run in done.values():
        shutil.rmtree(run.dir, ignore_errors=True)


def report(run: Run, label: str, index: int = 0) -> dict[str, Any]:
    reports = run.reports.get(label, [])
    assert len(reports) > index, f"{run.kind}: no report from {label}"
    return reports[index]


def env(run: Run, label: str) -> dict[str, str]:
    seen = dict(report(run, label)["env"])
    # What each adds of its own: ours its documented CIRCUS_TUI_* (operations.md); circusd
    # the name of the ini section the values came from (configparser's __name__).
    for key in [k for k in seen if k.startswith("CIRCUS_TUI_")] + ["__name__"]:
        seen.pop(key, None)
    return seen


def fd(run: Run, label: str, number: int) -> Any:
    return report(run, label)["fds"].get(str(number))


def socket_args(run: Run, label: str) -> list[Any]:
    """What each descriptor number in the program's arguments is."""
    seen = report(run, label)
    return [seen["fds"].get(arg) for arg in seen["argv"][3:]]


def gap(times: list[float]) -> float:
    first, second = sorted(times)
    return second - first


def log_file(run: Run, name: str, label: str) -> str | None:
    text = run.results["files"].get(name)
    if text is None:
        return None
    pids = {str(r["pid"]) for r in run.reports.get(label, [])}
    return re.sub(r"\d+", lambda m: "PID" if m.group() in pids else m.group(), text)


# As the `bound` watcher's arguments name them: reuse, then tcp, unix, udp and v6.
SOCKETS = [
    {
        "kind": "socket",
        "family": "AF_INET",
        "type": "SOCK_STREAM",
        "address": ["127.0.0.1", "@P4@"],
        "listening": True,
        "reuseport": True,
        "blocking": False,
    },
    {
        "kind": "socket",
        "family": "AF_INET",
        "type": "SOCK_STREAM",
        "address": ["127.0.0.1", "@P1@"],
        "listening": True,
        "reuseport": False,
        "blocking": False,
    },
    {
        "kind": "socket",
        "family": "AF_UNIX",
        "type": "SOCK_STREAM",
        "address": "@RUN@/app.sock",
        "listening": True,
        "reuseport": False,
        "blocking": False,
        "mode": "0o777",
    },
    {
        "kind": "socket",
        "family": "AF_INET",
        "type": "SOCK_DGRAM",
        "address": ["127.0.0.1", "@P2@"],
        "listening": False,
        "reuseport": False,
        "blocking": False,
    },
    {
        "kind": "socket",
        "family": "AF_INET6",
        "type": "SOCK_STREAM",
        "address": ["::1", "@P3@", 0, 0],
        "listening": True,
        "reuseport": False,
        "blocking": True,
    },
]

HOOKS = [
    f"hooked {name}"
    for name in (
        "before_start",
        "before_spawn",
        "after_spawn",
        "after_start",
        "extended_stats",
        "before_stop",
        "before_signal",
        "after_signal",
        "before_reap",
        "after_reap",
        "after_stop",
    )
]

# name: (what both must show, normalised by Run.normal; what it must be)
CHECKS: dict[str, tuple[Callable[[Run], Any], Any]] = {
    "endpoints": (lambda r: r.results["watchers"].count("plain"), 1),
    "pidfile": (lambda r: r.results["pidfile"], True),
    "warmup_between_watchers": (
        lambda r: 0.95 <= gap([report(r, "early")["forked"], report(r, "late")["forked"]]) < 3,
        True,
    ),
    "loglevel": (
        lambda r: bool(re.search(r"\bDEBUG\b", r.results["supervisor_log"], re.IGNORECASE)),
        True,
    ),
    "stop_event": (lambda r: r.results["stop_event"], True),
    "stats_stream": (lambda r: r.results["stats_stream"], True),
    "include": (lambda r: [len(r.reports.get(w, [])) for w in ("included", "fromdir")], [1, 1]),
    "umask": (lambda r: [report(r, w)["umask"] for w in ("plain", "bound", "user")], ["0o27"] * 3),
    "argv": (
        lambda r: sorted(p["argv"][3:] for p in r.reports["plain"]),
        [
            ["wid=1", "user=alice", "lower=alice", "old=1"],
            ["wid=2", "user=alice", "lower=alice", "old=2"],
        ],
    ),
    "shell": (
        lambda r: report(r, "shell")["parent"][3:],
        ["first", "second"],
    ),
    "working_dir": (
        lambda r: [report(r, "cwd")["cwd"], report(r, "plain")["cwd"]],
        ["@RUN@/work", "@RUN@"],
    ),
    "user": (lambda r: [report(r, "user")["uid"], report(r, "user")["gid"]], [65534, 65534]),
    "copy_env": (
        lambda r: [
            env(r, "envs").get("WHO"),
            env(r, "plain").get("WHO"),
            "HOME" in env(r, "plain"),
        ],
        [DAEMON_ENV["WHO"], "alice", False],
    ),
    "copy_path": (lambda r: env(r, "copypath").get("PYTHONPATH"), "@RUN@"),
    "virtualenv": (
        lambda r: [env(r, "venv").get("PYTHONPATH"), env(r, "venvver").get("PYTHONPATH")],
        [
            "@RUN@:@RUN@/venv/lib/python3.11/site-packages",
            "@RUN@:@RUN@/venv/lib/python3.9/site-packages",
        ],
    ),
    "warmup_delay": (
        lambda r: 0.95 <= gap([p["forked"] for p in r.reports["warm"]]) < 3,
        True,
    ),
    "autostart": (
        lambda r: [r.results["status"]["manual"], len(r.reports.get("manual", []))],
        ["stopped", 0],
    ),
    "rlimits": (
        lambda r: {
            k: v
            for k, v in report(r, "limits")["rlimits"].items()
            if k in ("RLIMIT_NOFILE", "RLIMIT_CORE", "RLIMIT_MSGQUEUE")
        },
        {
            "RLIMIT_NOFILE": [1000, 1000],
            "RLIMIT_CORE": [-1, -1],
            "RLIMIT_MSGQUEUE": [100000, 100000],
        },
    ),
    "stdin": (
        lambda r: [fd(r, "stdin", 0), fd(r, "plain", 0)],
        [{"kind": "pipe"}, {"kind": "file", "path": "/dev/null"}],
    ),
    "stdin_socket": (lambda r: fd(r, "inetd", 0), SOCKETS[1]),
    "closed": (
        lambda r: [fd(r, "closed", 1), fd(r, "closed", 2)],
        [{"kind": "file", "path": "/dev/null"}] * 2,
    ),
    "sockets": (lambda r: socket_args(r, "bound"), SOCKETS),
    "file_stream": (lambda r: log_file(r, "file.log", "file"), "hello\n"),
    "time_format": (lambda r: log_file(r, "timed.log", "timed"), "2026-12 [PID] | stamped\n"),
    "rotation": (
        lambda r: [
            sorted(n for n in r.results["files"] if n.startswith("rotated")),
            all(len(r.results["files"][n]) <= 2100 for n in r.results["files"]),
        ],
        [["rotated.log", "rotated.log.1"], True],
    ),
    "watched": (
        lambda r: [log_file(r, "watched.log", "watched"), log_file(r, "watched.err", "watched")],
        ["watched\n", "watched on stderr\n"],
    ),
    "watched_time_format": (
        lambda r: log_file(r, "watchedtime.log", "watchedtime"),
        "2026 [PID] | watched-stamped\n2026 [PID] | watched-stamped on stderr\n",
    ),
    "timed_rotating": (lambda r: log_file(r, "daily.log", "daily"), "2026 [PID] | daily\n"),
    "stdout_stream": (
        lambda r: "printed-by-the-daemon\n" in r.results["supervisor_log"],
        True,
    ),
    "stop_signal": (lambda r: r.results["stopsig"], ["SIGQUIT"]),
    "graceful_timeout": (
        lambda r: [1.0 <= r.results["graceful_seconds"] < 4, r.results["graceful_signals"]],
        [True, ["SIGTERM"]],
    ),
    "stop_children": (lambda r: r.results["children_child_signals"], ["SIGTERM"]),
    "send_hup": (
        lambda r: [r.results["hup_signals"], r.results["hup_pids_after"]],
        [["SIGHUP"], True],
    ),
    "singleton": (
        lambda r: [r.results["single_incr"], r.results["single_after"]],
        ["ok", 1],
    ),
    "priority": (
        lambda r: (
            [r.results["pids"][w][0] for w in ("first", "second", "third")]
            == sorted(r.results["pids"][w][0] for w in ("first", "second", "third"))
        ),
        True,
    ),
    "max_age": (lambda r: r.results["aged_replaced"], True),
    "on_demand": (
        lambda r: [r.results["ondemand_before"], r.results["ondemand_after"]],
        [0, 1],
    ),
    "hooks": (lambda r: r.results["hooks"], HOOKS),
    "respawn": (lambda r: r.results["once_count"], 1),
    "env_sections": (
        lambda r: [
            {k: env(r, "envs").get(k) for k in ("GLOBAL_VAR", "LISTED", "WILD")},
            {k: env(r, "plain").get(k) for k in ("GLOBAL_VAR", "LISTED", "WILD")},
        ],
        [
            {"GLOBAL_VAR": "everywhere", "LISTED": "yes", "WILD": "yes"},
            {"GLOBAL_VAR": "everywhere", "LISTED": "yes", "WILD": None},
        ],
    ),
    "env_expansion": (
        lambda r: (
            {k: env(r, "envs").get(k) for k in ("FROM_HOME", "COST", "PROBE_SECRET")}
            | {"PATH": env(r, "envs")["PATH"].endswith(":/opt/extra")}
        ),
        {"FROM_HOME": "/home/probe/data", "COST": "5$", "PROBE_SECRET": "pa$word", "PATH": True},
    ),
}


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_both_supervisors_do_what_the_option_says(runs: dict[str, Run], check: str) -> None:
    observe, expected = CHECKS[check]
    circusd = runs["circusd"].normal(observe(runs["circusd"]))
    ours = runs["ours"].normal(observe(runs["ours"]))
    assert circusd == expected, f"circusd is not what the check expects: {circusd!r}"
    assert ours == circusd


def test_the_converted_file_warns_only_of_what_is_not_carried(runs: dict[str, Run]) -> None:
    # daily's TimedRotatingFileStream (rotation by time) alone.
    warnings = runs["ours"].warnings
    assert warnings != []
    assert [w for w in warnings if not w.startswith("watcher daily:")] == []


def test_every_documented_option_is_carried_or_has_a_reason() -> None:
    documented = entries()
    assert len(documented) == len(set(documented))
    assert set(CARRIED) & set(NOT_CARRIED) == set()
    assert set(CARRIED) | set(NOT_CARRIED) == set(documented)
    for option, reason in NOT_CARRIED.items():
        assert reason.strip(), option


@pytest.mark.parametrize("option", sorted(CARRIED))
def test_each_carried_option_has_a_check_that_runs(option: str) -> None:
    shown_by = CARRIED[option]
    if "::" in shown_by:
        path, _, name = shown_by.partition("::")
        assert f"def {name}(" in (ROOT / path).read_text(), shown_by
    else:
        assert shown_by in CHECKS, shown_by


def migrating_table() -> dict[str, tuple[str, str]]:
    """docs/migrating.md's rows, in order: option -> (carried?, reason)."""
    text = (ROOT / "docs" / "migrating.md").read_text()
    rows: dict[str, tuple[str, str]] = {}
    for line in text.splitlines():
        match = re.fullmatch(r"\| `\[(\w+)\] ([^`]+)` \| (yes|no) \| (.*) \|", line)
        if match:
            section, option, carried, reason = match.groups()
            rows[f"{section}.{option}"] = (carried, reason)
    return rows


def test_the_migration_guide_lists_the_same() -> None:
    rows = migrating_table()
    assert list(rows) == entries()
    for option in CARRIED:
        assert rows[option][0] == "yes", option
    for option, reason in NOT_CARRIED.items():
        assert rows[option] == ("no", reason), option
    total = len(entries())
    summary = f"{len(CARRIED)} of the {total} options Circus 0.19 documents"
    assert summary in (ROOT / "docs" / "migrating.md").read_text()
