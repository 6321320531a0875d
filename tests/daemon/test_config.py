"""The TOML configuration: errors that point at file, line and key; defaults; every option
type; saving the running state back without disturbing the file."""

from __future__ import annotations

import re
import signal
import stat
import tempfile
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from daemon.config import (
    Config,
    ConfigError,
    DaemonSettings,
    SocketConfig,
    load_config,
    parse_config_text,
    save_config,
)
from daemon.hook_spec import Hook, Hooks
from daemon.options import (
    RLIMIT_NAMES,
    WATCHER_OPTIONS,
    OptionError,
    WatcherConfig,
    make_watcher_config,
)
from daemon.probe_spec import Probe

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str, name: str = "programs.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def load_error(tmp_path: Path, text: str) -> ConfigError:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.path == path
    return info.value


# ---------------------------------------------------------------------------------------------
# Errors: (file text, line, key, message)

ERRORS: list[tuple[str, str, int, str, str]] = [
    (
        "negative numprocesses",
        '[watchers.web]\ncmd = "x"\n\n# comment\nnumprocesses = -1\n',
        5,
        "watchers.web.numprocesses",
        "must be at least 0",
    ),
    (
        "typo in a watcher key",
        '[circus]\nstats_interval = 2\n\n[watchers.web]\ncmd = "x"\nnumprocess = 2\n',
        6,
        "watchers.web.numprocess",
        "unknown key 'numprocess' (did you mean 'numprocesses'?)",
    ),
    (
        "typo in a top-level table",
        '[watcher.web]\ncmd = "x"\n',
        1,
        "watcher",
        "unknown key 'watcher' (did you mean 'watchers'?)",
    ),
    (
        "typo in [circus]",
        "[circus]\n\nstats_intervall = 2\n",
        3,
        "circus.stats_intervall",
        "unknown key 'stats_intervall' (did you mean 'stats_interval'?)",
    ),
    (
        "typo in a socket",
        "[sockets.web]\nhost = '127.0.0.1'\nprot = 80\n",
        3,
        "sockets.web.prot",
        "unknown key 'prot' (did you mean 'port'?)",
    ),
    (
        "stats_interval zero",
        "[circus]\nstats_interval = 0\n",
        2,
        "circus.stats_interval",
        "must be more than 0",
    ),
    (
        "short history",
        "[circus]\nstats_interval = 1\nhistory_seconds = 60\n",
        3,
        "circus.history_seconds",
        "must be at least 600",
    ),
    (
        "history as a string",
        '[circus]\nhistory_seconds = "900"\n',
        2,
        "circus.history_seconds",
        "expected a number",
    ),
    (
        "remote tcp endpoint",
        '[circus]\nendpoint = "tcp://0.0.0.0:5555"\n',
        2,
        "circus.endpoint",
        "0.0.0.0 is not a loopback address",
    ),
    (
        "endpoint scheme",
        '[circus]\nstats_endpoint = "http://127.0.0.1:80"\n',
        2,
        "circus.stats_endpoint",
        "expected ipc://PATH or tcp://127.0.0.1:PORT",
    ),
    (
        "same endpoint twice",
        '[circus]\nendpoint = "ipc:///tmp/a"\npubsub_endpoint = "ipc:///tmp/a"\n',
        3,
        "circus.pubsub_endpoint",
        "must differ from endpoint",
    ),
    (
        "state_dir type",
        "[circus]\nstate_dir = 3\n",
        2,
        "circus.state_dir",
        "expected a string",
    ),
    (
        "port out of range",
        "[sockets.web]\nport = 70000\n",
        2,
        "sockets.web.port",
        "must be at most 65535",
    ),
    (
        "port as a string",
        '[sockets.web]\nport = "80"\n',
        2,
        "sockets.web.port",
        "expected an integer",
    ),
    (
        "bad family",
        '[sockets.web]\nport = 80\nfamily = "AF_IPX"\n',
        3,
        "sockets.web.family",
        "expected one of AF_INET, AF_INET6, AF_UNIX",
    ),
    (
        "path with an inet family",
        '[sockets.s]\npath = "/tmp/s.sock"\nfamily = "AF_INET"\n',
        3,
        "sockets.s.family",
        "a socket with a path is AF_UNIX",
    ),
    (
        "unix family without a path",
        '[sockets.s]\nfamily = "AF_UNIX"\n',
        1,
        "sockets.s.path",
        "an AF_UNIX socket needs a path",
    ),
    (
        "port with a path",
        '[sockets.s]\npath = "/tmp/s.sock"\nport = 80\n',
        3,
        "sockets.s.port",
        "does not apply to a unix socket (path is set)",
    ),
    (
        "ipv6 host on AF_INET",
        '[sockets.s]\nhost = "::1"\nport = 80\n',
        2,
        "sockets.s.host",
        "::1 is not an AF_INET address",
    ),
    (
        "umask out of range",
        "[sockets.s]\npath = '/tmp/s'\numask = 0o1000\n",
        3,
        "sockets.s.umask",
        "expected 0o000 to 0o777",
    ),
    (
        "boolean as a string in a socket",
        '[sockets.s]\nport = 1\nreplace = "yes"\n',
        3,
        "sockets.s.replace",
        "expected true or false",
    ),
    (
        "missing cmd",
        '[watchers.a]\ncmd = "x"\n\n[watchers.web]\nnumprocesses = 2\n',
        4,
        "watchers.web.cmd",
        "is required",
    ),
    (
        "bad signal",
        '[watchers.web]\ncmd = "x"\nstop_signal = "SIGFOO"\n',
        3,
        "watchers.web.stop_signal",
        "unknown signal 'SIGFOO'",
    ),
    (
        "backoff_min above backoff_max",
        '[watchers.web]\ncmd = "x"\nbackoff_min = 10\nbackoff_max = 5\n',
        3,
        "watchers.web.backoff_min",
        "must not exceed backoff_max",
    ),
    (
        "backoff_min above the default backoff_max",
        '[watchers.web]\ncmd = "x"\n\nbackoff_min = 100\n',
        4,
        "watchers.web.backoff_min",
        "backoff_min (100) must not exceed backoff_max (60)",
    ),
    (
        "dotted watcher name",
        '[watchers."a.b"]\ncmd = "x"\n',
        1,
        'watchers."a.b"',
        "must not contain '.'",
    ),
    (
        "empty watcher name",
        '[watchers.ok]\ncmd = "x"\n[watchers.""]\ncmd = "x"\n',
        3,
        'watchers.""',
        "must not be empty",
    ),
    (
        "reserved watcher name",
        '[watchers.Circus]\ncmd = "x"\n',
        1,
        "watchers.Circus",
        "'Circus' is reserved",
    ),
    (
        "names differing only in case",
        '[watchers.web]\ncmd = "x"\n\n[watchers.Web]\ncmd = "y"\n',
        4,
        "watchers.Web",
        "same name as watcher 'web' (names are matched case-insensitively)",
    ),
    (
        "singleton with several processes",
        '[watchers.web]\ncmd = "x"\nsingleton = true\nnumprocesses = 2\n',
        4,
        "watchers.web.numprocesses",
        "a singleton watcher runs at most one process",
    ),
    (
        "numprocesses as a word",
        '[watchers.web]\ncmd = "x"\nnumprocesses = "many"\n',
        3,
        "watchers.web.numprocesses",
        "expected an integer",
    ),
    (
        "respawn not a boolean",
        '[watchers.web]\ncmd = "x"\nrespawn = "maybe"\n',
        3,
        "watchers.web.respawn",
        "expected true or false",
    ),
    (
        "stdout mode",
        '[watchers.web]\ncmd = "x"\nstdout = "file"\n',
        3,
        "watchers.web.stdout",
        "expected one of pipe, inherit, discard",
    ),
    (
        "env not a table",
        '[watchers.web]\ncmd = "x"\nenv = "A=1"\n',
        3,
        "watchers.web.env",
        "expected a table of NAME = value",
    ),
    (
        "bad value inside an inline table",
        '[watchers.web]\ncmd = "x"\nenv = { A = "1", B = [1] }\n',
        3,
        "watchers.web.env",
        "B: expected a string",
    ),
    (
        "args of the wrong type",
        '[watchers.web]\ncmd = "x"\nargs = 3\n',
        3,
        "watchers.web.args",
        "expected a string or a list of strings",
    ),
    (
        "error after multi-line values",
        '[watchers.web]\ncmd = """python\n  -m [not a table]\n"""\nargs = [\n  "a",  # c\n'
        '  "b = 1",\n]\nenv = { X = "[x]" }\ngraceful_timeout = -1\n',
        10,
        "watchers.web.graceful_timeout",
        "must be at least 0",
    ),
    (
        "dotted keys",
        '[watchers]\nweb.cmd = "x"\nweb.numprocesses = -2\n',
        3,
        "watchers.web.numprocesses",
        "must be at least 0",
    ),
    (
        "watcher that is not a table",
        '[watchers]\nweb = "python"\n',
        2,
        "watchers.web",
        "expected a table, like [watchers.web]",
    ),
    (
        "unknown socket reference",
        '[sockets.web]\nport = 8000\n\n[watchers.app]\ncmd = "serve --fd $(circus.sockets.webb)"\n'
        "use_sockets = true\n",
        5,
        "watchers.app.cmd",
        "$(circus.sockets.webb) names no socket in [sockets] (did you mean 'web'?)",
    ),
    (
        "socket reference without use_sockets",
        '[sockets.web]\nport = 8000\n\n[watchers.app]\ncmd = "serve"\n'
        'args = ["--fd", "$(circus.sockets.web)"]\n',
        6,
        "watchers.app.args",
        "uses $(circus.sockets.web) but use_sockets is not true",
    ),
    (
        "TOML syntax error",
        '[circus]\nstats_interval = 1\n\n[watchers.web]\ncmd = "x\nnumprocesses = 2\n',
        5,
        "",
        "invalid TOML: ",
    ),
    (
        "key defined twice",
        '[watchers.web]\ncmd = "x"\nnumprocesses = 1\nnumprocesses = 2\n',
        4,
        "watchers.web.numprocesses",
        "defined twice",
    ),
    (
        "dotted key defined twice",
        '[watchers]\nweb.cmd = "x"\nweb.cmd = "y"\n',
        3,
        "watchers.web.cmd",
        "defined twice",
    ),
    (
        "table defined twice",
        '[watchers.web]\ncmd = "x"\n\n[sockets.s]\nport = 1\n\n[watchers.web]\ncmd = "y"\n',
        7,
        "watchers.web",
        "defined twice",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "key", "message"),
    [pytest.param(*case[1:], id=case[0]) for case in ERRORS],
)
def test_errors_name_file_line_and_key(
    tmp_path: Path, text: str, line: int, key: str, message: str
) -> None:
    error = load_error(tmp_path, text)
    assert (error.line, error.key) == (line, key), str(error)
    assert message in error.message
    prefix = f"programs.toml:{line}: " + (f"{key}: " if key else "")
    assert prefix in str(error)
    assert str(error).startswith(str(tmp_path))


def test_error_message_format_matches_the_documented_example(tmp_path: Path) -> None:
    text = "\n".join(["# programs", "", "[watchers.web]", 'cmd = "x"', "", "", "numprocesses = -1"])
    error = load_error(tmp_path, text + "\n")
    assert (
        str(error) == f"{tmp_path}/programs.toml:7: watchers.web.numprocesses: must be at least 0"
    )


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(missing)
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[watchers.web]\ncmd = "x"\n# caf\xe9\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.line == 3
    assert "UTF-8" in info.value.message


def test_parse_config_text_without_a_path() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config_text("[circus]\nstats_interval = -1\n")
    assert info.value.path is None
    assert str(info.value).startswith("<config>:2: circus.stats_interval:")


# ---------------------------------------------------------------------------------------------
# Defaults and every option type


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "# nothing yet\n"))
    assert config == Config(path=tmp_path / "programs.toml")
    assert config.settings == DaemonSettings()
    assert config.settings.endpoint is None
    assert config.settings.state_dir is None
    assert config.settings.stats_interval == 1.0
    assert config.settings.history_seconds == 900.0


def test_a_watcher_gets_every_documented_default(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[watchers.web]\ncmd = "python -m http.server"\n'))
    web = config.watchers["web"]
    assert web.name == "web"
    for option in WATCHER_OPTIONS:
        if option.name != "cmd":
            assert getattr(web, option.name) == option.default, option.name
    assert web.argv() == ["python", "-m", "http.server"]


UNLIMITED = '"unlimited"'


def test_every_watcher_option_type(tmp_path: Path) -> None:
    text = """
[watchers.full]
cmd = "python app.py"
args = ["--port", "80"]
numprocesses = 3
working_dir = "relative/dir"
env = { A = "1", N = 2, B = true }
copy_env = true
shell = true
uid = "nobody"
gid = 65534
stop_signal = "QUIT"
graceful_timeout = 2.5
respawn = false
autostart = false
priority = -4
singleton = false
warmup_delay = 0.25
max_age = 3600
max_age_variance = 0
max_retry = -1
backoff_min = 1
backoff_max = 120.5
stable_after = 30
stdout = "inherit"
stderr = "DISCARD"
use_sockets = true
stdout_file = "logs/full.log"
stderr_file = "/var/log/full.err"
max_bytes = 0
backup_count = 10
output_buffer = 500
output_buffer_bytes = 1048576
max_line_length = 4096
restart = "On-Failure"
success_exit_codes = [0, 3]
depends_on = { strings = "completed" }
ready = { http = "http://127.0.0.1:8000/healthz", interval = 0.5 }
alive = { tcp = "127.0.0.1:6379", failures = 2 }
max_surge = 2
sockets_env = "systemd"
hooks.before_start = "app.hooks.check_db, true"
hooks.after_stop = ["./bin/notify", "-q"]
hooks.timeout = 5
umask = "027"
close_child_stdin = false
stdin_socket = "Web"
copy_path = true
virtualenv = "/srv/venv"
virtualenv_py_ver = "3.11"
send_hup = true
stop_children = false
shell_args = "-x 'y z'"
executable = "/usr/bin/python3"
max_memory = "512M"
max_cpu = 90
limit_window = 30
on_demand = true
log_format = "circus"
log_time_format = "%Y-%m-%d %H:%M:%S"
RLIMITS

[sockets.web]
port = 0

[watchers.strings]
cmd = "sleep 1"
args = "a 'b c'"
stop_signal = 9
uid = "1000"
singleton = "yes"
"""
    # Each limit its own value, and one unlimited.
    limits = {f"rlimit_{n}": 100 + i for i, n in enumerate(RLIMIT_NAMES)}
    limits["rlimit_core"] = -1
    text = text.replace(
        "RLIMITS",
        "\n".join(f"{k} = {UNLIMITED if v == -1 else v}" for k, v in limits.items()),
    )
    config = load_config(write(tmp_path, text))
    full = config.watchers["full"]
    assert full == WatcherConfig(
        name="full",
        cmd="python app.py",
        args=["--port", "80"],
        numprocesses=3,
        working_dir="relative/dir",
        env={"A": "1", "N": "2", "B": "true"},
        copy_env=True,
        shell=True,
        uid="nobody",
        gid=65534,
        stop_signal=int(signal.SIGQUIT),
        graceful_timeout=2.5,
        respawn=False,
        autostart=False,
        priority=-4,
        singleton=False,
        warmup_delay=0.25,
        max_age=3600,
        max_age_variance=0,
        max_retry=-1,
        backoff_min=1.0,
        backoff_max=120.5,
        stable_after=30.0,
        stdout="inherit",
        stderr="discard",
        use_sockets=True,
        stdout_file="logs/full.log",
        stderr_file="/var/log/full.err",
        max_bytes=0,
        backup_count=10,
        output_buffer=500,
        output_buffer_bytes=1048576,
        max_line_length=4096,
        restart="on-failure",
        success_exit_codes=(0, 3),
        depends_on={"strings": "completed"},
        ready=Probe("http", "http://127.0.0.1:8000/healthz", interval=0.5, timeout=2.0),
        alive=Probe("tcp", "127.0.0.1:6379", interval=5.0, timeout=2.0, failures=2),
        max_surge=2,
        sockets_env="systemd",
        hooks=Hooks(
            {
                "before_start": Hook("app.hooks.check_db", ignore_errors=True),
                "after_stop": Hook(("./bin/notify", "-q")),
            },
            timeout=5.0,
        ),
        umask=0o027,
        close_child_stdin=False,
        stdin_socket="Web",
        copy_path=True,
        virtualenv="/srv/venv",
        virtualenv_py_ver="3.11",
        send_hup=True,
        stop_children=False,
        shell_args=["-x", "y z"],
        executable="/usr/bin/python3",
        max_memory=512 << 20,
        max_cpu=90.0,
        limit_window=30.0,
        on_demand=True,
        log_format="circus",
        log_time_format="%Y-%m-%d %H:%M:%S",
        **limits,
    )
    # Every option but singleton (which excludes numprocesses = 3) is away from its default.
    for option in WATCHER_OPTIONS:
        if option.name != "singleton":
            assert getattr(full, option.name) != option.default, option.name
    strings = config.watchers["strings"]
    assert strings.singleton
    assert strings.args == ["a", "b c"]
    assert strings.stop_signal == int(signal.SIGKILL)
    assert strings.uid == 1000


def test_watchers_keep_file_order_across_out_of_order_tables(tmp_path: Path) -> None:
    text = '[watchers.b]\ncmd = "x"\n[sockets.s]\nport = 1\n[watchers.a]\ncmd = "x"\n'
    config = load_config(write(tmp_path, text))
    assert list(config.watchers) == ["b", "a"]


def test_env_sub_table(tmp_path: Path) -> None:
    text = '[watchers.web]\ncmd = "x"\n\n[watchers.web.env]\nA = "1"  # why\nB = "2"\n'
    assert load_config(write(tmp_path, text)).watchers["web"].env == {"A": "1", "B": "2"}


def test_every_daemon_setting(tmp_path: Path) -> None:
    text = """
[circus]
endpoint = "tcp://127.0.0.1:5555"
pubsub_endpoint = "tcp://[::1]:5556"
stats_endpoint = "ipc:///tmp/circus-tui-test/stats.sock"
state_dir = "/var/lib/circus-tui"
stats_interval = 0.5
history_seconds = 3600
"""
    assert load_config(write(tmp_path, text)).settings == DaemonSettings(
        endpoint="tcp://127.0.0.1:5555",
        pubsub_endpoint="tcp://[::1]:5556",
        stats_endpoint="ipc:///tmp/circus-tui-test/stats.sock",
        state_dir="/var/lib/circus-tui",
        stats_interval=0.5,
        history_seconds=3600.0,
    )


def test_every_socket_option(tmp_path: Path) -> None:
    text = """
[sockets.inet]
host = "0.0.0.0"
port = 8000
type = "sock_dgram"
backlog = 10
so_reuseport = true
blocking = true

[sockets.v6]
host = "::1"
port = 65535
family = "AF_INET6"

[sockets.unix]
path = "/tmp/app.sock"
umask = 0o077
replace = true

[sockets.unix_string_umask]
path = "/tmp/app2.sock"
family = "AF_UNIX"
umask = "007"
"""
    sockets = load_config(write(tmp_path, text)).sockets
    assert sockets["inet"] == SocketConfig(
        name="inet",
        host="0.0.0.0",
        port=8000,
        type="SOCK_DGRAM",
        backlog=10,
        so_reuseport=True,
        blocking=True,
    )
    assert sockets["v6"] == SocketConfig(name="v6", host="::1", port=65535, family="AF_INET6")
    assert sockets["unix"] == SocketConfig(
        name="unix", path="/tmp/app.sock", family="AF_UNIX", umask=0o077, replace=True
    )
    assert sockets["unix_string_umask"].umask == 0o007
    default = SocketConfig(name="d")
    assert (default.host, default.port, default.family, default.type) == (
        "127.0.0.1",
        0,
        "AF_INET",
        "SOCK_STREAM",
    )
    assert (default.backlog, default.umask, default.so_reuseport) == (2048, 0o022, False)


def test_socket_config_checks_itself() -> None:
    with pytest.raises(OptionError):
        SocketConfig(name="x", port=-1)
    with pytest.raises(OptionError):
        SocketConfig(name="x", family="AF_UNIX")


def test_socket_reference_with_use_sockets_loads(tmp_path: Path) -> None:
    text = (
        '[sockets.web]\nport = 8000\n\n[watchers.app]\ncmd = "serve --fd ((circus.sockets.web))"\n'
        "use_sockets = true\n"
    )
    assert load_config(write(tmp_path, text)).watchers["app"].use_sockets


# ---------------------------------------------------------------------------------------------
# Saving

SAVED = """\
# Programs on this box.  Edited by hand and by `save`.

[circus]
stats_interval = 1.0  # sample once a second

# The web front end.
[watchers.web]
cmd = "python -m http.server"   # no shell
numprocesses = 2  # scaled by hand
stop_signal = "TERM"
args = "--bind 127.0.0.1"

[watchers.web.env]
# comments in the env table
A = "1"

[sockets.web]
host = "127.0.0.1"
port = 8000

# Background jobs.
[watchers.worker]
cmd = "python -m worker"
graceful_timeout = 30

[watchers.gone]
cmd = "sleep 100"
"""


def running_from(path: Path) -> dict[str, WatcherConfig]:
    return dict(load_config(path).watchers)


def test_save_without_changes_leaves_the_file_identical(tmp_path: Path) -> None:
    path = write(tmp_path, SAVED)
    save_config(path, running_from(path))
    assert path.read_text() == SAVED


def test_save_changes_only_the_scaled_value(tmp_path: Path) -> None:
    path = write(tmp_path, SAVED)
    running = running_from(path)
    running["web"] = replace(running["web"], numprocesses=5)
    save_config(path, running)
    assert path.read_text() == SAVED.replace(
        "numprocesses = 2  # scaled by hand", "numprocesses = 5  # scaled by hand"
    )
    assert load_config(path).watchers["web"].numprocesses == 5


def test_save_adds_missing_options_and_edits_env_tables_in_place(tmp_path: Path) -> None:
    path = write(tmp_path, SAVED)
    running = running_from(path)
    running["web"] = replace(running["web"], env={"A": "1", "B": "2"}, max_retry=9)
    running["worker"] = replace(running["worker"], stop_signal=int(signal.SIGINT), uid=1000)
    save_config(path, running)
    text = path.read_text()
    assert '# comments in the env table\nA = "1"\nB = "2"\n' in text
    assert 'graceful_timeout = 30\nuid = 1000\nstop_signal = "SIGINT"\n' in text
    loaded = load_config(path).watchers
    assert loaded["web"] == running["web"]
    assert loaded["worker"] == running["worker"]


def test_save_appends_new_and_removes_gone_watchers(tmp_path: Path) -> None:
    path = write(tmp_path, SAVED)
    path.chmod(0o640)
    running = running_from(path)
    del running["gone"]
    running["new"] = make_watcher_config(
        "new", {"cmd": "python -m new", "numprocesses": 3, "env": {"X": "1"}, "respawn": False}
    )
    save_config(path, running)
    text = path.read_text()
    assert "[watchers.gone]" not in text
    assert "sleep 100" not in text
    assert text.endswith(
        '\n\n[watchers.new]\ncmd = "python -m new"\nnumprocesses = 3\nenv = {X = "1"}\n'
        "respawn = false\n"
    )
    # Everything before the removed table is untouched.
    assert text.startswith(SAVED[: SAVED.index("[watchers.gone]")])
    loaded = load_config(path)
    assert list(loaded.watchers) == ["web", "worker", "new"]
    assert loaded.watchers["new"] == running["new"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    # No temporary file is left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["programs.toml"]


def test_new_watcher_table_holds_cmd_and_non_defaults_only(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    new = make_watcher_config(
        "new", {"cmd": "run", "numprocesses": 3, "respawn": False, "stop_signal": "QUIT"}
    )
    save_config(path, {"new": new})
    assert path.read_text() == (
        '[watchers.new]\ncmd = "run"\nnumprocesses = 3\nstop_signal = "SIGQUIT"\nrespawn = false\n'
    )


def test_save_matches_names_case_insensitively(tmp_path: Path) -> None:
    path = write(tmp_path, '[watchers.Web]\ncmd = "x"\n')
    config = load_config(path).watchers["Web"]
    save_config(path, {"web": replace(config, name="web", numprocesses=2)})
    assert path.read_text() == '[watchers.Web]\ncmd = "x"\nnumprocesses = 2\n'


def test_save_creates_a_missing_file_privately(tmp_path: Path) -> None:
    path = tmp_path / "new.toml"
    save_config(path, {"a": make_watcher_config("a", {"cmd": "x"})})
    assert load_config(path).watchers["a"].cmd == "x"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_save_follows_a_symlink(tmp_path: Path) -> None:
    real = write(tmp_path, '[watchers.a]\ncmd = "x"\n', "real.toml")
    link = tmp_path / "link.toml"
    link.symlink_to(real)
    save_config(link, {"a": make_watcher_config("a", {"cmd": "x", "numprocesses": 4})})
    assert link.is_symlink()
    assert load_config(real).watchers["a"].numprocesses == 4


def test_save_refuses_a_file_broken_since_it_was_loaded(tmp_path: Path) -> None:
    path = write(tmp_path, '[watchers.a]\ncmd = "x"\nnumprocesses = -1\n')
    with pytest.raises(ConfigError, match="numprocesses"):
        save_config(path, {"a": make_watcher_config("a", {"cmd": "x"})})
    assert "numprocesses = -1" in path.read_text()


def test_save_removes_optional_values_set_back_to_none(tmp_path: Path) -> None:
    path = write(tmp_path, '[watchers.a]\ncmd = "x"\nworking_dir = "/srv"  # where\n')
    config = load_config(path).watchers["a"]
    save_config(path, {"a": replace(config, working_dir=None)})
    assert path.read_text() == '[watchers.a]\ncmd = "x"\n'


def test_save_into_an_inline_watchers_table(tmp_path: Path) -> None:
    path = write(tmp_path, 'watchers = { a = { cmd = "x" } }\n')
    running = {
        "a": make_watcher_config("a", {"cmd": "x"}),
        "b": make_watcher_config("b", {"cmd": "y", "numprocesses": 2}),
    }
    save_config(path, running)
    assert load_config(path).watchers == running


# ---------------------------------------------------------------------------------------------
# Properties

# Flat on purpose: nested strategies cost most of the test's time to generate.
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=10)
    | st.sampled_from(
        [10**400, -(10**400), "TERM", "sigkill", "15", "-1", "1e999", "nan", "true", "pipe", "²"]
    )
)
values = (
    scalars
    | st.lists(scalars, max_size=3)
    | st.dictionaries(st.text(max_size=4), scalars, max_size=3)
)
option_names = st.sampled_from([o.name for o in WATCHER_OPTIONS] + ["", "numprocess", "name"])


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(option_names, values, max_size=6))
# Values that once escaped as OverflowError or slipped past a range check.
@example({"cmd": "x", "graceful_timeout": 10**400})
@example({"cmd": "x", "backoff_max": float("inf"), "max_age": float("nan")})
@example({"cmd": "x", "numprocesses": "²", "uid": "²", "stop_signal": "²"})
@example({"cmd": "x", "stop_signal": 10**30, "warmup_delay": "1e999"})
def test_make_watcher_config_gives_a_config_or_an_option_error(options: dict[str, Any]) -> None:
    try:
        config = make_watcher_config("w", options)
    except OptionError as exc:
        assert isinstance(exc.key, str)
        return
    assert isinstance(config, WatcherConfig)


signals = st.sampled_from([int(signal.SIGTERM), int(signal.SIGQUIT), int(signal.SIGINT), 9])
env_names = st.sampled_from(["A", "PATH", "DJANGO_SETTINGS", "X1", "_"])
watcher_configs = st.builds(
    lambda name, **kw: WatcherConfig(name=name, **kw),
    name=st.sampled_from(["web", "worker", "a-b", "x_1", "cron"]),
    cmd=st.sampled_from(["python -m app", "sleep 10", "sh -c 'echo hi'"]),
    args=st.lists(st.text(min_size=1, max_size=6), max_size=3),
    numprocesses=st.integers(0, 50),
    env=st.dictionaries(env_names, st.text(max_size=8).filter(lambda v: "\0" not in v), max_size=5),
    stop_signal=signals,
    graceful_timeout=st.sampled_from([0.0, 2.5, 30.0, 45.0]),
    uid=st.none() | st.integers(0, 65535) | st.sampled_from(["nobody", "www-data"]),
    respawn=st.booleans(),
    stdout=st.sampled_from(["pipe", "inherit", "discard"]),
)


@settings(max_examples=12, deadline=None)
@given(
    before=st.lists(watcher_configs, max_size=3, unique_by=lambda c: c.name),
    after=st.lists(watcher_configs, max_size=4, unique_by=lambda c: c.name),
)
def test_save_then_load_gives_back_the_running_watchers(
    before: list[WatcherConfig], after: list[WatcherConfig]
) -> None:
    # Both lists draw from one pool of names, so saves update, add and remove tables.
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.toml"
        initial = {c.name: c for c in before}
        save_config(path, initial)
        assert load_config(path).watchers == initial
        running = {c.name: c for c in after}
        save_config(path, running)
        assert load_config(path).watchers == running


# ---------------------------------------------------------------------------------------------
# Documentation


def test_every_key_is_documented() -> None:
    doc = (ROOT / "docs" / "configuration.md").read_text()
    names = [o.name for o in WATCHER_OPTIONS]
    names += [f.name for f in fields(DaemonSettings)]
    names += [f.name for f in fields(SocketConfig) if f.name != "name"]
    missing = [n for n in names if not re.search(rf"`{re.escape(n)}`", doc)]
    assert not missing, f"not in docs/configuration.md: {missing}"


def test_docs_example_loads(tmp_path: Path) -> None:
    doc = (ROOT / "docs" / "configuration.md").read_text()
    first = re.search(r"```toml\n(.*?)```", doc, re.S)
    assert first
    load_config(write(tmp_path, first.group(1)))


def test_demo_config_loads() -> None:
    config = load_config(ROOT / "docs" / "examples" / "demo.toml")
    assert config.watchers


# Values that used to pass the checks and then break the daemon silently (hardening issue).
@pytest.mark.parametrize(
    ("line", "message"),
    [
        # setuid(-1) changes nothing: the program would run as the daemon's user, root.
        ("uid = 4294967295", "4294967294"),
        ("uid = 99999999999999999999", "4294967294"),
        ('uid = "99999999999999999999"', "4294967294"),
        ("gid = 4294967295", "4294967294"),
        ('uid = "no-such-user-here"', "no such user"),
        ('gid = "no-such-group-here"', "no such group"),
        ('stdout_file = "logs/a\\u0000b.log"', "NUL"),
        ('stderr_file = "logs/a\\u0000b.log"', "NUL"),
        ('working_dir = "/tmp\\u0000x"', "NUL"),
    ],
)
def test_values_that_would_break_the_daemon_are_config_errors(
    tmp_path: Path, line: str, message: str
) -> None:
    err = load_error(tmp_path, f'[watchers.web]\ncmd = "sleep 1"\n{line}\n')
    assert err.line == 3
    assert err.key == f"watchers.web.{line.split()[0]}"
    assert message in err.message


def test_two_sockets_on_one_address_is_a_config_error_at_the_second(tmp_path: Path) -> None:
    err = load_error(
        tmp_path,
        '[sockets.a]\nhost = "127.0.0.1"\nport = 8000\n\n'
        '[sockets.b]\nhost = "0.0.0.0"\nport = 8000\n',
    )
    assert (err.line, err.key) == (7, "sockets.b.port")
    assert "sockets.a" in err.message
    err = load_error(
        tmp_path, '[sockets.a]\npath = "/tmp/x.sock"\n[sockets.b]\npath = "/tmp/x.sock"\n'
    )
    assert (err.line, err.key) == (4, "sockets.b.path")
    # Port 0 asks the kernel for a free port each: no clash.
    parse_config_text("[sockets.a]\nport = 0\n[sockets.b]\nport = 0\n")


@pytest.mark.parametrize("what", ["plain file", "dangling link"])
def test_a_state_dir_that_cannot_be_a_directory_is_a_config_error(
    tmp_path: Path, what: str
) -> None:
    target = tmp_path / "state"
    if what == "plain file":
        target.write_text("")
    else:
        target.symlink_to(tmp_path / "gone")
    err = load_error(tmp_path, f'[circus]\nstate_dir = "{target}"\n')
    assert (err.line, err.key) == (2, "circus.state_dir")
    assert "not a directory" in err.message or "does not exist" in err.message


def test_a_circus_loglevel_must_be_a_level() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config_text('[circus]\nloglevel = "loud"\n')
    assert (caught.value.key, caught.value.line) == ("circus.loglevel", 2)
    assert "debug, info, warning, error, critical" in caught.value.message
    settings = parse_config_text('[circus]\nloglevel = "WARN"\npidfile = "~/d.pid"\n').settings
    assert (settings.loglevel, settings.pidfile) == ("warning", "~/d.pid")
