"""Every rule a value must pass, written once: the configuration file, `set` and `add` over the
wire and `convert` all check through here, so the same value is accepted or refused alike, with
the same message.

A rule takes the unchecked value and returns the checked one, or raises ValueError with a
message that does not name the key (the caller knows it: `check` adds it, the config loader adds
file and line too). The rules that compare several keys raise CheckError naming the key to fix.

Values that circusctl can send (watcher options, command properties) may also come as text,
since circusctl sends what the user typed; keys only a file sets ([circus], [sockets]) take
their TOML type (`typed=True`)."""

from __future__ import annotations

from daemon.checks.across import (
    NUMPROCESSES_MAX,
    backoff_order,
    bounded_target,
    log_format_needs,
    python_path_needs,
    scaled,
    singleton_count,
    socket_keys,
    socket_shape,
)
from daemon.checks.base import (
    CheckError,
    Rule,
    check,
    did_you_mean,
)
from daemon.checks.hooks import hooks
from daemon.checks.identity import (
    MAX_ID,
    RESERVED_NAMES,
    distinct,
    endpoint,
    group,
    is_loopback,
    name,
    signal_name,
    signal_number,
    user,
)
from daemon.checks.lifecycle import (
    CONDITIONS,
    RESTART_POLICIES,
    SOCKETS_ENV,
    dependencies,
    exit_codes,
    restart_policy,
    sockets_env,
)
from daemon.checks.probes import (
    host_port,
    http_url,
    pattern,
    probe,
    probe_command,
)
from daemon.checks.values import (
    FALSE_WORDS,
    TRUE_WORDS,
    arguments,
    boolean,
    byte_size,
    choice,
    command_line,
    environment,
    host,
    integer,
    is_true,
    log_level,
    optional_path,
    path,
    rlimit,
    seconds,
    string,
    time_format,
    typed_boolean,
    umask,
)

__all__ = [
    "CONDITIONS",
    "FALSE_WORDS",
    "MAX_ID",
    "NUMPROCESSES_MAX",
    "RESERVED_NAMES",
    "RESTART_POLICIES",
    "SOCKETS_ENV",
    "TRUE_WORDS",
    "CheckError",
    "Rule",
    "arguments",
    "backoff_order",
    "boolean",
    "bounded_target",
    "byte_size",
    "check",
    "choice",
    "command_line",
    "dependencies",
    "did_you_mean",
    "distinct",
    "endpoint",
    "environment",
    "exit_codes",
    "group",
    "hooks",
    "host",
    "host_port",
    "http_url",
    "integer",
    "is_loopback",
    "is_true",
    "log_format_needs",
    "log_level",
    "name",
    "optional_path",
    "path",
    "pattern",
    "probe",
    "probe_command",
    "python_path_needs",
    "restart_policy",
    "rlimit",
    "scaled",
    "seconds",
    "signal_name",
    "signal_number",
    "singleton_count",
    "socket_keys",
    "socket_shape",
    "sockets_env",
    "string",
    "time_format",
    "typed_boolean",
    "umask",
    "user",
]
