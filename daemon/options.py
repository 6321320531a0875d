"""Watcher options: names, types, defaults and checks, shared by the config file and the
`add`, `set`, `get` and `options` commands so both paths accept exactly the same values (the
rules themselves are in daemon.checks)."""

from __future__ import annotations

import shlex
import signal
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from daemon import checks
from daemon.checks import CheckError as OptionError
from daemon.checks import did_you_mean, signal_name
from daemon.checks import name as check_name
from daemon.checks import signal_number as parse_signal
from daemon.hook_spec import Hooks
from daemon.probe_spec import ALIVE_KINDS, READY_KINDS, Probe

# Names other modules import from here (commands.py, config); the rules live in checks.
__all__ = [
    "OPTIONS_BY_NAME",
    "WATCHER_OPTIONS",
    "Option",
    "OptionError",
    "WatcherConfig",
    "check_name",
    "check_option",
    "check_options",
    "make_watcher_config",
    "merge_dotted",
    "parse_signal",
    "signal_name",
]

_stream_mode = checks.choice(("pipe", "inherit", "discard"))
# How a log file's lines look: ours, the bytes alone (Circus's FileStream), or Circus's
# FileStream with a time_format.
LOG_FORMATS = ("stamped", "raw", "circus")


@dataclass(frozen=True)
class Option:
    name: str
    check: Callable[[Any], Any]
    default: Any
    doc: str
    # False: changing it takes effect without restarting the processes.
    restart: bool = True
    # The checked value as JSON and TOML write it (a Probe as its table), when it is not one.
    plain: Callable[[Any], Any] | None = None

    def shown(self, value: Any) -> Any:
        return value if self.plain is None or value is None else self.plain(value)


# Circus's rlimit_* options: every resource of Python's resource module on Linux.
RLIMIT_NAMES = (
    "as",
    "core",
    "cpu",
    "data",
    "fsize",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "ofile",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
)


def _optional_umask(value: Any) -> int | None:
    return None if value is None else checks.umask(value)


def _optional_socket_name(value: Any) -> str | None:
    return None if value is None or value == "" else checks.name(value, "socket")


def _optional_py_ver(value: Any) -> str | None:
    if value is None:
        return None
    text = checks.string(value).strip()
    parts = text.split(".")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ValueError("expected a Python version like 3.11")
    return text


def _optional_percent(value: Any) -> float | None:
    return None if value is None else checks.seconds(0, 100_000, above=True)(value)


def _shown_size(value: int) -> int | str:
    for unit, size in (("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if value % size == 0:
            return f"{value // size}{unit}"
    return value


def _shown_rlimit(value: int) -> int | str:
    return "unlimited" if value == -1 else value


# The order here is the order `options` and `convert` present them.
WATCHER_OPTIONS: tuple[Option, ...] = (
    Option("cmd", checks.command_line, None, "command line to run, split like a shell would"),
    Option("args", checks.arguments, [], "extra arguments appended to cmd"),
    Option(
        "numprocesses",
        checks.integer(0, checks.NUMPROCESSES_MAX),
        1,
        "how many processes to run",
        restart=False,
    ),
    Option("working_dir", checks.optional_path, None, "directory the processes start in"),
    Option("env", checks.environment, {}, "environment variables added for the processes"),
    Option("copy_env", checks.boolean, False, "start from the daemon's whole environment"),
    Option("shell", checks.boolean, False, "run cmd through /bin/sh -c"),
    Option("uid", checks.user, None, "user to run as (daemon must be root)"),
    Option("gid", checks.group, None, "group to run as (daemon must be root)"),
    Option("stop_signal", checks.signal_number, int(signal.SIGTERM), "signal sent to stop", False),
    Option("graceful_timeout", checks.seconds(0, 86400), 30.0, "seconds before SIGKILL", False),
    Option("respawn", checks.boolean, True, "replace processes that exit", restart=False),
    Option(
        "restart",
        checks.restart_policy,
        "always",
        "always, on-failure or never: which exits are replaced",
        restart=False,
    ),
    Option(
        "success_exit_codes",
        checks.exit_codes,
        (0,),
        "exit codes that count as success",
        restart=False,
        plain=list,
    ),
    Option(
        "depends_on",
        checks.dependencies,
        {},
        "watchers to wait for: NAME = started, ready or completed",
        restart=False,
    ),
    Option(
        "ready",
        checks.probe("ready"),
        None,
        "readiness probe: http, tcp, exec, log or notify",
        restart=False,
        plain=lambda p: p.as_table(alive=False),
    ),
    Option(
        "alive",
        checks.probe("alive"),
        None,
        "liveness probe once ready: http, tcp, exec or watchdog",
        restart=False,
        plain=lambda p: p.as_table(alive=True),
    ),
    Option("max_surge", checks.integer(1, 1000), 1, "replacements at a time in a reload", False),
    Option(
        "max_memory",
        checks.byte_size,
        None,
        "a process tree's memory past which it is replaced, like 512M",
        restart=False,
        plain=_shown_size,
    ),
    Option(
        "max_cpu",
        _optional_percent,
        None,
        "a process tree's CPU (% of a core, over limit_window) past which it is replaced",
        restart=False,
    ),
    Option(
        "limit_window", checks.seconds(1, 3600), 10.0, "seconds max_cpu is averaged over", False
    ),
    Option(
        "hooks",
        checks.hooks,
        None,
        "Circus's hooks: a Python callable or a command for each, and their timeout",
        restart=False,
        plain=lambda h: h.as_table(),
    ),
    Option("autostart", checks.boolean, True, "start with the daemon", restart=False),
    Option("priority", checks.integer(), 0, "higher starts first, stops last", restart=False),
    Option("singleton", checks.boolean, False, "never more than one process", restart=False),
    Option("warmup_delay", checks.seconds(0, 3600), 0.0, "seconds between spawns", restart=False),
    Option("max_age", checks.integer(0), 0, "restart a process after this many seconds", False),
    Option(
        "max_age_variance", checks.integer(0), 30, "random extra seconds added to max_age", False
    ),
    Option(
        "max_retry", checks.integer(-1), 5, "quick deaths in a row before failed; -1 never", False
    ),
    Option("backoff_min", checks.seconds(0, 3600), 0.5, "first delay after a quick death", False),
    Option("backoff_max", checks.seconds(0, 86400), 60.0, "longest delay between retries", False),
    Option(
        "stable_after",
        checks.seconds(0, 86400),
        10.0,
        "uptime after which a death is not quick",
        False,
    ),
    Option("umask", _optional_umask, None, "umask of the processes (default: the daemon's)"),
    Option("close_child_stdin", checks.boolean, True, "stdin from /dev/null, not the daemon's"),
    Option("stdin_socket", _optional_socket_name, None, "the socket [sockets.NAME] as stdin"),
    Option("copy_path", checks.boolean, False, "PYTHONPATH from the daemon's own path (copy_env)"),
    Option("virtualenv", checks.optional_path, None, "a virtualenv's root: its bin and packages"),
    Option("virtualenv_py_ver", _optional_py_ver, None, "the virtualenv's Python, like 3.11"),
    Option("send_hup", checks.boolean, False, "reload sends SIGHUP instead of replacing", False),
    Option(
        "stop_children",
        checks.boolean,
        True,
        "the stop signal reaches the whole process tree, not only the process",
        False,
    ),
    Option("shell_args", checks.arguments, [], "arguments after the command given to the shell"),
    Option("executable", checks.optional_path, None, "program run, cmd's first word its name"),
    *(
        Option(
            f"rlimit_{name}",
            checks.rlimit,
            None,
            f"RLIMIT_{name.upper()} of the processes (soft and hard); unlimited or a number",
            plain=_shown_rlimit,
        )
        for name in RLIMIT_NAMES
    ),
    Option("stdout", _stream_mode, "pipe", "pipe (captured), inherit or discard"),
    Option("stderr", _stream_mode, "pipe", "pipe (captured), inherit or discard"),
    Option("use_sockets", checks.boolean, False, "inherit the daemon's sockets"),
    Option(
        "on_demand",
        checks.boolean,
        False,
        "start at the first connection on its sockets, and again after each stop",
        restart=False,
    ),
    Option("sockets_env", checks.sockets_env, "circus", "circus or systemd (LISTEN_FDS)"),
    Option(
        "stdout_file", checks.optional_path, None, "log file (default: <state_dir>/logs/<name>.log)"
    ),
    Option(
        "stderr_file", checks.optional_path, None, "separate file for stderr (default: with stdout)"
    ),
    Option(
        "max_bytes",
        checks.integer(0),
        10 * 1024 * 1024,
        "rotate the log file at this size; 0 never",
    ),
    Option("backup_count", checks.integer(0, 1000), 5, "rotated files kept"),
    Option(
        "log_format",
        checks.choice(LOG_FORMATS),
        "stamped",
        "stamped (time, pid, stream), raw (the lines only) or circus (log_time_format [pid] | )",
        restart=False,
    ),
    Option(
        "log_time_format",
        checks.time_format,
        None,
        'strftime pattern of log_format = "circus", like %Y-%m-%d %H:%M:%S',
        restart=False,
    ),
    Option("output_buffer", checks.integer(0, 10_000_000), 10_000, "lines kept in memory for tail"),
    Option(
        "output_buffer_bytes",
        checks.integer(0, 1 << 36),
        16 * 1024 * 1024,
        "bytes of output kept in memory for tail (each line counts 160 more)",
        restart=False,
    ),
    Option(
        "max_line_length", checks.integer(80, 64 * 1024 * 1024), 65536, "longer lines are split"
    ),
)

OPTIONS_BY_NAME: dict[str, Option] = {o.name: o for o in WATCHER_OPTIONS}


@dataclass(frozen=True)
class WatcherConfig:
    name: str
    cmd: str
    args: list[str] = field(default_factory=list)
    numprocesses: int = 1
    working_dir: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    copy_env: bool = False
    shell: bool = False
    uid: str | int | None = None
    gid: str | int | None = None
    stop_signal: int = int(signal.SIGTERM)
    graceful_timeout: float = 30.0
    respawn: bool = True
    restart: str = "always"
    success_exit_codes: tuple[int, ...] = (0,)
    depends_on: dict[str, str] = field(default_factory=dict)
    ready: Probe | None = None
    alive: Probe | None = None
    max_surge: int = 1
    max_memory: int | None = None
    max_cpu: float | None = None
    limit_window: float = 10.0
    hooks: Hooks | None = None
    autostart: bool = True
    priority: int = 0
    singleton: bool = False
    warmup_delay: float = 0.0
    max_age: int = 0
    max_age_variance: int = 30
    max_retry: int = 5
    backoff_min: float = 0.5
    backoff_max: float = 60.0
    stable_after: float = 10.0
    umask: int | None = None
    close_child_stdin: bool = True
    stdin_socket: str | None = None
    copy_path: bool = False
    virtualenv: str | None = None
    virtualenv_py_ver: str | None = None
    send_hup: bool = False
    stop_children: bool = True
    shell_args: list[str] = field(default_factory=list)
    executable: str | None = None
    # -1: unlimited (RLIM_INFINITY).
    rlimit_as: int | None = None
    rlimit_core: int | None = None
    rlimit_cpu: int | None = None
    rlimit_data: int | None = None
    rlimit_fsize: int | None = None
    rlimit_memlock: int | None = None
    rlimit_msgqueue: int | None = None
    rlimit_nice: int | None = None
    rlimit_nofile: int | None = None
    rlimit_nproc: int | None = None
    rlimit_ofile: int | None = None
    rlimit_rss: int | None = None
    rlimit_rtprio: int | None = None
    rlimit_rttime: int | None = None
    rlimit_sigpending: int | None = None
    rlimit_stack: int | None = None
    stdout: str = "pipe"
    stderr: str = "pipe"
    use_sockets: bool = False
    on_demand: bool = False
    sockets_env: str = "circus"
    stdout_file: str | None = None
    stderr_file: str | None = None
    max_bytes: int = 10 * 1024 * 1024
    backup_count: int = 5
    log_format: str = "stamped"
    log_time_format: str | None = None
    output_buffer: int = 10_000
    output_buffer_bytes: int = 16 * 1024 * 1024
    max_line_length: int = 65536

    def argv(self) -> list[str]:
        if self.shell:
            line = " ".join([self.cmd, *(shlex.quote(a) for a in self.args)])
            # As Popen(shell=True) with Circus's shell_args: $0, $1, … of the line.
            return ["/bin/sh", "-c", line, *self.shell_args]
        return [*shlex.split(self.cmd), *self.args]

    @property
    def rlimits(self) -> dict[str, int]:
        """Each limit set: its name ("nofile") and value (-1: unlimited)."""
        found = {}
        for name in RLIMIT_NAMES:
            value = getattr(self, f"rlimit_{name}")
            if value is not None:
                found[name] = value
        return found

    def as_options(self) -> dict[str, Any]:
        # Circus reports stop_signal as its number; circusctl prints it as such.
        return {o.name: o.shown(getattr(self, o.name)) for o in WATCHER_OPTIONS}

    @property
    def restart_policy(self) -> str:
        """The policy in force: Circus's `respawn = false` is "never" whatever `restart` says."""
        return self.restart if self.respawn else "never"

    def with_options(self, changes: dict[str, Any]) -> WatcherConfig:
        return replace(self, **check_options(changes)).check_together(changes)

    def check_together(self, given: Iterable[str]) -> WatcherConfig:
        """The rules across options, on the values in force (defaults and earlier values
        count too); `given` names the options just set, which an error blames first."""
        checks.backoff_order(self.backoff_min, self.backoff_max, given)
        checks.singleton_count(self.singleton, self.numprocesses)
        checks.python_path_needs(self.copy_env, self.copy_path, self.virtualenv, given)
        checks.log_format_needs(self.log_format, self.log_time_format, given)
        if self.on_demand and not self.use_sockets:
            blamed = "use_sockets" if "use_sockets" in given else "on_demand"
            raise checks.CheckError(blamed, "on_demand needs use_sockets = true (its sockets)")
        if self.shell_args and not self.shell:
            raise checks.CheckError("shell_args", "needs shell = true")
        return self

    def differs_for_processes(self, other: WatcherConfig) -> bool:
        """True when running processes must be restarted to apply `other`."""
        return any(
            o.restart and getattr(self, o.name) != getattr(other, o.name) for o in WATCHER_OPTIONS
        )


# Options whose value is a table, settable one key at a time (`set web ready.timeout 5`).
TABLE_OPTIONS = ("ready", "alive", "depends_on", "env", "hooks")
_PROBE_KINDS = {"ready": READY_KINDS, "alive": ALIVE_KINDS}


def merge_dotted(config: WatcherConfig, options: dict[str, Any]) -> dict[str, Any]:
    """`ready.timeout = 5` becomes the whole `ready` table with that key changed. Naming
    another kind of probe replaces the kind (`ready.tcp` on an http probe)."""
    merged = {k: v for k, v in options.items() if "." not in k}
    for key, value in options.items():
        table, dot, inner = key.partition(".")
        if not dot:
            continue
        if table not in TABLE_OPTIONS:
            raise OptionError(key, "unknown option" + did_you_mean(key, OPTIONS_BY_NAME))
        if table not in merged:
            current = OPTIONS_BY_NAME[table].shown(getattr(config, table))
            merged[table] = dict(current or {})
        if not isinstance(merged[table], dict):
            raise OptionError(key, f"{table} is given whole too")
        kinds = _PROBE_KINDS.get(table, ())
        if inner in kinds:
            for kind in kinds:
                merged[table].pop(kind, None)
        merged[table][inner] = value
    return merged


def check_option(key: str, value: Any) -> Any:
    option = OPTIONS_BY_NAME.get(key)
    if option is None:
        raise OptionError(key, "unknown option" + did_you_mean(key, OPTIONS_BY_NAME))
    return checks.check(key, option.check, value)


def check_options(values: dict[str, Any]) -> dict[str, Any]:
    """Each value on its own; the rules across options need the whole configuration
    (WatcherConfig.check_together), since one given alone is compared with the others' values."""
    return {k: check_option(k, v) for k, v in values.items()}


def make_watcher_config(name: str, values: dict[str, Any]) -> WatcherConfig:
    """Build a WatcherConfig from unchecked values; raises OptionError."""
    if "cmd" not in values:
        raise OptionError("cmd", "is required")
    return WatcherConfig(name=name, **check_options(values)).check_together(values)
