"""add and rm through the real circusctl."""

from __future__ import annotations

from compat_support import Supervise, all_gone, poll


def test_add_then_start(supervise: Supervise) -> None:
    sup = supervise({"sl": {"cmd": "sleep 1000"}})
    sup.wait_pids("sl", 1)

    # circusctl joins the words after the name into `cmd`.
    assert sup.ctl_ok("add", "newone", "sleep", "300") == "ok\n"
    assert sup.ctl_ok("list") == "newone,sl\n"
    assert sup.ctl_ok("status", "newone") == "stopped\n"
    assert sup.pids("newone") == []
    assert sup.call("get", name="newone", keys=["cmd"])["options"] == {"cmd": "sleep 300"}

    assert sup.ctl_ok("start", "newone") == "ok\n"
    sup.wait_pids("newone", 1)
    sup.wait_status("newone", "active")

    # A name already taken.
    result = sup.ctl("add", "newone", "sleep", "5")
    assert result.returncode == 3, result
    assert result.stderr.startswith("error: ") and "newone" in result.stderr, result
    assert sup.call("get", name="newone", keys=["cmd"])["options"] == {"cmd": "sleep 300"}


def test_add_start(supervise: Supervise) -> None:
    sup = supervise({"sl": {"cmd": "sleep 1000"}})

    reply = sup.ctl_json("add", "--start", "new2", "sleep", "301")
    assert reply["status"] == "ok", reply
    sup.wait_pids("new2", 1)
    sup.wait_status("new2", "active")
    assert sup.ctl_ok("numwatchers") == "2\n"


def test_rm(supervise: Supervise) -> None:
    sup = supervise(
        {
            "sl": {"cmd": "sleep 1000"},
            "doomed": {"cmd": "sleep 1002", "numprocesses": 2},
            "doomed2": {"cmd": "sleep 1003"},
        }
    )
    sl = sup.wait_pids("sl", 1)
    doomed = sup.wait_pids("doomed", 2)
    doomed2 = sup.wait_pids("doomed2", 1)

    assert sup.ctl_ok("rm", "doomed") == "ok\n"
    poll(lambda: sup.call("list")["watchers"] == ["doomed2", "sl"])
    poll(lambda: all_gone(doomed))

    reply = sup.ctl_json("rm", "doomed2")
    assert reply["status"] == "ok", reply
    poll(lambda: sup.call("list")["watchers"] == ["sl"])
    poll(lambda: all_gone(doomed2))
    assert sup.ctl_ok("list") == "sl\n"

    result = sup.ctl("rm", "doomed")
    assert result.returncode == 3 and result.stderr.startswith("error: "), result
    assert sup.pids("sl") == sl
