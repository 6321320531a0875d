"""Circus's process options on a real core, as the program sees them: resource limits, umask,
stdin, the executable, shell_args, copy_path, virtualenv, the user's own groups, SIGHUP on
reload (send_hup), and where the stop signal goes (stop_children)."""

from __future__ import annotations

import json
import os
import pwd
import resource
import sys
from pathlib import Path
from typing import Any

import pytest

from daemon import events
from tests.support.core import running_core
from tests.support.waiting import eventually

PY = sys.executable

OBSERVER = """
import json, os, resource, signal, sys, time
out = sys.argv[1]
def limits():
    return {n[7:].lower(): list(resource.getrlimit(getattr(resource, n)))
            for n in dir(resource) if n.startswith("RLIMIT_")}
mask = os.umask(0); os.umask(mask)
seen = {
    "argv0": sys.argv[0] if len(sys.argv) < 3 else sys.argv[2],
    "limits": limits(),
    "umask": mask,
    "stdin": os.readlink("/proc/self/fd/0"),
    "env": {k: os.environ.get(k) for k in ("PATH", "PYTHONPATH")},
    "uid": os.getuid(), "gid": os.getgid(), "groups": sorted(os.getgroups()),
    "pid": os.getpid(),
}
def hup(*_):
    open(out + ".hup", "a").write("hup\\n")
signal.signal(signal.SIGHUP, hup)
with open(out + ".tmp", "w") as f:
    json.dump(seen, f)
os.rename(out + ".tmp", out)
while True:
    time.sleep(1)
"""


def _observer(directory: Path) -> Path:
    script = directory / "observe.py"
    script.write_text(OBSERVER)
    return script


async def _seen(directory: Path, options: str, name: str = "seen.json") -> dict[str, Any]:
    script = _observer(directory)
    out = directory / name
    body = f'[watchers.w]\ncmd = "{PY} {script} {out}"\ngraceful_timeout = 1\n{options}'
    async with running_core(directory, body) as (_arbiter, _rec):
        await eventually(out.exists)
        return dict(json.loads(out.read_text()))


async def test_resource_limits_umask_and_stdin(short_path: Path) -> None:
    seen = await _seen(
        short_path,
        'rlimit_nofile = 256\nrlimit_core = 0\nrlimit_stack = "unlimited"\numask = "027"\n',
    )
    assert seen["limits"]["nofile"] == [256, 256]
    assert seen["limits"]["core"] == [0, 0]
    infinity = resource.RLIM_INFINITY
    if resource.getrlimit(resource.RLIMIT_STACK)[1] == infinity or os.geteuid() == 0:
        assert seen["limits"]["stack"] == [infinity, infinity]
    assert seen["umask"] == 0o027
    assert seen["stdin"] == "/dev/null"


async def test_defaults_leave_the_daemons_limits_and_umask(short_path: Path) -> None:
    seen = await _seen(short_path, "")
    assert seen["limits"]["nofile"] == list(resource.getrlimit(resource.RLIMIT_NOFILE))
    mask = os.umask(0)
    os.umask(mask)
    assert seen["umask"] == mask


async def test_stdin_kept_open_when_asked(short_path: Path) -> None:
    seen = await _seen(short_path, "close_child_stdin = false\n")
    assert seen["stdin"] == os.readlink("/proc/self/fd/0")


async def test_a_limit_the_kernel_refuses_is_a_clear_reason(short_path: Path) -> None:
    script = _observer(short_path)
    body = f'[watchers.w]\ncmd = "{PY} {script} {short_path}/x"\nrlimit_nofile = 999999999999\n'
    async with running_core(short_path, body) as (arbiter, rec):
        failed = await eventually(lambda: rec.of(events.Failed, "w"))
        assert "rlimit_nofile = 999999999999: above" in failed[0].reason
        assert arbiter.get("w").pids() == []


async def test_executable_runs_another_program_under_cmd_s_name(short_path: Path) -> None:
    script = _observer(short_path)
    out = short_path / "seen.json"
    body = (
        f'[watchers.w]\ncmd = "shown-name {script} {out}"\nexecutable = "{PY}"\n'
        "graceful_timeout = 1\n"
    )
    async with running_core(short_path, body) as (arbiter, _):
        await eventually(out.exists)
        pid = arbiter.get("w").pids()[0]
        assert Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0] == b"shown-name"


async def test_shell_args_are_the_shell_line_s_arguments(short_path: Path) -> None:
    out = short_path / "args.txt"
    body = (
        f"[watchers.w]\ncmd = 'echo \"$0 $1\" > {out}; exec sleep 600'\nshell = true\n"
        'shell_args = ["first", "second one"]\ngraceful_timeout = 1\n'
    )
    async with running_core(short_path, body):
        await eventually(lambda: out.exists() and out.read_text())
        assert out.read_text() == "first second one\n"


async def test_copy_path_gives_the_daemons_module_path(
    short_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYTHONPATH", raising=False)
    seen = await _seen(short_path, "copy_env = true\ncopy_path = true\n")
    assert seen["env"]["PYTHONPATH"] == os.pathsep.join(p for p in sys.path if p)


async def test_copy_path_keeps_a_pythonpath_the_daemon_was_given(
    short_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # circusd's order: its module path, then its environment's PYTHONPATH over it.
    monkeypatch.setenv("PYTHONPATH", "/srv/app/src")
    seen = await _seen(short_path, "copy_env = true\ncopy_path = true\n")
    assert seen["env"]["PYTHONPATH"] == "/srv/app/src"


async def test_a_virtualenv_goes_first(short_path: Path) -> None:
    venv = short_path / "venv"
    version = "{}.{}".format(*sys.version_info[:2])
    site = venv / "lib" / f"python{version}" / "site-packages"
    site.mkdir(parents=True)
    (venv / "bin").mkdir()
    extra = short_path / "src"
    extra.mkdir()
    (site / "app.pth").write_text(f"# a comment\nimport os\n{extra}\n/no/such/dir\n")
    seen = await _seen(short_path, f'copy_env = true\nvirtualenv = "{venv}"\n')
    assert seen["env"]["PATH"] == f"{venv}/bin:{os.environ['PATH']}"
    assert seen["env"]["PYTHONPATH"] == os.pathsep.join([str(extra), str(site)])


async def test_virtualenv_and_copy_path_need_copy_env(short_path: Path) -> None:
    from daemon.checks import CheckError
    from daemon.options import make_watcher_config

    for key, value in (("virtualenv", "/srv/venv"), ("copy_path", True)):
        with pytest.raises(CheckError, match=f"{key} needs copy_env = true"):
            make_watcher_config("w", {"cmd": "x", key: value})


@pytest.mark.skipif(os.geteuid() != 0, reason="changing the user needs root")
async def test_a_user_gets_its_own_groups_not_the_daemons(short_path: Path) -> None:
    # `id` rather than Python: the interpreter may live where nobody cannot read.
    short_path.chmod(0o755)
    nobody = pwd.getpwnam("nobody")
    out_dir = short_path / "out"
    out_dir.mkdir()
    os.chown(out_dir, nobody.pw_uid, nobody.pw_gid)
    out = out_dir / "id.txt"
    body = (
        f'[watchers.w]\ncmd = \'sh -c "id -u; id -g; id -G" > {out}.tmp; '
        f"mv {out}.tmp {out}; exec sleep 600'\nshell = true\n"
        'uid = "nobody"\ngraceful_timeout = 1\n'
    )
    async with running_core(short_path, body):
        await eventually(out.exists)
    uid, gid, groups = out.read_text().splitlines()
    assert (int(uid), int(gid)) == (nobody.pw_uid, nobody.pw_gid)
    expected = sorted(set(os.getgrouplist("nobody", nobody.pw_gid)))
    assert sorted(int(g) for g in groups.split()) == expected
    assert 0 not in expected


async def test_send_hup_reloads_by_sighup(short_path: Path) -> None:
    script = _observer(short_path)
    out = short_path / "seen.json"
    body = f'[watchers.w]\ncmd = "{PY} {script} {out}"\nsend_hup = true\ngraceful_timeout = 1\n'
    async with running_core(short_path, body) as (arbiter, rec):
        await eventually(out.exists)
        w = arbiter.get("w")
        before = w.pids()
        await w.reload()
        await eventually(lambda: Path(f"{out}.hup").exists())
        assert w.pids() == before
        assert rec.of(events.Reloaded, "w")


TREE = """
import os, signal, subprocess, sys, time
out = sys.argv[1]
if len(sys.argv) > 2:
    parent = os.getppid()
    def child_term(*_):
        # Whether the process that started it was still there when the signal came.
        alive = os.getppid() == parent
        open(out, "a").write(f"child {'parent-alive' if alive else 'parent-gone'}\\n")
        os._exit(0)
    signal.signal(signal.SIGTERM, child_term)
    open(out + ".child", "w").write("up")
    while True:
        time.sleep(1)
def parent_term(*_):
    open(out, "a").write("parent term\\n")
    time.sleep(2)  # long enough for a signal sent to both to reach the child meanwhile
    os._exit(0)
signal.signal(signal.SIGTERM, parent_term)
subprocess.Popen([sys.executable, __file__, out, "child"])
while True:
    time.sleep(1)
"""


@pytest.mark.parametrize("whole", [True, False])
async def test_stop_children_says_who_gets_the_stop_signal(short_path: Path, whole: bool) -> None:
    script = short_path / "tree.py"
    script.write_text(TREE)
    out = short_path / "terms.txt"
    body = (
        f'[watchers.w]\ncmd = "{PY} {script} {out}"\ngraceful_timeout = 10\n'
        f"stop_children = {'true' if whole else 'false'}\n"
    )
    async with running_core(short_path, body) as (arbiter, _):
        await eventually(lambda: Path(f"{out}.child").exists())
        await arbiter.get("w").stop()
    said = dict(line.split() for line in out.read_text().splitlines())
    assert said["parent"] == "term"
    # The whole tree at once; or the process alone, and what it started once it is gone.
    assert said["child"] == ("parent-alive" if whole else "parent-gone")


async def test_stdin_socket_is_the_processes_stdin(short_path: Path) -> None:
    # Circus's stdin_socket: the listening socket at fd 0, as inetd-style servers take it.
    seen = await _seen(short_path, 'stdin_socket = "Inet"\n[sockets.inet]\nport = 0\n')
    assert seen["stdin"].startswith("socket:[")


def test_stdin_socket_must_name_a_socket() -> None:
    from daemon.config import ConfigError, parse_config_text

    with pytest.raises(ConfigError) as caught:
        parse_config_text(
            '[sockets.web]\nport = 0\n[watchers.w]\ncmd = "app"\nstdin_socket = "wbe"\n'
        )
    assert (caught.value.key, caught.value.line) == ("watchers.w.stdin_socket", 5)
    assert "names no socket in [sockets]" in caught.value.message
    assert "did you mean 'web'" in caught.value.message
