"""Every option Circus 0.19 documents (docs/source/for-ops/configuration.rst: the [circus],
watcher, socket, plugin and env sections, the stream classes and the variables), and what
`circus-tui convert` makes of each: carried with the same meaning, with what shows it, or not,
with the reason and what to use instead. docs/migrating.md's table is this, and
test_options_carried.py checks both."""

from __future__ import annotations

DOCUMENTED: dict[str, tuple[str, ...]] = {
    "circus": (
        "endpoint",
        "endpoint_owner",
        "pubsub_endpoint",
        "statsd",
        "stats_endpoint",
        "statsd_close_outputs",
        "check_delay",
        "include",
        "include_dir",
        "stream_backend",
        "warmup_delay",
        "httpd",
        "httpd_host",
        "httpd_port",
        "httpd_close_outputs",
        "debug",
        "debug_gc",
        "pidfile",
        "umask",
        "loglevel",
        "logoutput",
        "loggerconfig",
    ),
    "watcher": (
        "cmd",
        "args",
        "shell",
        "shell_args",
        "working_dir",
        "uid",
        "gid",
        "copy_env",
        "copy_path",
        "warmup_delay",
        "autostart",
        "numprocesses",
        "rlimit_LIMIT",
        "stderr_stream.class",
        "stderr_stream.*",
        "stdout_stream.class",
        "stdout_stream.*",
        "stdin_socket",
        "close_child_stdin",
        "close_child_stdout",
        "close_child_stderr",
        "send_hup",
        "stop_signal",
        "stop_children",
        "max_retry",
        "graceful_timeout",
        "priority",
        "singleton",
        "use_sockets",
        "max_age",
        "max_age_variance",
        "on_demand",
        "hooks.*",
        "virtualenv",
        "virtualenv_py_ver",
        "respawn",
    ),
    "socket": (
        "host",
        "port",
        "family",
        "type",
        "interface",
        "path",
        "umask",
        "replace",
        "so_reuseport",
        "blocking",
    ),
    "plugin": ("use", "anything else"),
    "env": ("[env]", "[env:WATCHERS]", "$VAR in values"),
    "stream": (
        "FileStream",
        "FileStream.filename",
        "FileStream.time_format",
        "FileStream.max_bytes",
        "FileStream.backup_count",
        "WatchedFileStream",
        "WatchedFileStream.filename",
        "WatchedFileStream.time_format",
        "TimedRotatingFileStream",
        "TimedRotatingFileStream.filename",
        "TimedRotatingFileStream.backup_count",
        "TimedRotatingFileStream.time_format",
        "TimedRotatingFileStream.rotate_when",
        "TimedRotatingFileStream.rotate_interval",
        "QueueStream",
        "StdoutStream",
        "FancyStdoutStream",
        "FancyStdoutStream.color",
        "FancyStdoutStream.time_format",
    ),
    "variables": (
        "$(circus.wid)",
        "$(circus.env.NAME)",
        "$(circus.sockets.NAME)",
        "$(circus.env.NAME) in any section",
    ),
}

PLUGIN_TESTS = "tests/daemon/test_plugins.py"

# Carried with the same meaning: the check of test_options_carried.py that shows it (both
# supervisors, one file), or another test that does.
CARRIED: dict[str, str] = {
    "circus.endpoint": "endpoints",
    "circus.pubsub_endpoint": "stop_event",
    "circus.stats_endpoint": "stats_stream",
    "circus.include": "include",
    "circus.include_dir": "include",
    "circus.umask": "umask",
    "circus.pidfile": "pidfile",
    "circus.loglevel": "loglevel",
    "circus.warmup_delay": "warmup_between_watchers",
    "watcher.cmd": "argv",
    "watcher.args": "argv",
    "watcher.shell": "shell",
    "watcher.shell_args": "shell",
    "watcher.working_dir": "working_dir",
    "watcher.uid": "user",
    "watcher.gid": "user",
    "watcher.copy_env": "copy_env",
    "watcher.copy_path": "copy_path",
    "watcher.warmup_delay": "warmup_delay",
    "watcher.autostart": "autostart",
    "watcher.numprocesses": "argv",
    "watcher.rlimit_LIMIT": "rlimits",
    "watcher.stderr_stream.class": "watched",
    "watcher.stderr_stream.*": "watched",
    "watcher.stdout_stream.class": "file_stream",
    "watcher.stdout_stream.*": "file_stream",
    "watcher.close_child_stdin": "stdin",
    "watcher.stdin_socket": "stdin_socket",
    "watcher.close_child_stdout": "closed",
    "watcher.close_child_stderr": "closed",
    "watcher.send_hup": "send_hup",
    "watcher.stop_signal": "stop_signal",
    "watcher.stop_children": "stop_children",
    "watcher.graceful_timeout": "graceful_timeout",
    "watcher.priority": "priority",
    "watcher.singleton": "singleton",
    "watcher.use_sockets": "sockets",
    "watcher.max_age": "max_age",
    "watcher.max_age_variance": "max_age",
    "watcher.on_demand": "on_demand",
    "watcher.hooks.*": "hooks",
    "watcher.virtualenv": "virtualenv",
    "watcher.virtualenv_py_ver": "virtualenv",
    "watcher.respawn": "respawn",
    "socket.host": "sockets",
    "socket.port": "sockets",
    "socket.family": "sockets",
    "socket.type": "sockets",
    "socket.path": "sockets",
    "socket.umask": "sockets",
    "socket.replace": "sockets",
    "socket.so_reuseport": "sockets",
    "socket.blocking": "sockets",
    "plugin.use": f"{PLUGIN_TESTS}::test_the_runner_is_given_what_circusd_gives_it",
    "plugin.anything else": (
        f"{PLUGIN_TESTS}::test_convert_carries_plugin_sections_with_their_options"
    ),
    "env.[env]": "env_sections",
    "env.[env:WATCHERS]": "env_sections",
    "env.$VAR in values": "env_expansion",
    "stream.FileStream": "file_stream",
    "stream.FileStream.filename": "file_stream",
    "stream.FileStream.time_format": "time_format",
    "stream.FileStream.max_bytes": "rotation",
    "stream.FileStream.backup_count": "rotation",
    "stream.WatchedFileStream": "watched",
    "stream.WatchedFileStream.filename": "watched",
    "stream.WatchedFileStream.time_format": "watched_time_format",
    "stream.TimedRotatingFileStream.filename": "timed_rotating",
    "stream.TimedRotatingFileStream.time_format": "timed_rotating",
    "stream.StdoutStream": "stdout_stream",
    "variables.$(circus.wid)": "argv",
    "variables.$(circus.env.NAME)": "argv",
    "variables.$(circus.sockets.NAME)": "sockets",
}

# Not carried, or not with the same meaning: why, and what to use instead.
NOT_CARRIED: dict[str, str] = {
    "circus.endpoint_owner": (
        "no equivalent needed: the ipc endpoints are in a directory only the daemon's user can "
        "enter; run the daemon as the user who should control it"
    ),
    "circus.statsd": (
        "no equivalent needed: the stats stream is always on (stats_endpoint), without a "
        "circusd-stats process"
    ),
    "circus.statsd_close_outputs": "no circusd-stats process to close the outputs of",
    "circus.check_delay": "no equivalent needed: exits are noticed at once (a pidfd per process)",
    "circus.stream_backend": "no equivalent needed: one asyncio loop, no tornado or gevent",
    "circus.httpd": "refused: no web console; the console is circus-tui, over SSH",
    "circus.httpd_host": "refused, as httpd is: there is no web console",
    "circus.httpd_port": "refused, as httpd is: there is no web console",
    "circus.httpd_close_outputs": "refused, as httpd is: there is no web console",
    "circus.debug": (
        "no equivalent (circusd's own debugging): loglevel = debug for the daemon's log"
    ),
    "circus.debug_gc": "no equivalent (Python's gc debugging of circusd itself)",
    "circus.logoutput": (
        "the daemon logs on stderr (the journal under systemd), or state_dir/daemon.log with "
        "--daemonize"
    ),
    "circus.loggerconfig": "no equivalent: the daemon's log has one format",
    "watcher.max_retry": (
        "other meaning: circusd counts only spawns that fail (the program cannot be run) and "
        "restarts a program that exits at once forever, every check_delay; here max_retry "
        "counts quick exits too, with backoff, then the watcher is failed (what Circus's "
        "Flapping plugin did); max_retry = -1 retries forever"
    ),
    "socket.interface": (
        "not supported (SO_BINDTODEVICE, convert warns): bind host to the interface's address"
    ),
    "stream.TimedRotatingFileStream": (
        "rotates by size, not by time (convert warns): max_bytes, or logrotate with SIGUSR1"
    ),
    "stream.TimedRotatingFileStream.backup_count": "kept, but counts files rotated by size",
    "stream.TimedRotatingFileStream.rotate_when": "rotation by time is not supported",
    "stream.TimedRotatingFileStream.rotate_interval": "rotation by time is not supported",
    "stream.QueueStream": (
        "a queue inside circusd that only Python code run in circusd could read: the output "
        "is captured instead (`tail`, output events)"
    ),
    "stream.FancyStdoutStream": (
        "printed on the daemon's stdout like StdoutStream, without its colours and prefixes"
    ),
    "stream.FancyStdoutStream.color": "colours are not kept",
    "stream.FancyStdoutStream.time_format": "its prefixes are not kept",
    "variables.$(circus.env.NAME) in any section": (
        "replaced in cmd, args, env values, working_dir, stream file names and socket paths, "
        "not in other values (a socket's port, a plugin's options): write the value"
    ),
}


def entries() -> list[str]:
    return [f"{section}.{option}" for section, options in DOCUMENTED.items() for option in options]
