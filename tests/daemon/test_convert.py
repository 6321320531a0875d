"""`circus-tui convert`: a Circus .ini becomes TOML that loads, with a warning for each loss."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.config import Config, ConfigError, SocketConfig, load_config, parse_config_text
from daemon.convert import Conversion, convert_ini, convert_report

CIRCUS_INI = """\
# A realistic Circus 0.19 file.
[circus]
check_delay = 5
endpoint = tcp://127.0.0.1:5555
pubsub_endpoint = tcp://127.0.0.1:5556
stats_endpoint = tcp://127.0.0.1:5557
statsd = True
httpd = False
loglevel = info

[env]
LANG = en_US.UTF-8

[watcher:web]
cmd = chaussette --fd $(circus.sockets.Web) paste:development.ini
use_sockets = True
numprocesses = 3
warmup_delay = 0.5
stop_signal = QUIT
graceful_timeout = 10
respawn = True
copy_env = True
working_dir = /srv/app
uid = www-data
gid = 33
hooks.before_start = myapp.hooks.check_db
stdout_stream.class = FileStream
stdout_stream.filename = /var/log/web.log
stdout_stream.max_bytes = 1000000
stderr_stream.class = StdoutStream
rlimit_nofile = 1024
check_flapping = True

[watcher:worker]
cmd = python
args = -m worker --queue $(circus.env.QUEUE) --id $(circus.wid)
numprocesses = 2
close_child_stdout = True ; nobody reads it
max_age = 3600
max_age_variance = 60
max_retry = -1
priority = 10
autostart = False
shell = False
send_hup = True

[watcher:cron.daily]
cmd = run-parts /etc/cron.daily
singleton = True
respawn = false

[env:web,worker]
QUEUE = jobs
PORT = 8080

[env:cron*]
MAILTO = ops@example.com

[socket:Web]
host = 127.0.0.1
port = 8888
so_reuseport = True
backlog = 512

[socket:admin]
path = /tmp/circus-tui-test-admin.sock
umask = 077
interface = eth0

[plugin:flapping]
use = circus.plugins.flapping.Flapping
retry_in = 3
max_retry = 2

[plugin:statsd]
use = circus.plugins.statsd.FullStats
"""


def convert_file(tmp_path: Path, text: str, name: str = "circus.ini") -> tuple[str, list[str]]:
    path = tmp_path / name
    path.write_text(text)
    return convert_ini(path)


def convert_report_of(tmp_path: Path, text: str) -> Conversion:
    path = tmp_path / "circus.ini"
    path.write_text(text)
    return convert_report(path)


def load_toml(tmp_path: Path, text: str) -> Config:
    out = tmp_path / "programs.toml"
    out.write_text(text)
    return load_config(out)


def test_realistic_circus_file(tmp_path: Path) -> None:
    text, warnings = convert_file(tmp_path, CIRCUS_INI)
    config = load_toml(tmp_path, text)

    assert config.settings.endpoint == "tcp://127.0.0.1:5555"
    assert config.settings.pubsub_endpoint == "tcp://127.0.0.1:5556"
    assert config.settings.stats_endpoint == "tcp://127.0.0.1:5557"
    assert list(config.watchers) == ["web", "worker", "cron_daily"]

    web = config.watchers["web"]
    assert web.cmd == "chaussette --fd $(circus.sockets.web) paste:development.ini"
    assert (web.numprocesses, web.warmup_delay, web.graceful_timeout) == (3, 0.5, 10.0)
    assert web.stop_signal == int(signal.SIGQUIT)
    assert (web.use_sockets, web.copy_env, web.respawn) == (True, True, True)
    assert (web.working_dir, web.uid, web.gid) == ("/srv/app", "www-data", 33)
    assert web.env == {"LANG": "en_US.UTF-8", "QUEUE": "jobs", "PORT": "8080"}
    assert (web.stdout, web.stderr) == ("pipe", "inherit")
    assert (web.stdout_file, web.stderr_file) == ("/var/log/web.log", None)
    assert (web.max_bytes, web.backup_count) == (1000000, 0)

    worker = config.watchers["worker"]
    assert worker.cmd == "python"
    assert worker.args == [
        "-m",
        "worker",
        "--queue",
        "$(circus.env.QUEUE)",
        "--id",
        "$(circus.wid)",
    ]
    assert (worker.max_age, worker.max_age_variance, worker.max_retry) == (3600, 60, -1)
    assert (worker.priority, worker.autostart, worker.shell) == (10, False, False)
    assert worker.stdout == "discard"
    assert worker.env == {"LANG": "en_US.UTF-8", "QUEUE": "jobs", "PORT": "8080"}

    cron = config.watchers["cron_daily"]
    assert (cron.singleton, cron.respawn) == (True, False)
    assert cron.env == {"LANG": "en_US.UTF-8", "MAILTO": "ops@example.com"}

    assert config.sockets == {
        "web": SocketConfig(
            name="web", host="127.0.0.1", port=8888, so_reuseport=True, backlog=512
        ),
        "admin": SocketConfig(
            name="admin", path="/tmp/circus-tui-test-admin.sock", family="AF_UNIX", umask=0o077
        ),
    }

    assert warnings == [
        "socket admin: interface is not supported (SO_BINDTODEVICE): bind to the interface's "
        "address with host",
        "watcher web: check_flapping flapping is built in: see backoff_min, backoff_max, "
        "stable_after and max_retry",
        "watcher 'cron.daily' renamed 'cron_daily' (names cannot contain '.', which would make "
        "event topics watcher.NAME.EVENT ambiguous, nor spaces, and 'circus' and 'sockets' name "
        "the daemon's own figures in the stats stream): circusctl and hooks use the new name",
    ]
    # Plugins run as under circusd, with the options they read from the .ini.
    assert {name: (p.use, dict(p.options)) for name, p in config.plugins.items()} == {
        "flapping": (
            "circus.plugins.flapping.Flapping",
            {"retry_in": "3", "max_retry": "2"},
        ),
        "statsd": ("circus.plugins.statsd.FullStats", {}),
    }


def test_output_is_commented_toml_in_option_order(tmp_path: Path) -> None:
    text, _ = convert_file(
        tmp_path, "[watcher:a]\nnumprocesses = 2\ncmd = sleep 1\nstop_signal = 9\numask = 2\n"
    )
    assert text.startswith("# Converted from circus.ini by `circus-tui convert`.\n")
    assert '[watchers.a]\ncmd = "sleep 1"\nnumprocesses = 2\nstop_signal = 9\n' in text


def test_many_env_variables_get_their_own_table(tmp_path: Path) -> None:
    ini = "[watcher:a]\ncmd = x\n\n[env:a]\nA = 1\nB = 2\nC = 3\nD = $(circus.env.HOME)\n"
    text, _ = convert_file(tmp_path, ini)
    assert '[watchers.a.env]\nA = "1"\nB = "2"\nC = "3"\nD = "$(circus.env.HOME)"\n' in text
    config = load_toml(tmp_path, text)
    assert config.watchers["a"].env["D"] == "$(circus.env.HOME)"


def test_missing_endpoints_are_explained(tmp_path: Path) -> None:
    text, warnings = convert_file(tmp_path, "[watcher:a]\ncmd = x\n")
    assert "[circus]" not in text
    assert len(warnings) == 1
    assert "endpoint = 'tcp://127.0.0.1:5555'" in warnings[0]
    assert "private ipc" in warnings[0]


def test_values_that_cannot_carry_over_are_left_out_with_a_warning(tmp_path: Path) -> None:
    ini = """\
[circus]
endpoint = tcp://0.0.0.0:5555
pubsub_endpoint = ipc:///tmp/e.sock
stats_endpoint = ipc:///tmp/s.sock

[watcher:a]
cmd = x
numprocesses = $(circus.env.WORKERS)
stop_signal = SIGRTMIN+1
close_child_stdin = False

[watcher:b]
cmd = y
singleton = True
numprocesses = 3

[watcher:nocmd]
numprocesses = 2

[socket:s]
port = eighty

[env:nobody]
A = 1

[unknown]
x = 1
"""
    text, warnings = convert_file(tmp_path, ini)
    config = load_toml(tmp_path, text)
    assert list(config.watchers) == ["a", "b"]
    assert config.sockets["s"].port == 8080
    assert warnings == [
        "circus: endpoint = 'tcp://0.0.0.0:5555' left out: 0.0.0.0 is not a loopback address: "
        "the control protocol has no authentication, so TCP endpoints must use 127.0.0.1, ::1 "
        "or localhost (or use ipc://)",
        "socket s: port = 'eighty' left out: expected an integer",
        "watcher a: numprocesses = '$(circus.env.WORKERS)' left out: expected an integer",
        "watcher a: stop_signal = 'SIGRTMIN+1' left out: unknown signal 'SIGRTMIN+1'",
        "watcher b: numprocesses left out: a singleton watcher runs at most one process",
        "watcher nocmd: no cmd; left out",
        "[env:nobody]: 'nobody' matches no watcher",
        "[unknown]: not a Circus section; ignored",
    ]


def test_includes_are_merged(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "b.ini").write_text("[watcher:b]\ncmd = y\n")
    (tmp_path / "extra.ini").write_text("[socket:s]\nport = 9000\n")
    ini = "[circus]\ninclude = extra.ini\ninclude_dir = conf.d\n\n[watcher:a]\ncmd = x\n"
    text, warnings = convert_file(tmp_path, ini)
    config = load_toml(tmp_path, text)
    assert list(config.watchers) == ["a", "b"]
    assert config.sockets["s"].port == 9000
    assert "# Includes merged:" in text
    assert not [w for w in warnings if "include" in w]


def test_shell_and_broken_socket_reference(tmp_path: Path) -> None:
    ini = "[watcher:a]\ncmd = serve --fd $(circus.sockets.nope)\nuse_sockets = True\n"
    text, warnings = convert_file(tmp_path, ini)
    assert "watcher a: $(circus.sockets.nope) names no [socket:...]" in warnings
    assert any(
        w.startswith("the converted file needs a fix by hand: watchers.a.cmd") for w in warnings
    )
    with pytest.raises(ConfigError):
        load_toml(tmp_path, text)


def test_unreadable_ini_raises_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        convert_file(tmp_path, "cmd = x\n[watcher:a]\n")
    assert info.value.line == 1
    with pytest.raises(ConfigError) as info:
        convert_file(tmp_path, "[watcher:a]\ncmd = x\nthis line is not an option\n")
    assert info.value.line == 3
    with pytest.raises(ConfigError, match="cannot read"):
        convert_ini(tmp_path / "missing.ini")


@pytest.mark.parametrize(
    ("streams", "expected", "warnings"),
    [
        pytest.param(
            "stdout_stream.class = FileStream\nstdout_stream.filename = out.log\n"
            "stderr_stream.class = circus.stream.FileStream\nstderr_stream.filename = out.log\n",
            {"stdout_file": "out.log", "stderr_file": None, "max_bytes": 0, "log_format": "raw"},
            [],
            id="one file for both, never rotated as in Circus",
        ),
        pytest.param(
            "stdout_stream.class = FileStream\nstdout_stream.filename = /l/out.log\n"
            "stdout_stream.max_bytes = 2048\nstdout_stream.backup_count = 3\n"
            "stdout_stream.time_format = %Y\n"
            "stderr_stream.class = WatchedFileStream\nstderr_stream.filename = /l/err.log\n",
            {
                "stdout_file": "/l/out.log",
                "stderr_file": "/l/err.log",
                "max_bytes": 2048,
                "log_format": "circus",
                "log_time_format": "%Y",
            },
            [
                "watcher a: stdout and stderr files rotate alike here; stdout_stream's max_bytes "
                "and backup_count are kept",
                "watcher a: stdout and stderr files are written alike here; stdout_stream's "
                "time_format is kept",
            ],
            id="separate files",
        ),
        pytest.param(
            "stderr_stream.class = TimedRotatingFileStream\nstderr_stream.filename = e.log\n"
            "stderr_stream.rotate_when = D\nstderr_stream.backup_count = 7\n",
            {
                "stderr_file": "e.log",
                "backup_count": 7,
                "max_bytes": 10 * 1024 * 1024,
                "log_format": "raw",
            },
            [
                "watcher a: stderr_stream.rotate_when is not supported: files rotate by size "
                "here (max_bytes)",
                "watcher a: stderr_stream: TimedRotatingFileStream rotates by time; here files "
                "rotate by size (max_bytes, 10 MiB by default)",
            ],
            id="timed rotation",
        ),
        pytest.param(
            "stdout_stream.class = FancyStdoutStream\nstdout_stream.color = red\n"
            "stderr_stream.class = myapp.SyslogStream\n",
            {"stdout": "inherit", "stderr": "pipe"},
            [
                "watcher a: stdout_stream: FancyStdoutStream's colours and prefixes are not kept",
                "watcher a: stderr_stream: class myapp.SyslogStream is not supported (a stream "
                "class is Python code run inside circusd, which this daemon does not run): the "
                "output is captured and written to state_dir/logs/a.log; `tail -f` or the output "
                "events give it to another program",
            ],
            id="stdout stream classes",
        ),
    ],
)
def test_output_streams(
    tmp_path: Path, streams: str, expected: dict[str, object], warnings: list[str]
) -> None:
    ini = "[circus]\nendpoint = ipc:///tmp/e\npubsub_endpoint = ipc:///tmp/p\n"
    ini += "stats_endpoint = ipc:///tmp/s\n\n[watcher:a]\ncmd = x\n" + streams
    text, got = convert_file(tmp_path, ini)
    watcher = load_toml(tmp_path, text).watchers["a"]
    assert {key: getattr(watcher, key) for key in expected} == expected
    assert got == warnings


def test_env_values_mean_what_they_meant_to_circusd(tmp_path: Path) -> None:
    ini = (
        "[watcher:a]\ncmd = python3 app.py\n\n"
        "[env:a]\nPATH = $PATH:/opt/extra\nSECRET = pa$word\nHOMEDIR = $HOMEx\n"
    )
    text, warnings = convert_file(tmp_path, ini)
    assert 'PATH = "${PATH}:/opt/extra"' in text
    assert 'SECRET = "pa$$word"' in text
    assert 'HOMEDIR = "${HOME}x"' in text
    assert not any("env" in w for w in warnings), warnings
    config = load_toml(tmp_path, text)
    assert config.watchers["a"].env["PATH"] == "${PATH}:/opt/extra"


def test_circus_variables_in_env_values_are_noted(tmp_path: Path) -> None:
    ini = "[watcher:a]\ncmd = x\n\n[env:a]\nW = $(circus.wid)\n"
    _, warnings = convert_file(tmp_path, ini)
    said = "[env:a] W: circusd passes $(circus.…) in an [env:...] value as written"
    assert any(said in w for w in warnings), warnings
    # In the common [env] circusd replaces them too: nothing to say.
    ini = "[watcher:a]\ncmd = x\n\n[env]\nW = $(circus.env.HOME)\n"
    _, warnings = convert_file(tmp_path, ini)
    assert not any("[env" in w for w in warnings), warnings


def test_hooks_carry_over(tmp_path: Path) -> None:
    ini = (
        "[watcher:a]\ncmd = x\nhooks.before_start = myapp.hooks.check\n"
        "hooks.after_stop = myapp.hooks.bye, true\nhooks.before_spwan = myapp.hooks.typo\n"
    )
    text, warnings = convert_file(tmp_path, ini)
    config = load_toml(tmp_path, text)
    hooks = config.watchers["a"].hooks
    assert hooks is not None
    assert hooks.as_table() == {
        "before_start": "myapp.hooks.check",
        "after_stop": "myapp.hooks.bye, true",
    }
    assert any(
        "hooks.before_spwan = 'myapp.hooks.typo' left out: unknown hook (did you mean "
        "'before_spawn'?)" in w
        for w in warnings
    ), warnings
    assert not any("hooks.before_start" in w or "hooks.after_stop" in w for w in warnings)


def test_process_options_carry_over_with_circusd_defaults(tmp_path: Path) -> None:
    ini = (
        "[circus]\numask = 002\n\n"
        "[watcher:a]\ncmd = x\nrlimit_nofile = 1024\nrlimit_core =\nsend_hup = True\n"
        "close_child_stdin = False\ncopy_env = True\ncopy_path = True\nexecutable = /bin/sh\n\n"
        "[watcher:b]\ncmd = y\nstop_children = True\nshell = True\nshell_args = -x\n"
    )
    text, warnings = convert_file(tmp_path, ini)
    assert not [w for w in warnings if "watcher" in w or "umask" in w], warnings
    config = load_toml(tmp_path, text)
    a, b = config.watchers["a"], config.watchers["b"]
    assert (a.rlimit_nofile, a.rlimit_core) == (1024, -1)
    assert a.send_hup and not a.close_child_stdin and a.copy_path
    assert a.executable == "/bin/sh"
    # circusd signals the process alone unless told otherwise, and its umask is everyone's.
    assert (a.stop_children, b.stop_children) == (False, True)
    assert a.umask == b.umask == 0o002
    assert b.shell_args == ["-x"]


def test_papa_and_the_web_console_are_refused_with_a_reason(tmp_path: Path) -> None:
    ini = "[circus]\nhttpd = True\n\n[watcher:a]\ncmd = x\nuse_papa = True\n"
    _, warnings = convert_file(tmp_path, ini)
    assert any(w.startswith("watcher a: use_papa is refused: papa") for w in warnings), warnings
    assert any(w.startswith("circus: httpd is not supported (no web console") for w in warnings)


CIRCUS_TUI = str(Path(sys.executable).parent / "circus-tui")
ENDPOINTS = (
    "[circus]\nendpoint = ipc:///tmp/e\npubsub_endpoint = ipc:///tmp/p\n"
    "stats_endpoint = ipc:///tmp/s\n"
)


def run_check(tmp_path: Path, ini: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "circus.ini"
    path.write_text(ini)
    return subprocess.run(
        [CIRCUS_TUI, "convert", "--check", str(path)], capture_output=True, text=True, timeout=60
    )


def test_check_passes_when_only_notes_remain(tmp_path: Path) -> None:
    done = run_check(tmp_path, ENDPOINTS + "check_delay = 5\n\n[watcher:a]\ncmd = sleep 9\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert "note: circus: check_delay has no equivalent (exits are noticed at once)" in lines
    # Where the output went under circusd, and where it goes now.
    assert any(
        ln.startswith("note: watcher a: without stdout_stream/stderr_stream") for ln in lines
    )
    assert lines[-1].endswith("circus.ini: converts with the same meaning")


def test_check_fails_on_a_change_of_meaning_and_says_why(tmp_path: Path) -> None:
    done = run_check(
        tmp_path,
        ENDPOINTS + "httpd = True\n\n[watcher:a]\ncmd = sleep 9\nbogus = 1\n"
        "stdout_stream.class = TimedRotatingFileStream\nstdout_stream.filename = a.log\n",
    )
    assert done.returncode == 1, done.stderr
    warnings = [ln for ln in done.stderr.splitlines() if ln.startswith("warning: ")]
    assert warnings == [
        "warning: circus: httpd is not supported (no web console: use the circus-tui console)",
        "warning: watcher a: bogus is not a Circus watcher option (circusd kept it only for "
        "hooks and plugins to read); left out",
        "warning: watcher a: stdout_stream: TimedRotatingFileStream rotates by time; here files "
        "rotate by size (max_bytes, 10 MiB by default)",
    ]
    assert done.stderr.splitlines()[-1].endswith("circus.ini: 3 things would run differently")
    # Without --check the TOML is printed, with the same warnings.
    plain = subprocess.run(
        [CIRCUS_TUI, "convert", str(tmp_path / "circus.ini")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert plain.returncode == 0 and "[watchers.a]" in plain.stdout
    assert [ln for ln in plain.stderr.splitlines() if ln.startswith("warning: ")] == warnings


def test_a_message_is_printed_without_control_characters(tmp_path: Path) -> None:
    done = run_check(tmp_path, ENDPOINTS + "\n[watcher:a]\ncmd = x\nbad\x1b[2Jkey = 1\n")
    assert "\x1b" not in done.stderr
    assert done.returncode == 1


def test_on_demand_carries_over_with_circusd_s_respawn_at_the_next_connection(
    tmp_path: Path,
) -> None:
    ini = (
        ENDPOINTS + "\n[socket:web]\nport = 0\n\n"
        "[watcher:a]\ncmd = srv $(circus.sockets.web)\nuse_sockets = True\non_demand = True\n"
        "[watcher:b]\ncmd = srv\nuse_sockets = True\non_demand = True\nnumprocesses = 2\n"
        "[watcher:c]\ncmd = srv\nuse_sockets = True\non_demand = True\nrespawn = False\n"
    )
    text, warnings = convert_file(tmp_path, ini)
    config = load_toml(tmp_path, text)
    a, b, c = (config.watchers[n] for n in "abc")
    assert a.on_demand and b.on_demand and c.on_demand
    assert (a.restart, b.restart, c.restart_policy) == ("never", "never", "never")
    assert [w for w in warnings if "on_demand" in w] == [
        'watcher b: on_demand: restart = "never" written, since circusd starts a process that '
        "died again only at the next connection; here the places of dead processes stay empty "
        "until all have died"
    ]


def test_a_shell_cmd_is_written_quoted_as_circusd_ran_it(tmp_path: Path) -> None:
    report = convert_report_of(
        tmp_path,
        '[watcher:a]\ncmd = probe "$0" *.log --id $(circus.wid)\nshell = true\n'
        "shell_args = first\n[watcher:b]\ncmd = serve --port $(circus.wid)\nshell = true\n",
    )
    config = parse_config_text(report.text)
    # circusd quoted every word: the shell expanded neither $0 nor the glob.
    assert config.watchers["a"].cmd == "probe '$0' '*.log' --id '$(circus.wid)'"
    assert config.watchers["b"].cmd == "serve --port $(circus.wid)"
    assert [n for n in report.notes if "shell:" in n] == [
        "watcher a: shell: circusd quoted every word of cmd, so the shell did not expand or "
        "interpret any of it; written quoted as circusd ran it: "
        "probe '$0' '*.log' --id '$(circus.wid)'"
    ]


def test_stderr_without_a_stream_stays_out_of_stdouts_file(tmp_path: Path) -> None:
    report = convert_report_of(
        tmp_path,
        "[watcher:a]\ncmd = app\nstdout_stream.class = FileStream\n"
        "stdout_stream.filename = /var/log/a.log\n"
        "[watcher:b]\ncmd = app\n[watcher:c]\ncmd = app\n",
    )
    config = parse_config_text(report.text)
    a = config.watchers["a"]
    assert (a.stdout_file, a.stderr, a.stderr_file) == ("/var/log/a.log", "inherit", None)
    assert (config.watchers["b"].stderr, config.watchers["b"].stdout) == ("pipe", "pipe")
    # One note for every watcher whose output circusd printed itself.
    said = [n for n in report.notes if "circusd left the" in n]
    assert len(said) == 2
    assert said[1].startswith("watchers b, c: without stdout_stream/stderr_stream")


def test_reserved_names_are_renamed_and_umask_is_octal(tmp_path: Path) -> None:
    report = convert_report_of(tmp_path, "[circus]\numask = 027\n[watcher:sockets]\ncmd = app\n")
    assert "[watchers.sockets_]" in report.text
    assert "umask = 0o027" in report.text
    assert parse_config_text(report.text).watchers["sockets_"].umask == 0o027
