"""start, stop, restart, reload, signal and quit through the real circusctl."""

from __future__ import annotations

import signal
import time
from typing import Any

from compat_support import Supervise, Supervisor, all_gone, gone, poll

TWO = {
    "sl": {"cmd": "sleep 1000", "numprocesses": 2},
    "other": {"cmd": "sleep 1001"},
}


def _statuses(sup: Supervisor) -> dict[str, str] | None:
    reply = sup.try_call("status")
    return reply["statuses"] if reply and reply.get("status") == "ok" else None


def test_stop_start_watcher(supervise: Supervise) -> None:
    sup = supervise(TWO)
    old = sup.wait_pids("sl", 2)
    other = sup.wait_pids("other", 1)

    assert sup.ctl_ok("stop", "sl") == "ok\n"
    sup.wait_status("sl", "stopped")
    poll(lambda: all_gone(old))
    assert sup.ctl_ok("list", "sl") == "\n"
    assert sup.ctl_ok("status", "sl") == "stopped\n"
    assert sup.pids("other") == other, "stopping sl touched other"

    assert sup.ctl_ok("start", "sl") == "ok\n"
    new = sup.wait_pids("sl", 2)
    assert not set(new) & set(old)
    sup.wait_status("sl", "active")
    assert sup.pids("other") == other


def test_stop_start_restart_waiting(supervise: Supervise) -> None:
    """--waiting: the effect is complete when circusctl returns; start and restart report pids."""
    sup = supervise(TWO)
    old = sup.wait_pids("sl", 2)

    reply = sup.ctl_json("stop", "--waiting", "sl", timeout=20)
    assert reply["status"] == "ok", reply
    assert sup.status("sl") == "stopped"
    assert sup.pids("sl") == []
    poll(lambda: all_gone(old), timeout=2.0)

    reply = sup.ctl_json("start", "--waiting", "sl", timeout=20)
    assert reply["status"] == "ok", reply
    started = sup.pids("sl")
    assert len(started) == 2
    # For one watcher, circusd's info lists pids (Watcher.start/restart), not watcher names.
    assert sorted(reply["info"]["started"]) == started, reply
    assert reply["info"]["kept"] == [], reply
    assert sup.status("sl") == "active"

    reply = sup.ctl_json("restart", "--waiting", "sl", timeout=20)
    assert reply["status"] == "ok", reply
    now = sup.pids("sl")
    assert len(now) == 2 and not set(now) & set(started)
    assert sorted(reply["info"]["stopped"]) == started, reply
    assert sorted(reply["info"]["started"]) == now, reply
    assert reply["info"]["kept"] == [], reply
    poll(lambda: all_gone(started), timeout=2.0)

    # The human output of a waiting stop/start is plain ok.
    assert sup.ctl_ok("stop", "sl", "--waiting", timeout=20) == "ok\n"
    assert sup.pids("sl") == []


def test_restart_watcher(supervise: Supervise) -> None:
    sup = supervise(TWO)
    old = sup.wait_pids("sl", 2)
    other = sup.wait_pids("other", 1)

    assert sup.ctl_ok("restart", "sl") == "ok\n"
    sup.wait_pids("sl", 2, unlike=old)
    poll(lambda: all_gone(old))
    assert sup.pids("other") == other, "restarting sl touched other"
    sup.wait_status("sl", "active")


def test_stop_start_restart_all(supervise: Supervise) -> None:
    """Without a name, stop/start/restart apply to every watcher."""
    sup = supervise(TWO)
    sl = sup.wait_pids("sl", 2)
    other = sup.wait_pids("other", 1)

    assert sup.ctl_ok("stop") == "ok\n"
    poll(lambda: _statuses(sup) == {"sl": "stopped", "other": "stopped"})
    poll(lambda: all_gone(sl + other))
    assert sup.ctl_ok("status") == "other: stopped\nsl: stopped\n"

    assert sup.ctl_ok("start") == "ok\n"
    poll(lambda: _statuses(sup) == {"sl": "active", "other": "active"})
    sl = sup.wait_pids("sl", 2)
    other = sup.wait_pids("other", 1)

    # circusd restarts its whole arbiter here (and forgets watchers added with `add`).
    assert sup.ctl_ok("restart") == "ok\n"
    sup.wait_pids("sl", 2, unlike=sl)
    sup.wait_pids("other", 1, unlike=other)
    poll(lambda: all_gone(sl + other))
    poll(lambda: _statuses(sup) == {"sl": "active", "other": "active"})


def test_reload(supervise: Supervise) -> None:
    """reload replaces the processes (gracefully: new ones first), for one watcher or all."""
    sup = supervise(TWO)
    sl = sup.wait_pids("sl", 2)
    other = sup.wait_pids("other", 1)

    assert sup.ctl_ok("reload", "sl") == "ok\n"
    sl = sup.wait_pids("sl", 2, unlike=sl)
    assert sup.pids("other") == other

    assert sup.ctl_ok("reload") == "ok\n"
    sup.wait_pids("sl", 2, unlike=sl)
    sup.wait_pids("other", 1, unlike=other)
    poll(lambda: _statuses(sup) == {"sl": "active", "other": "active"})

    reply = sup.ctl_json("reload", "--waiting", "other", timeout=20)
    assert reply["status"] == "ok", reply


def test_signal(supervise: Supervise) -> None:
    sup = supervise(TWO)
    pids = sup.wait_pids("sl", 2)

    # A harmless signal, by name with and without SIG, and by number.
    assert sup.ctl_ok("signal", "sl", "CONT") == "ok\n"
    assert sup.ctl_ok("signal", "sl", "SIGCONT") == "ok\n"
    reply = sup.ctl_json("signal", "sl", str(int(signal.SIGCONT)))
    assert reply["status"] == "ok", reply
    assert sup.pids("sl") == pids
    assert not any(gone(p) for p in pids)

    # To one pid: only that process dies, and respawn replaces it.
    victim, survivor = pids
    assert sup.ctl_ok("signal", "sl", str(victim), "TERM") == "ok\n"
    started = time.monotonic()
    poll(lambda: gone(victim))
    now = sup.wait_pids("sl", 2, unlike=[victim])
    respawn_time = time.monotonic() - started
    assert survivor in now
    if sup.ours:
        # Circus only notices deaths when it polls (check_delay); we reap on SIGCHLD.
        assert respawn_time < 2.0, f"respawn took {respawn_time:.2f} s"

    # To the whole watcher.
    reply = sup.ctl_json("signal", "sl", "KILL")
    assert reply["status"] == "ok", reply
    poll(lambda: all_gone(now))
    sup.wait_pids("sl", 2, unlike=now)

    # A signal that does not exist.
    result = sup.ctl("signal", "sl", "BOGUS")
    assert result.returncode == 3 and result.stderr.startswith("error: "), result
    reply = sup.call("signal", name="sl", signum="BOGUS")
    assert reply["status"] == "error" and reply["errno"] != 0, reply


def test_kill(supervise: Supervise) -> None:
    """kill: stop processes the watcher's way (stop_signal, then SIGKILL); respawn replaces them."""
    sup = supervise(TWO)
    victim, survivor = sup.wait_pids("sl", 2)

    assert sup.ctl_ok("kill", "sl", str(victim)) == "ok\n"
    poll(lambda: gone(victim))
    now = sup.wait_pids("sl", 2, unlike=[victim])
    assert survivor in now

    reply = sup.ctl_json("kill", "--signum", "KILL", "sl")
    assert reply["status"] == "ok", reply
    poll(lambda: all_gone(now))
    sup.wait_pids("sl", 2, unlike=now)


def test_reloadconfig(supervise: Supervise) -> None:
    sup = supervise(
        {
            "sl": {"cmd": "sleep 1000", "numprocesses": 2},
            "dropped": {"cmd": "sleep 1001"},
        }
    )
    sl = sup.wait_pids("sl", 2)
    dropped = sup.wait_pids("dropped", 1)
    assert sup.rewrite is not None
    sup.rewrite(
        {
            "sl": {"cmd": "sleep 1000", "numprocesses": 3},
            "extra": {"cmd": "sleep 1002"},
        }
    )

    assert sup.ctl_ok("reloadconfig") == "ok\n"
    poll(lambda: sup.call("list")["watchers"] == ["extra", "sl"])
    sup.wait_pids("extra", 1)
    # Only the number of processes changed: the running ones stay.
    assert set(sl) < set(sup.wait_pids("sl", 3))
    poll(lambda: all_gone(dropped))


def test_quit(supervise: Supervise) -> None:
    sup = supervise(TWO)
    pids = sup.wait_pids("sl", 2) + sup.wait_pids("other", 1)

    assert sup.ctl_ok("quit") == "ok\n"
    assert sup.proc.wait(timeout=20) == 0
    poll(lambda: all_gone(pids))


def test_kill_with_a_graceful_timeout_as_circusctl_sends_it(supervise: Supervise) -> None:
    # circusctl sends --graceful_timeout as the string it was given.
    sup = supervise(TWO)
    victim, _survivor = sup.wait_pids("sl", 2)
    assert sup.ctl_ok("kill", "sl", str(victim), "--graceful_timeout=2") == "ok\n"
    poll(lambda: gone(victim))
    sup.wait_pids("sl", 2, unlike=[victim])


def test_a_waited_reload_of_one_watcher_says_what_it_replaced(supervise: Supervise) -> None:
    sup = supervise(TWO)
    before = sup.wait_pids("sl", 2)
    reply = sup.call("reload", name="sl", waiting=True, timeout=30)
    assert reply["status"] == "ok", reply
    info = reply["info"]
    assert info["stopped"] == sorted(before) and info["kept"] == []
    assert info["started"] == sorted(sup.wait_pids("sl", 2, unlike=before))
    # Without a name there is nothing to say, as under circusd (which refuses a reload while
    # it still finishes the last one: asked again until it takes it).
    whole = poll(lambda: _ok(sup.call("reload", waiting=True, timeout=30)), timeout=30)
    assert "info" not in whole


def _ok(reply: dict[str, Any]) -> dict[str, Any] | None:
    return reply if reply.get("status") == "ok" else None
