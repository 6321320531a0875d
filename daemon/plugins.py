"""A `[plugins.NAME]` table run as circusd runs a plugin: a singleton watcher `plugin:NAME`
whose process is Circus's plugin runner, connected to this daemon's endpoints, with the
table's options as the one `--config` argument the runner reads."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from daemon.checks.plugins import OPTION_SEPARATOR
from daemon.options import WatcherConfig
from daemon.plugin_spec import PluginConfig

# What circusd runs (circus.plugins.get_plugin_cmd), as a list: no shell splits the options.
RUNNER_CODE = "from circus import plugins;plugins.main()"


def runner_args(plugin: PluginConfig, endpoint: str, pubsub_endpoint: str) -> list[str]:
    args = ["-c", RUNNER_CODE, "--endpoint", endpoint, "--pubsub", pubsub_endpoint]
    if plugin.options:
        # The runner splits pairs at ':::' and each pair at its first ':', as circusd
        # joins them (sorted by key).
        pairs = (f"{key}:{value}" for key, value in sorted(plugin.options.items()))
        args += ["--config", OPTION_SEPARATOR.join(pairs)]
    return [*args, plugin.use]


def plugin_watcher(
    plugin: PluginConfig, *, endpoint: str, pubsub_endpoint: str, base_dir: Path
) -> WatcherConfig:
    # circusd's own choices for a plugin's watcher: one process, the daemon's environment
    # and module path, started before the default watchers. It runs in the configuration
    # file's directory, so a plugin module kept next to the file is found.
    return WatcherConfig(
        name=plugin.watcher_name,
        cmd=plugin.interpreter,
        args=runner_args(plugin, endpoint, pubsub_endpoint),
        working_dir=str(base_dir),
        copy_env=True,
        # The daemon's module path means nothing to another interpreter.
        copy_path=plugin.own_interpreter,
        singleton=True,
        priority=plugin.priority,
    )


def plugin_watchers(
    plugins: Iterable[PluginConfig], *, endpoint: str, pubsub_endpoint: str, base_dir: Path
) -> dict[str, WatcherConfig]:
    return {
        p.watcher_name: plugin_watcher(
            p, endpoint=endpoint, pubsub_endpoint=pubsub_endpoint, base_dir=base_dir
        )
        for p in plugins
    }
