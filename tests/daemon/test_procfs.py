"""daemon.procfs: the one process table the sampler and the tree stop share."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from daemon import procfs
from daemon.procfs import ProcEntry
from tests.conftest import wait_for

# A parent with one child and one grandchild; prints the two pids.
FAMILY = """
import subprocess, sys, time
grandchild = "import time; time.sleep(60)"
child = subprocess.Popen([sys.executable, "-c",
    "import subprocess, sys, time\\n"
    f"g = subprocess.Popen([sys.executable, '-c', {grandchild!r}])\\n"
    "print(g.pid, flush=True)\\n"
    "time.sleep(60)"], stdout=subprocess.PIPE, text=True)
print(child.pid, child.stdout.readline().strip(), flush=True)
time.sleep(60)
"""


@pytest.fixture
def family() -> Iterator[tuple[int, int, int]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", FAMILY], start_new_session=True, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    child, grandchild = (int(p) for p in proc.stdout.readline().split())
    try:
        yield proc.pid, child, grandchild
    finally:
        os.killpg(proc.pid, 9)
        proc.wait()
        proc.stdout.close()


def test_table_has_parents_groups_and_start_times(family: tuple[int, int, int]) -> None:
    parent, child, grandchild = family
    table = procfs.scan()
    assert table[child].ppid == parent and table[grandchild].ppid == child
    assert table[grandchild].pgid == parent  # a setsid'd parent leads the group
    assert table[parent].create_time <= table[child].create_time
    assert not table[parent].zombie
    one = procfs.read(child)
    assert one is not None
    assert (one.ppid, one.pgid, one.create_time) == (parent, parent, table[child].create_time)


def test_descendants_walk_the_whole_tree_and_skip_stops(family: tuple[int, int, int]) -> None:
    parent, child, grandchild = family
    table = procfs.scan()
    assert set(procfs.descendants([parent], table)) == {child, grandchild}
    assert procfs.descendants([parent], table, stop={child}) == []
    assert procfs.descendants([child], table) == [grandchild]
    # A root under another root is found once, with its subtree.
    assert sorted(procfs.descendants([parent, child], table)) == sorted([child, grandchild])
    assert procfs.direct_children(parent, table) == [child]


def test_descendants_survive_a_cycle_from_pid_reuse() -> None:
    # A pass is not atomic: a pid reused while it runs can make a parent its child's child.
    table = {
        10: ProcEntry(10, 11, 0.0, 0.0, 0, 0, 0),
        11: ProcEntry(11, 10, 0.0, 0.0, 0, 0, 0),
        12: ProcEntry(12, 11, 0.0, 0.0, 0, 0, 0),
    }
    assert sorted(procfs.descendants([10], table)) == [10, 11, 12]


def test_one_pass_serves_stops_within_max_age() -> None:
    first = procfs.scan()
    assert procfs.scan(max_age=60) is first
    assert procfs.children(first) is procfs.children(first)
    fresh = procfs.scan()
    assert fresh is not first
    assert procfs.scan(max_age=60) is fresh


def test_a_stats_tick_pass_is_not_offered_to_stops() -> None:
    # A stop that reused a tick's pass would miss whatever was spawned since the tick.
    kept = procfs.scan()
    procfs.read_table()
    assert procfs.scan(max_age=60) is kept
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert proc.pid not in procfs.scan(max_age=60)
        assert proc.pid in procfs.scan()
    finally:
        proc.kill()
        proc.wait()


def test_running_is_false_for_a_zombie() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        wait_for(lambda: (procfs.read(proc.pid) or ProcEntry(0, 0, 0, 0, 0, 0, 0)).zombie)
        assert not procfs.running(proc.pid)
    finally:
        proc.wait()
    assert not procfs.running(proc.pid)
    assert procfs.read(proc.pid) is None


def test_identity_names_user_and_command(family: tuple[int, int, int]) -> None:
    parent, _child, _grandchild = family
    entry = procfs.read(parent)
    assert entry is not None
    user, command = procfs.identity(parent, entry.create_time) or ("", "")
    assert command == os.path.basename(sys.executable)
    assert user
    assert procfs.identity(2**22 + 1, 0.0) is None
