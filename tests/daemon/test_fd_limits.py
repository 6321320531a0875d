"""File descriptors: client connections are bounded (refused beyond a limit, never the end of
the daemon), and a spawn that finds none left is retried, not failed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import RunningDaemon, wait_for

FLOOD = Path(__file__).with_name("client_flood.py")


def ulimit(spec: str) -> list[str]:
    """A launcher that starts the daemon under `ulimit SPEC` (`-n 1024`: soft and hard)."""
    return ["bash", "-c", f'ulimit {spec}; exec "$@"', "bash"]


def daemon_log(d: RunningDaemon) -> str:
    return (d.dir / "daemon.log").read_text(errors="replace")


def test_the_soft_descriptor_limit_is_raised_to_the_hard_one(daemon_factory: Any) -> None:
    d = daemon_factory('[watchers.w]\ncmd = "sleep 1000"\n', launcher=ulimit("-Sn 256"))
    limits = Path(f"/proc/{d.pid}/limits").read_text().splitlines()
    soft, hard = next(ln for ln in limits if ln.startswith("Max open files")).split()[3:5]
    assert soft == hard, limits
    if int(hard) > 256:
        assert "raised the soft limit on open files from 256" in daemon_log(d)


def test_a_spawn_short_of_file_descriptors_is_retried_not_failed(daemon_factory: Any) -> None:
    d = daemon_factory(
        '[watchers.many]\ncmd = "sleep 1000"\nnumprocesses = 60\n'
        "backoff_min = 0.1\nbackoff_max = 0.5\n",
        launcher=ulimit("-n 128"),
    )

    def short() -> dict[str, Any] | None:
        details: dict[str, Any] = d.call("status", name="many")["details"]
        return details if "Too many open files" in (details["reason"] or "") else None

    details = wait_for(short)
    assert details["state"] == "active", details
    assert 0 < details["running"] < 60
    assert "retrying in" in daemon_log(d)
    d.call("set", name="many", options={"numprocesses": 5})

    def settled() -> bool:
        details = d.call("status", name="many")["details"]
        return details["state"] == "active" and details["running"] == 5 and not details["reason"]

    wait_for(settled, timeout=20.0)
