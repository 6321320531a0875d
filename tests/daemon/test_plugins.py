"""Circus plugins run as circusd runs them: `[plugins.NAME]` (or a converted `[plugin:NAME]`)
is a singleton watcher `plugin:NAME` running Circus's own plugin runner against this daemon."""

from __future__ import annotations

import shlex
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
import tomlkit

from daemon.config import ConfigError, load_config, parse_config_text
from daemon.convert import convert_report
from daemon.plugin_spec import PluginConfig
from daemon.plugins import plugin_watcher, runner_args
from tests.conftest import wait_for

FLAPPING = "circus.plugins.flapping.Flapping"
STATSD = "circus.plugins.statsd.StatsdEmitter"


def test_the_runner_is_given_what_circusd_gives_it() -> None:
    from circus.plugins import get_plugin_cmd

    options = {"attempts": "2", "window": "1.5", "retry_in": "3600"}
    ours = PluginConfig("flap", FLAPPING, options=options)
    theirs = get_plugin_cmd({"use": FLAPPING, **options}, "ipc://c", "ipc://e", 5.0, None)
    assert [sys.executable, *runner_args(ours, "ipc://c", "ipc://e")] == shlex.split(theirs)


def test_a_plugin_watcher_is_circusds_single_process_in_the_files_directory(
    tmp_path: Path,
) -> None:
    cfg = plugin_watcher(
        PluginConfig("flap", FLAPPING, priority=7),
        endpoint="ipc://c",
        pubsub_endpoint="ipc://e",
        base_dir=tmp_path,
    )
    assert (cfg.name, cfg.cmd, cfg.singleton, cfg.priority) == (
        "plugin:flap",
        sys.executable,
        True,
        7,
    )
    assert (cfg.working_dir, cfg.copy_env, cfg.copy_path) == (str(tmp_path), True, True)
    assert "--config" not in cfg.args


def test_a_table_gives_the_class_and_its_options_as_text() -> None:
    config = parse_config_text(
        f'[plugins.flap]\nuse = "{FLAPPING}"\nattempts = 3\nwindow = 1.5\nactive = true\n'
        'note = "a b"\npriority = 4\n'
    )
    plugin = config.plugins["flap"]
    assert plugin.use == FLAPPING
    assert plugin.priority == 4
    assert dict(plugin.options) == {
        "attempts": "3",
        "window": "1.5",
        "active": "true",
        "note": "a b",
        "priority": "4",
    }
    assert "plugin:flap" not in config.watchers


@pytest.mark.parametrize(
    ("body", "line", "key", "says"),
    [
        ("attempts = 2\n", 2, "plugins.flap.use", "is required"),
        ('use = "flapping"\n', 3, "plugins.flap.use", "not a plugin class"),
        (f'use = "{FLAPPING[:-1]}"\n', 3, "plugins.flap.use", "did you mean 'Flapping'"),
        ('use = "circus.plugins.nothere.X"\n', 3, "plugins.flap.use", "no module"),
        (f'use = "{FLAPPING}"\nwindow = "1:::x"\n', 4, "plugins.flap.window", "':::'"),
        (f'use = "{FLAPPING}"\nwindow = [1]\n', 4, "plugins.flap.window", "a plugin reads text"),
        (f'use = "{FLAPPING}"\nname = "x"\n', 4, "plugins.flap.name", "plugin:flap"),
        (f'use = "{FLAPPING}"\npython = "./nope"\n', 4, "plugins.flap.python", "no such file"),
    ],
)
def test_a_bad_table_names_its_line_and_key(body: str, line: int, key: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config_text(f"# plugins\n[plugins.flap]\n{body}")
    assert (caught.value.line, caught.value.key) == (line, key)
    assert says in caught.value.message


def test_a_python_without_circus_says_what_to_install(tmp_path: Path) -> None:
    # A virtualenv of its own, without Circus in it.
    bare = tmp_path / "bare"
    (bare / "bin").mkdir(parents=True)
    python = bare / "bin" / "python"
    python.write_text("#!/bin/sh\nexec env -u PYTHONPATH " + sys.executable + ' -I -S "$@"\n')
    python.chmod(0o755)
    with pytest.raises(ConfigError) as caught:
        parse_config_text(f'[plugins.flap]\nuse = "{FLAPPING}"\npython = "{python}"\n')
    assert caught.value.key == "plugins.flap.python"
    assert "pip install circus" in caught.value.message
    assert str(python) in caught.value.message


def test_a_plugin_never_runs_where_other_users_can_put_modules(tmp_path: Path) -> None:
    # The runner imports from its working directory first, as the daemon's user.
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    config = shared / "programs.toml"
    config.write_text(f'[plugins.flap]\nuse = "{FLAPPING}"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert caught.value.key == "plugins.flap.use"
    assert "another user could put a module" in caught.value.message
    assert "writable by other users" in caught.value.message


def test_its_watcher_name_cannot_be_a_watchers() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config_text(
            f'[watchers."plugin:flap"]\ncmd = "sleep 9"\n[plugins.flap]\nuse = "{FLAPPING}"\n'
        )
    assert caught.value.key == "plugins.flap"


def convert(tmp_path: Path, ini: str) -> Any:
    path = tmp_path / "circus.ini"
    path.write_text(ini)
    return convert_report(path)


def about_plugins(warnings: list[str]) -> list[str]:
    # Every file without endpoints is told that ours are private ipc sockets.
    return [w for w in warnings if not w.startswith("circus: Circus defaulted to endpoint")]


def test_convert_carries_plugin_sections_with_their_options(tmp_path: Path) -> None:
    report = convert(
        tmp_path,
        "[watcher:web]\ncmd = sleep 60\n"
        f"[plugin:statsd]\nuse = {STATSD}\nhost = 127.0.0.1\nport = 8125\n"
        "sample_rate = 1.0\napplication_name = shop\n"
        f"[plugin:flapping]\nuse = {FLAPPING}\nretry_in = 3\nmax_retry = 2\n",
    )
    doc = tomlkit.parse(report.text).unwrap()
    assert doc["plugins"] == {
        "statsd": {
            "use": STATSD,
            "host": "127.0.0.1",
            "port": 8125,
            "sample_rate": 1.0,
            "application_name": "shop",
        },
        "flapping": {"use": FLAPPING, "retry_in": 3, "max_retry": 2},
    }
    assert about_plugins(report.warnings) == []
    assert any("[plugin:flapping]" in n and "built in" in n for n in report.notes)
    # What the plugins read is the text they read from the .ini.
    plugins = parse_config_text(report.text).plugins
    assert dict(plugins["statsd"].options)["sample_rate"] == "1.0"
    assert dict(plugins["statsd"].options)["port"] == "8125"


def test_convert_warns_when_a_plugin_cannot_run_or_keep_its_meaning(tmp_path: Path) -> None:
    report = convert(
        tmp_path,
        f"[plugin:a]\nuse = {FLAPPING[:-1]}\n"
        "[plugin:b]\nwindow = 2\n"
        f"[plugin:c]\nuse = {FLAPPING}\npython = /usr/bin/python3\n",
    )
    said = "\n".join(report.warnings)
    assert "did you mean 'Flapping'" in said
    assert "[plugin:b]: no use" in said
    assert "[plugin:c]: python left out" in said


def converted_body(tmp_path: Path, ini: str) -> str:
    report = convert(tmp_path, ini)
    assert about_plugins(report.warnings) == []
    return report.text


def test_flapping_from_a_converted_ini_stops_a_watcher_that_dies_at_once(
    daemon_factory: Any, tmp_path: Path
) -> None:
    # max_retry = -1: the daemon itself would retry it forever; only the plugin stops it.
    body = converted_body(
        tmp_path,
        "[watcher:dies]\ncmd = sh -c 'exit 3'\nmax_retry = -1\n"
        f"[plugin:flapping]\nuse = {FLAPPING}\nattempts = 2\nwindow = 5\nretry_in = 3600\n",
    )
    d = daemon_factory(body)
    assert d.call("status", name="plugin:flapping")["status"] == "active"

    def stopped() -> bool:
        return d.call("status", name="dies")["status"] == "stopped"

    wait_for(stopped, timeout=20)
    said = d.call("tail", name="plugin:flapping", lines=50)
    lines = "\n".join(str(line) for line in said.get("lines", said))
    assert "flapping detected" in lines
    # Stopped means stopped: no process comes back while the plugin's retry waits.
    assert d.pids("dies") == []
    assert "backing off" not in str(d.call("status", name="dies", extended=True))


def test_statsd_emitter_reports_the_daemons_events_to_a_udp_listener(
    daemon_factory: Any, tmp_path: Path
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.settimeout(0.5)
        port = listener.getsockname()[1]
        body = converted_body(
            tmp_path,
            "[watcher:web]\ncmd = sleep 120\n"
            f"[plugin:statsd]\nuse = {STATSD}\nhost = 127.0.0.1\nport = {port}\n"
            "application_name = shop\n",
        )
        d = daemon_factory(body)
        # The plugin subscribes a moment after it starts: events from then on are sent.
        received: list[str] = []

        def got_web_event() -> bool:
            d.call("incr", name="web")
            try:
                while True:
                    received.append(listener.recv(1000).decode())
            except TimeoutError:
                pass
            return any(m.startswith("circus.shop.watcher.web.") for m in received)

        wait_for(got_web_event, timeout=20)
        assert any(m.endswith("|c") for m in received)


def test_save_keeps_the_plugins_table_and_writes_no_plugin_watcher(
    daemon_factory: Any,
) -> None:
    d = daemon_factory(
        '[watchers.web]\ncmd = "sleep 120"\n'
        f'# statsd goes here\n[plugins.flap]\nuse = "{FLAPPING}"\nretry_in = 60\n'
    )
    d.wait_pids("plugin:flap", 1)
    d.call("incr", name="web")
    d.call("save")
    text = d.config.read_text()
    assert "# statsd goes here" in text
    doc = tomlkit.parse(text).unwrap()
    assert doc["plugins"] == {"flap": {"use": FLAPPING, "retry_in": 60}}
    assert set(doc["watchers"]) == {"web"}
    assert doc["watchers"]["web"]["numprocesses"] == 2


def test_reload_replaces_a_plugin_whose_options_changed(daemon_factory: Any) -> None:
    d = daemon_factory(f'[plugins.flap]\nuse = "{FLAPPING}"\nretry_in = 60\n')
    [old] = d.wait_pids("plugin:flap", 1)
    d.config.write_text(d.config.read_text().replace("retry_in = 60", "retry_in = 30"))
    d.call("reloadconfig")

    def replaced() -> int | None:
        pids = d.pids("plugin:flap")
        return pids[0] if len(pids) == 1 and pids[0] != old else None

    wait_for(replaced)
    args = d.call("get", name="plugin:flap", keys=["args"])["options"]["args"]
    assert "retry_in:30" in args
