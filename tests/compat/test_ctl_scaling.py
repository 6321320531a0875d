"""incr, decr and set through the real circusctl, and their effect on the processes."""

from __future__ import annotations

from compat_support import Supervise, all_gone, poll


def test_incr_decr(supervise: Supervise) -> None:
    """Without --waiting the reply comes at once, carries no count, and circusctl prints ok."""
    sup = supervise({"sl": {"cmd": "sleep 1000"}})
    first = sup.wait_pids("sl", 1)

    # circusctl prints the reply's numprocesses when there is one, else "ok".
    assert sup.ctl_ok("incr", "sl") == "ok\n"
    two = sup.wait_pids("sl", 2)
    assert set(first) < set(two), "incr must keep the running process"

    reply = sup.ctl_json("incr", "sl", "2")
    assert reply["status"] == "ok"
    assert "numprocesses" not in reply, reply
    sup.wait_pids("sl", 4)
    assert sup.call("numprocesses", name="sl")["numprocesses"] == 4

    assert sup.ctl_ok("decr", "sl") == "ok\n"
    three = sup.wait_pids("sl", 3)
    reply = sup.ctl_json("decr", "sl", "2")
    assert reply["status"] == "ok"
    assert "numprocesses" not in reply, reply
    one = sup.wait_pids("sl", 1)
    poll(lambda: all_gone(sorted(set(three) - set(one))))
    # circusd counts killed processes until it reaps them (check_delay): wait for that.
    poll(lambda: sup.call("numprocesses", name="sl")["numprocesses"] == 1)
    assert sup.ctl_ok("numprocesses", "sl") == "1\n"


def test_incr_decr_waiting(supervise: Supervise) -> None:
    """With --waiting the reply comes when it is done and carries the new count."""
    sup = supervise({"sl": {"cmd": "sleep 1000"}})
    sup.wait_pids("sl", 1)

    assert sup.ctl_ok("incr", "--waiting", "sl", timeout=20) == "2\n"
    assert len(sup.pids("sl")) == 2
    reply = sup.ctl_json("incr", "--waiting", "sl", "2", timeout=20)
    assert reply["status"] == "ok" and reply["numprocesses"] == 4, reply
    four = sup.pids("sl")
    assert len(four) == 4

    assert sup.ctl_ok("decr", "--waiting", "sl", "3", timeout=20) == "1\n"
    one = sup.pids("sl")
    assert len(one) == 1 and set(one) < set(four)
    poll(lambda: all_gone(sorted(set(four) - set(one))))
    reply = sup.ctl_json("decr", "--waiting", "sl", timeout=20)
    assert reply["status"] == "ok" and reply["numprocesses"] == 0, reply
    assert sup.pids("sl") == []
    poll(lambda: all_gone(one))


def test_incr_singleton(supervise: Supervise) -> None:
    sup = supervise({"single": {"cmd": "sleep 1000", "singleton": True}})
    pids = sup.wait_pids("single", 1)

    message = "This watcher is a Singleton - not changing the number of processes\n"
    assert sup.ctl_ok("incr", "single") == message
    assert sup.ctl_ok("decr", "single") == message
    reply = sup.ctl_json("incr", "single")
    assert reply["status"] == "ok" and reply["singleton"] is True, reply
    assert reply["numprocesses"] == 1, reply
    assert sup.pids("single") == pids


def test_set_numprocesses(supervise: Supervise) -> None:
    sup = supervise({"sl": {"cmd": "sleep 1000", "numprocesses": 2}})
    two = sup.wait_pids("sl", 2)

    assert sup.ctl_ok("set", "sl", "numprocesses", "3") == "ok\n"
    three = sup.wait_pids("sl", 3)
    assert set(two) < set(three), "growing must keep the running processes"
    assert sup.ctl_ok("get", "sl", "numprocesses") == "numprocesses: 3\n"

    reply = sup.ctl_json("set", "sl", "numprocesses", "1")
    assert reply["status"] == "ok", reply
    one = sup.wait_pids("sl", 1)
    poll(lambda: all_gone(sorted(set(three) - set(one))))
    assert sup.call("get", name="sl", keys=["numprocesses"])["options"] == {"numprocesses": 1}


def test_set_graceful_timeout(supervise: Supervise) -> None:
    """Options that need no restart change without touching the processes."""
    sup = supervise({"sl": {"cmd": "sleep 1000", "numprocesses": 2}})
    pids = sup.wait_pids("sl", 2)

    assert sup.ctl_ok("set", "sl", "graceful_timeout", "2") == "ok\n"
    assert sup.ctl_ok("get", "sl", "graceful_timeout") == "graceful_timeout: 2.0\n"
    assert sup.ctl_ok("set", "sl", "graceful_timeout", "3.5", "warmup_delay", "0.5") == "ok\n"
    options = sup.call("options", name="sl")["options"]
    assert options["graceful_timeout"] == 3.5 and options["warmup_delay"] == 0.5, options
    assert sup.pids("sl") == pids
    assert sup.status("sl") == "active"


def test_set_invalid_value(supervise: Supervise) -> None:
    """circusctl converts values itself; a bad value is refused by the daemon with errno 3."""
    sup = supervise({"sl": {"cmd": "sleep 1000"}})
    sup.wait_pids("sl", 1)

    reply = sup.call("set", name="sl", options={"numprocesses": "many"})
    assert reply["status"] == "error" and reply["errno"] == 3, reply
    reply = sup.call("set", name="sl", options={"nokey": 1})
    assert reply["status"] == "error" and reply["errno"] == 3, reply
    assert sup.call("get", name="sl", keys=["numprocesses"])["options"] == {"numprocesses": 1}
