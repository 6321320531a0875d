"""What each Circus 0.19 option becomes here: the options that mean the same, and the reason
for each one that does not carry over."""

from __future__ import annotations

from daemon.options import RLIMIT_NAMES

# Circus watcher options that mean the same here; their values go through check_option.
SHARED_OPTIONS = (
    "cmd",
    "args",
    "numprocesses",
    "working_dir",
    "copy_env",
    "shell",
    "uid",
    "gid",
    "stop_signal",
    "graceful_timeout",
    "respawn",
    "autostart",
    "priority",
    "singleton",
    "warmup_delay",
    "max_age",
    "max_age_variance",
    "max_retry",
    "use_sockets",
    "on_demand",
    "send_hup",
    "stop_children",
    "copy_path",
    "virtualenv",
    "virtualenv_py_ver",
    "shell_args",
    "executable",
    "close_child_stdin",
    "stdin_socket",
    *(f"rlimit_{name}" for name in RLIMIT_NAMES),
)

FLAPPING_HINT = "flapping is built in: see backoff_min, backoff_max, stable_after and max_retry"

# Watcher options with a known reason why they do not carry over.
WATCHER_NOTES = {
    "check_flapping": FLAPPING_HINT,
    "flapping_attempts": FLAPPING_HINT,
    "flapping_window": FLAPPING_HINT,
    "flapping_retry_in": FLAPPING_HINT,
    "flapping_max_retry": FLAPPING_HINT,
    "use_papa": "is refused: papa (processes kept by a separate server, which Circus "
    "removed) is not supported; the processes are this daemon's own",
    "env": "is not read by Circus in a watcher section: use an [env:NAME] section",
}

CIRCUS_NOTES = {
    "check_delay": "has no equivalent (exits are noticed at once)",
    "endpoint_owner": "has no equivalent (ipc sockets are private to the daemon's user)",
    "multicast_endpoint": "has no equivalent (no discovery: no UDP port is ever opened)",
    "statsd": "is not needed (stats are always published on stats_endpoint)",
    "httpd": "is not supported (no web console: use the circus-tui console)",
    "httpd_host": "is not supported (no web console: use the circus-tui console)",
    "httpd_port": "is not supported (no web console: use the circus-tui console)",
    "debug": "has no equivalent (loglevel = debug is the daemon's own log)",
    "debug_gc": "has no equivalent",
    "logoutput": "has no equivalent (the daemon logs to stderr)",
    "loggerconfig": "has no equivalent",
    "fqdn_prefix": "has no equivalent",
    "papa_endpoint": "has no equivalent",
}

# [circus] options whose loss changes nothing a program sees: reported as notes.
CIRCUS_HARMLESS = frozenset(
    {
        "check_delay",
        "endpoint_owner",
        "multicast_endpoint",
        "statsd",
        "debug",
        "debug_gc",
        "loglevel",
        "logoutput",
        "loggerconfig",
        "fqdn_prefix",
        "papa_endpoint",
    }
)

SOCKET_NOTES = {
    "interface": "is not supported (SO_BINDTODEVICE): bind to the interface's address with host",
    "proto": "is not supported: the socket uses its family and type's protocol (TCP, UDP)",
}

# circusd keeps an unknown watcher key as an extra option for plugins and hooks to read.
UNKNOWN_WATCHER_OPTION = (
    "is not a Circus watcher option (circusd kept it only for hooks and plugins to read); left out"
)

# [circus] switches that only matter when turned on.
SWITCHES = ("statsd", "httpd", "debug", "debug_gc")

CIRCUS_ENDPOINTS = {
    "endpoint": "tcp://127.0.0.1:5555",
    "pubsub_endpoint": "tcp://127.0.0.1:5556",
    "stats_endpoint": "tcp://127.0.0.1:5557",
}

FILE_STREAMS = ("FileStream", "WatchedFileStream", "TimedRotatingFileStream")
_FILE_OPTIONS = {"class", "filename", "max_bytes", "backup_count", "time_format"}
# The options each stream class takes that carry over; the others get a warning.
STREAM_OPTIONS: dict[str, set[str]] = {
    "StdoutStream": {"class"},
    "FancyStdoutStream": {"class", "color"},
    "FileStream": _FILE_OPTIONS,
    "WatchedFileStream": {"class", "filename", "time_format"},
    "TimedRotatingFileStream": {"class", "filename", "backup_count", "time_format"},
}
