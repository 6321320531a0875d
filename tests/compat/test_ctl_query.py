"""Read-only commands through the real circusctl: human output, --json output, exit status."""

from __future__ import annotations

import re
import subprocess
from typing import Any

from compat_support import (
    CIRCUSCTL,
    INFOLINE,
    PROCESS_INFO_KEYS,
    Supervise,
    key_values,
    poll,
    process_info_problems,
)

SLEEPERS = {
    "sl": {"cmd": "sleep 1000", "numprocesses": 2},
    "idle": {"cmd": "sleep 1001", "numprocesses": 3, "autostart": False},
}


def test_list(supervise: Supervise) -> None:
    sup = supervise(SLEEPERS)
    pids = sup.wait_pids("sl", 2)

    assert sup.ctl_ok("list") == "idle,sl\n"
    reply = sup.ctl_json("list")
    assert reply["status"] == "ok"
    assert reply["watchers"] == ["idle", "sl"]

    out = sup.ctl_ok("list", "sl")
    assert re.fullmatch(r"\d+,\d+\n", out), out
    assert sorted(int(p) for p in out.split(",")) == pids
    reply = sup.ctl_json("list", "sl")
    assert reply["status"] == "ok"
    assert all(isinstance(p, int) for p in reply["pids"]), reply
    assert sorted(reply["pids"]) == pids

    # A stopped watcher lists no pid: circusctl prints an empty line.
    assert sup.ctl_ok("list", "idle") == "\n"
    # Watcher names are matched case-insensitively.
    assert sorted(int(p) for p in sup.ctl_ok("list", "SL").split(",")) == pids


def test_status(supervise: Supervise) -> None:
    sup = supervise(SLEEPERS)
    sup.wait_pids("sl", 2)

    assert sup.ctl_ok("status") == "idle: stopped\nsl: active\n"
    reply = sup.ctl_json("status")
    assert reply["status"] == "ok"
    assert reply["statuses"] == {"idle": "stopped", "sl": "active"}

    assert sup.ctl_ok("status", "sl") == "active\n"
    assert sup.ctl_ok("status", "idle") == "stopped\n"
    # With a name, the watcher's state takes the place of "ok".
    reply = sup.ctl_json("status", "sl")
    assert reply["status"] == "active"
    assert "statuses" not in reply


def test_numprocesses_numwatchers(supervise: Supervise) -> None:
    sup = supervise(SLEEPERS)
    sup.wait_pids("sl", 2)

    assert sup.ctl_ok("numwatchers") == "2\n"
    assert sup.ctl_json("numwatchers")["numwatchers"] == 2

    # numprocesses counts running processes (circusd: len(watcher.processes)), so the stopped
    # `idle`, configured for 3, adds none.
    assert sup.ctl_ok("numprocesses") == "2\n"
    reply = sup.ctl_json("numprocesses")
    assert reply["numprocesses"] == 2
    assert "watcher_name" not in reply

    assert sup.ctl_ok("numprocesses", "sl") == "2\n"
    assert sup.ctl_ok("numprocesses", "idle") == "0\n"
    reply = sup.ctl_json("numprocesses", "sl")
    assert reply["status"] == "ok"
    assert reply["numprocesses"] == 2
    assert reply["watcher_name"] == "sl"


def _stats_sections(text: str) -> dict[str, list[str]]:
    """`stats` human output: a `name:` line, then one `pid: infoline` line per process."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.rstrip("\n").split("\n"):
        if re.fullmatch(r"[^\s:]+:", line):
            current = sections.setdefault(line[:-1], [])
        else:
            assert current is not None, f"process line before any watcher: {line!r}"
            current.append(line)
    return sections


def _check_infoline(line: str, pid: int, cmd: str) -> None:
    match = re.fullmatch(rf"{pid}: {INFOLINE}", line)
    assert match, f"not a stats line for {pid}: {line!r}"
    assert int(match["pid"]) == pid
    assert cmd in match["cmdline"], line


def test_stats(supervise: Supervise) -> None:
    sup = supervise(SLEEPERS)
    pids = sup.wait_pids("sl", 2)

    sections = _stats_sections(sup.ctl_ok("stats"))
    assert sections.keys() == {"idle", "sl"}
    assert sections["idle"] == []
    assert len(sections["sl"]) == 2
    for line, pid in zip(sorted(sections["sl"]), pids, strict=True):
        _check_infoline(line, pid, "sleep")

    reply = sup.ctl_json("stats")
    assert reply["status"] == "ok"
    infos = reply["infos"]
    assert infos.keys() == {"idle", "sl"}
    assert infos["idle"] == {}
    # JSON object keys are strings: the pids as text.
    assert sorted(infos["sl"]) == sorted(str(p) for p in pids)
    problems = [p for pid in pids for p in process_info_problems(infos["sl"][str(pid)], pid)]
    assert not problems, problems


def test_stats_watcher_and_process(supervise: Supervise) -> None:
    sup = supervise(SLEEPERS)
    pids = sup.wait_pids("sl", 2)

    out = sup.ctl_ok("stats", "sl")
    assert out.startswith("sl:\n"), out
    assert _stats_sections(out).keys() == {"sl"}
    for line, pid in zip(sorted(_stats_sections(out)["sl"]), pids, strict=True):
        _check_infoline(line, pid, "sleep")
    reply = sup.ctl_json("stats", "sl")
    assert reply["status"] == "ok"
    assert reply["name"] == "sl"
    assert sorted(reply["info"]) == sorted(str(p) for p in pids)

    assert sup.ctl_ok("stats", "idle") == "idle:\n"

    # One process: `pid: infoline` and a blank line (circusctl adds "\n" before printing).
    out = sup.ctl_ok("stats", "sl", str(pids[0]))
    assert out.endswith("\n\n"), out
    _check_infoline(out[:-2], pids[0], "sleep")
    reply = sup.ctl_json("stats", "sl", str(pids[0]))
    assert reply["status"] == "ok"
    assert reply["process"] == pids[0]
    assert not process_info_problems(reply["info"], pids[0]), reply

    # A pid that is not one of the watcher's processes.
    result = sup.ctl("stats", "sl", "1")
    assert result.returncode == 3, result
    assert result.stdout == "" and result.stderr.startswith("error: "), result
    reply = sup.ctl_json("stats", "sl", "1", ok=False)
    assert reply["status"] == "error" and reply["errno"] == 3, reply


def test_stats_children(supervise: Supervise) -> None:
    """A process with children: each child is printed under it, indented by three spaces."""
    sup = supervise({"tree": {"cmd": 'sh -c "sleep 1010 & sleep 1011 & wait"'}})
    (pid,) = sup.wait_pids("tree", 1)

    def two_children() -> dict[str, Any] | None:
        # Both children forked and exec'ed sleep (until then a child is another `sh`).
        info = sup.call("stats", name="tree", process=pid).get("info")
        if not isinstance(info, dict):
            return None
        children = info.get("children", [])
        ok = len(children) == 2 and all("sleep" in str(c.get("cmdline")) for c in children)
        return info if ok else None

    info = poll(two_children)
    assert not process_info_problems(info, pid), info

    out = sup.ctl_ok("stats", "tree", str(pid))
    lines = out.rstrip("\n").split("\n")
    assert len(lines) == 3, out
    _check_infoline(lines[0], pid, "sh")
    for line in lines[1:]:
        match = re.fullmatch(rf"   {INFOLINE}", line)
        assert match and "sleep" in match["cmdline"], line


def test_options(supervise: Supervise) -> None:
    sup = supervise(
        {
            "sl": {
                "cmd": "sleep 1000",
                "numprocesses": 2,
                "graceful_timeout": 7,
                "env": {"FOO": "bar"},
            }
        }
    )
    sup.wait_pids("sl", 2)

    shown = key_values(sup.ctl_ok("options", "sl"))
    expected = {
        "cmd": "sleep 1000",
        "numprocesses": "2",
        "graceful_timeout": "7.0",
        "respawn": "True",
        "singleton": "False",
        "stop_signal": "15",
        "max_age": "0",
    }
    assert {k: shown.get(k) for k in expected} == expected, shown
    assert "FOO=bar" in shown["env"].split(","), shown

    options = sup.ctl_json("options", "sl")["options"]
    required = {
        "cmd",
        "args",
        "numprocesses",
        "graceful_timeout",
        "stop_signal",
        "respawn",
        "singleton",
        "warmup_delay",
        "max_age",
        "max_age_variance",
        "max_retry",
        "env",
        "working_dir",
        "copy_env",
        "shell",
        "uid",
        "gid",
        "use_sockets",
    }
    assert not required - options.keys(), sorted(required - options.keys())
    # circusctl prints str() of the JSON values: types matter ("15", not "SIGTERM"; "7.0").
    typed = {k: (options[k], type(options[k])) for k in expected}
    assert typed == {
        "cmd": ("sleep 1000", str),
        "numprocesses": (2, int),
        "graceful_timeout": (7.0, float),
        "respawn": (True, bool),
        "singleton": (False, bool),
        "stop_signal": (15, int),
        "max_age": (0, int),
    }
    assert options["env"]["FOO"] == "bar"
    assert options["warmup_delay"] == 0


def test_get(supervise: Supervise) -> None:
    sup = supervise({"sl": {"cmd": "sleep 1000", "numprocesses": 2, "graceful_timeout": 7}})

    # The keys come back in the order asked for.
    assert sup.ctl_ok("get", "sl", "numprocesses", "graceful_timeout") == (
        "numprocesses: 2\ngraceful_timeout: 7.0\n"
    )
    assert sup.ctl_ok("get", "sl", "graceful_timeout", "numprocesses") == (
        "graceful_timeout: 7.0\nnumprocesses: 2\n"
    )
    reply = sup.ctl_json("get", "SL", "numprocesses", "cmd")
    assert reply["status"] == "ok"
    assert reply["options"] == {"numprocesses": 2, "cmd": "sleep 1000"}

    result = sup.ctl("get", "sl", "nokey")
    assert result.returncode == 3, result
    assert result.stderr.startswith("error: ") and "nokey" in result.stderr, result
    reply = sup.ctl_json("get", "sl", "nokey", ok=False)
    assert reply["status"] == "error" and reply["errno"] == 3, reply


def test_globaloptions(supervise: Supervise) -> None:
    sup = supervise({"sl": {"cmd": "sleep 1000"}}, stats=True)

    shown = key_values(sup.ctl_ok("globaloptions"))
    assert shown["endpoint"] == sup.endpoint
    assert shown["pubsub_endpoint"] == sup.pubsub_endpoint
    assert shown["stats_endpoint"] == sup.stats_endpoint
    assert float(shown["check_delay"]) >= 0

    options = sup.ctl_json("globaloptions")["options"]
    assert options["endpoint"] == sup.endpoint
    assert options["pubsub_endpoint"] == sup.pubsub_endpoint
    assert options["stats_endpoint"] == sup.stats_endpoint
    # circusd: a float (5.0 by default); any number prints fine.
    check_delay = options["check_delay"]
    assert isinstance(check_delay, int | float) and not isinstance(check_delay, bool), options

    assert sup.ctl_ok("globaloptions", "endpoint") == f"endpoint: {sup.endpoint}\n"
    assert sup.ctl_json("globaloptions", "pubsub_endpoint")["options"] == {
        "pubsub_endpoint": sup.pubsub_endpoint
    }

    # circusctl prints this one error bare, without "error: ".
    result = sup.ctl("globaloptions", "nope")
    assert result.returncode == 3, result
    assert "nope" in result.stderr, result
    reply = sup.call("globaloptions", option="nope")
    assert reply["status"] == "error" and reply["errno"] == 3, reply


def test_dstats(supervise: Supervise) -> None:
    sup = supervise({"sl": {"cmd": "sleep 1000"}})

    lines = sup.ctl_ok("dstats").rstrip("\n").split("\n")
    assert lines[0] == "Main Process:", lines
    assert re.fullmatch(rf"    {INFOLINE}", lines[1]), lines
    assert lines[1].split()[0] == str(sup.pid), lines
    if len(lines) > 2:
        assert lines[2] == "Children:", lines
        assert all(re.fullmatch(rf"    {INFOLINE}", line) for line in lines[3:]), lines

    info = sup.ctl_json("dstats")["info"]
    assert not PROCESS_INFO_KEYS - info.keys(), sorted(PROCESS_INFO_KEYS - info.keys())
    assert not process_info_problems(info, sup.pid), info


def test_listsockets_none(supervise: Supervise) -> None:
    sup = supervise({"sl": {"cmd": "sleep 1000"}})

    assert sup.ctl_ok("listsockets") == "\n"
    reply = sup.ctl_json("listsockets")
    assert reply["status"] == "ok" and reply["sockets"] == [], reply


UNKNOWN_WATCHER_COMMANDS = [
    ["list", "nope"],
    ["numprocesses", "nope"],
    ["stats", "nope"],
    ["options", "nope"],
    ["get", "nope", "numprocesses"],
    ["set", "nope", "numprocesses", "3"],
    ["incr", "nope"],
    ["decr", "nope"],
    ["start", "nope"],
    ["stop", "nope"],
    ["restart", "nope"],
    ["reload", "nope"],
    ["rm", "nope"],
    ["signal", "nope", "HUP"],
]

RAW_UNKNOWN_WATCHER = {
    "list": {},
    "numprocesses": {},
    "stats": {},
    "options": {},
    "get": {"keys": ["numprocesses"]},
    "set": {"options": {"numprocesses": 3}},
    "incr": {},
    "decr": {},
    "start": {},
    "stop": {},
    "restart": {},
    "reload": {},
    "rm": {},
    "signal": {"signum": 1},
    "status": {},
}


def test_unknown_watcher(supervise: Supervise) -> None:
    """Every command naming a watcher that does not exist: `error: <reason>`, exit status 3."""
    sup = supervise({"sl": {"cmd": "sleep 1000"}})
    sup.wait_pids("sl", 1)
    failures: list[str] = []

    for command, props in RAW_UNKNOWN_WATCHER.items():
        reply = sup.call(command, name="nope", **props)
        if not (
            reply.get("status") == "error"
            and reply.get("errno") == 3
            and "nope" in str(reply.get("reason"))
        ):
            failures.append(f"raw {command}: want status error, errno 3, 'nope' in reason: {reply}")

    for args in UNKNOWN_WATCHER_COMMANDS:
        result = sup.ctl(*args)
        if not (
            result.returncode == 3
            and result.stdout == ""
            and result.stderr.startswith("error: ")
            and "nope" in result.stderr
        ):
            failures.append(str(result))

    # status is the odd one: circusctl prints the reply's status field, "error".
    result = sup.ctl("status", "nope")
    if (result.returncode, result.stdout, result.stderr) != (3, "", "error\n"):
        failures.append(str(result))

    # With --json circusctl prints the error reply and exits 0.
    result = sup.ctl("list", "nope", json=True)
    if result.returncode != 0 or result.json.get("status") != "error":
        failures.append(str(result))

    # Nothing was disturbed.
    if sup.status("sl") != "active" or len(sup.pids("sl")) != 1:
        failures.append("the existing watcher was disturbed")
    assert not failures, "\n\n".join(failures)


def test_interactive_shell(supervise: Supervise) -> None:
    """`circusctl` without a command: prints its version and `status`, then reads commands."""
    sup = supervise(SLEEPERS)
    pids = sup.wait_pids("sl", 2)

    done = subprocess.run(
        [CIRCUSCTL, "--endpoint", sup.endpoint],
        input="list\nnumwatchers\nlist sl\nstatus idle\n",
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done
    lines = done.stdout.split("\n")
    assert lines[:3] == ["circusctl 0.19.0", "idle: stopped", "sl: active"], lines
    prompt = "(circusctl) "
    assert lines[3:5] == [prompt + "idle,sl", prompt + "2"], lines
    assert lines[5].startswith(prompt), lines
    assert sorted(int(p) for p in lines[5][len(prompt) :].split(",")) == pids, lines
    assert lines[6] == prompt + "stopped", lines


def test_options_give_args_and_working_dir_as_circusd(supervise: Supervise) -> None:
    sup = supervise({"a": {"cmd": "sleep 1000"}, "b": {"cmd": "sh", "args": "-c 'sleep 1000'"}})
    sup.wait_pids("b", 1)
    a = sup.call("options", name="a")["options"]
    b = sup.call("options", name="b")["options"]
    assert (a["args"], b["args"]) == ("", "-c 'sleep 1000'")
    # No working_dir: the directory the daemon started in, where the processes start.
    assert a["working_dir"] == str(sup.dir) == b["working_dir"]
    assert sup.call("get", name="b", keys=["args"])["options"] == {"args": "-c 'sleep 1000'"}
