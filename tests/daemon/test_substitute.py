"""daemon.substitute: finding and replacing `$(circus.…)` variables, and what a process of a
watcher is started with (argv, environment, working directory)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from daemon.options import WatcherConfig
from daemon.substitute import (
    daemon_path,
    expand,
    expand_env_value,
    from_circus_env_value,
    lower_socket_names,
    process_argv,
    process_env,
    variables,
    watcher_path,
    working_dir,
)

SOCKETS = {"web": 3, "Admin": 4}


def replace(text: str, env: dict[str, str] | None = None) -> str:
    return expand(text, wid=2, env=env or {}, sockets=SOCKETS)


def test_variables_in_either_spelling_and_any_case() -> None:
    found = list(variables("a $(circus.wid) ((circus.env.HOME)) $(CIRCUS.Sockets.Web) b"))
    assert [(v.text, v.key) for v in found] == [
        ("$(circus.wid)", "wid"),
        ("((circus.env.HOME))", "env.HOME"),
        ("$(CIRCUS.Sockets.Web)", "Sockets.Web"),
    ]
    assert [v.socket for v in found] == [None, None, "Web"]


def test_no_variables() -> None:
    assert list(variables("$(circus) (circus.wid) $(other.wid) $(circus.)")) == []


def test_wid_env_and_sockets_are_replaced() -> None:
    assert replace("--wid $(circus.wid) --fd ((circus.sockets.web))") == "--wid 2 --fd 3"
    assert replace("$(circus.env.NAME)", {"NAME": "x"}) == "x"
    assert replace("[$(circus.env.MISSING)]") == "[]"
    # A socket name is looked up without regard to case, as Circus does.
    assert replace("$(circus.sockets.admin) $(circus.sockets.WEB)") == "4 3"


def test_pid_is_replaced_only_where_one_is_given() -> None:
    # A probe's command line gets the probed process's pid; a process's own argv has none.
    assert expand("-p $(circus.pid)/$(circus.wid)", wid=2, env={}, sockets={}, pid=41) == "-p 41/2"
    assert replace("$(circus.pid)") == "$(circus.pid)"


def test_a_socket_nobody_defined_is_an_error() -> None:
    with pytest.raises(KeyError, match="no socket named 'nope'"):
        replace("$(circus.sockets.nope)")


def test_any_case_is_replaced_as_circus_does() -> None:
    for text in ("$(CIRCUS.wid)", "$(circus.WID)", "((Circus.Wid))"):
        assert replace(text) == "2"
    assert replace("$(CIRCUS.ENV.USER_X)", {"USER_X": "u"}) == "u"
    # An env name as written first, then ignoring case (Circus lower-cases both sides).
    assert replace("$(circus.env.user_x)", {"USER_X": "u"}) == "u"
    assert replace("$(circus.env.Path)", {"PATH": "/p", "Path": "/mine"}) == "/mine"


def test_what_is_left_as_written() -> None:
    # Unknown kinds, and a wid where no process is meant (a log file's name).
    for text in ("$(circus.name)", "$(circus.wid.x)", "$(circus.env)"):
        assert replace(text, {"X": "1"}) == text
    assert expand("$(circus.wid)", wid=None, env={}, sockets={}) == "$(circus.wid)"


def test_a_non_ascii_name_is_replaced_like_any_other() -> None:
    assert expand("$(circus.sockets.wéb)", wid=1, env={}, sockets={"wéb": 5}) == "5"
    assert replace("$(circus.env.ÉTÉ)", {"ÉTÉ": "chaud"}) == "chaud"


def test_lower_socket_names_keeps_the_spelling_style() -> None:
    text = "$(CIRCUS.SOCKETS.Web) ((circus.sockets.API)) $(circus.env.HOME) $(Circus.Wid)"
    assert lower_socket_names(text) == (
        "$(circus.sockets.web) ((circus.sockets.api)) $(circus.env.HOME) $(Circus.Wid)"
    )


def config(**options: object) -> WatcherConfig:
    return WatcherConfig(name="web", cmd="prog", **options)  # type: ignore[arg-type]


def test_argv_reads_the_daemons_environment_under_the_watchers_env(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CT_SUBST_A", "daemon")
    monkeypatch.setenv("CT_SUBST_B", "daemon")
    cfg = config(
        args=["$(circus.env.CT_SUBST_A)", "$(circus.env.CT_SUBST_B)", "$(circus.wid)"],
        env={"CT_SUBST_B": "watcher"},
    )
    assert process_argv(cfg, 7, {}) == ["prog", "daemon", "watcher", "7"]


def test_env_values_read_the_environment_built_so_far(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CT_SUBST_HOME", "/home/x")
    cfg = config(
        env={
            "FIRST": "one",
            "SECOND": "$(circus.env.FIRST)-two",
            "HOME_SEEN": "[$(circus.env.CT_SUBST_HOME)]",
            "FD": "$(circus.sockets.web)",
        }
    )
    env = process_env(cfg, 3, {"web": 9})
    assert env["SECOND"] == "one-two"
    # The daemon's variables are read, though without copy_env they are not passed on.
    assert env["HOME_SEEN"] == "[/home/x]"
    assert env["FD"] == "9"
    assert env["PATH"] == os.environ.get("PATH", os.defpath)
    assert (env["CIRCUS_TUI_WATCHER"], env["CIRCUS_TUI_WID"]) == ("web", "3")
    assert "CT_SUBST_HOME" not in env
    copied = process_env(config(copy_env=True, env={"SEEN": "$(circus.env.CT_SUBST_HOME)"}), 1, {})
    assert copied["SEEN"] == "/home/x" and copied["CT_SUBST_HOME"] == "/home/x"


def test_working_dir(tmp_path: Path) -> None:
    assert working_dir(config(), tmp_path) is None
    assert working_dir(config(working_dir="/srv/app"), tmp_path) == "/srv/app"
    assert working_dir(config(working_dir="rel"), tmp_path) == str(tmp_path / "rel")
    assert working_dir(config(working_dir="rel"), None) == "rel"
    assert working_dir(config(working_dir="~/x"), tmp_path) == os.path.expanduser("~/x")


def test_env_values_expand_dollar_names_as_a_shell_does(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CT_SUBST_DIR", "/srv")
    monkeypatch.delenv("CT_SUBST_UNSET", raising=False)
    cfg = config(
        env={
            "PATH": "$PATH:/opt/extra",
            "DATA": "${CT_SUBST_DIR}/data",
            "LOGS": "$DATA/logs",  # an earlier entry, as written before
            "PRICE": "$$5 and $$CT_SUBST_DIR",
            "NONE": "[$CT_SUBST_UNSET]",
            "ODD": "a$ b$1 $-",  # not a name: left as written
            "MIXED": "$(circus.wid):$CT_SUBST_DIR:$$(circus.wid)",
        }
    )
    env = process_env(cfg, 4, {})
    assert env["PATH"] == os.environ.get("PATH", os.defpath) + ":/opt/extra"
    assert env["DATA"] == "/srv/data"
    assert env["LOGS"] == "/srv/data/logs"
    assert env["PRICE"] == "$5 and $CT_SUBST_DIR"
    assert env["NONE"] == "[]"
    assert env["ODD"] == "a$ b$1 $-"
    assert env["MIXED"] == "4:/srv:$(circus.wid)"
    # The command line reads the values expanded.
    argv_cfg = config(args=["$(circus.env.LOGS)"], env=cfg.env)
    assert process_argv(argv_cfg, 1, {})[1] == "/srv/data/logs"


def test_expand_env_value_alone() -> None:
    env = {"A": "1", "a": "low"}
    assert expand_env_value("$A${a}$(circus.env.A)", wid=1, env=env, sockets={}) == "1low1"


def test_paths_take_circus_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CT_SUBST_RUN", "/run/x")
    cfg = config(env={"LOGDIR": "/var/log/app"}, working_dir="$(circus.env.LOGDIR)/w$(circus.wid)")
    assert working_dir(cfg, tmp_path, wid=3) == "/var/log/app/w3"
    assert watcher_path(cfg, "$(circus.env.LOGDIR)/web.log", tmp_path) == Path(
        "/var/log/app/web.log"
    )
    assert watcher_path(cfg, "$(CIRCUS.ENV.ct_subst_run)/a.log", tmp_path) == Path("/run/x/a.log")
    assert (
        watcher_path(cfg, "logs/$(circus.wid).log", tmp_path) == tmp_path / "logs/$(circus.wid).log"
    )
    assert daemon_path("$(circus.env.CT_SUBST_RUN)/web.sock", tmp_path) == Path("/run/x/web.sock")
    assert daemon_path("rel.sock", tmp_path) == tmp_path / "rel.sock"


def test_a_circus_env_value_keeps_its_meaning() -> None:
    assert from_circus_env_value("$PATH:/opt/extra") == "${PATH}:/opt/extra"
    # circusd's name ends where upper case does, and lower case is not expanded at all.
    assert from_circus_env_value("$HOMEx") == "${HOME}x"
    assert from_circus_env_value("pa$word and $") == "pa$$word and $$"
    assert from_circus_env_value("${HOME}") == "$${HOME}"
    assert from_circus_env_value("$(circus.wid) $(CIRCUS.ENV.X)") == "$(circus.wid) $(CIRCUS.ENV.X)"
    # What the conversion writes expands, here, as circusd expanded the original.
    env = {"PATH": "/bin", "HOME": "/h"}
    for circus_value, circusd_gave in [
        ("$PATH:/opt/extra", "/bin:/opt/extra"),
        ("$HOMEx", "/hx"),
        ("pa$word", "pa$word"),
        ("${HOME}", "${HOME}"),
    ]:
        ours = expand_env_value(from_circus_env_value(circus_value), wid=1, env=env, sockets={})
        assert ours == circusd_gave
