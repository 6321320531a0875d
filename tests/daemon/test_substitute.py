"""daemon.substitute: finding and replacing `$(circus.…)` variables, and what a process of a
watcher is started with (argv, environment, working directory)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from daemon.options import WatcherConfig
from daemon.substitute import (
    expand,
    lower_socket_names,
    process_argv,
    process_env,
    variables,
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
    assert [v.replaced for v in found] == [True, True, False]


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


def test_what_is_left_as_written() -> None:
    # Upper-case "circus." and kinds, and unknown kinds, are not replaced (yet).
    for text in ("$(CIRCUS.wid)", "$(circus.WID)", "$(circus.Env.X)", "$(circus.name)"):
        assert replace(text, {"X": "1"}) == text


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
    # Without copy_env the daemon's variables are not there to read, only PATH.
    assert env["HOME_SEEN"] == "[]"
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
