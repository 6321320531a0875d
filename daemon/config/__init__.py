"""The TOML configuration file: what it holds (schema), loading it with errors that name file,
line and key (load, with keylines for the line numbers), and saving the running state back
into the same file without disturbing its comments or layout (save)."""

from daemon.config.load import ConfigError, load_config, parse_config_text
from daemon.config.save import new_watcher_table, save_config, toml_value
from daemon.config.schema import (
    SETTINGS_CHECKS,
    SOCKET_CHECKS,
    SOCKET_FAMILIES,
    SOCKET_TYPES,
    TOP_LEVEL_KEYS,
    Config,
    DaemonSettings,
    SocketConfig,
    make_settings,
    make_socket_config,
)

__all__ = [
    "SETTINGS_CHECKS",
    "SOCKET_CHECKS",
    "SOCKET_FAMILIES",
    "SOCKET_TYPES",
    "TOP_LEVEL_KEYS",
    "Config",
    "ConfigError",
    "DaemonSettings",
    "SocketConfig",
    "load_config",
    "make_settings",
    "make_socket_config",
    "new_watcher_table",
    "parse_config_text",
    "save_config",
    "toml_value",
]
