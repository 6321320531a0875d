"""The security suite: another local user, made for the run (`useradd`) and removed after.

Her files are made by this (root) process and given to her with chown: what the daemon and its
clients must judge is who owns a path, not who wrote it, and her uid is a real one.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.dirs import short_dir


@dataclass(frozen=True)
class OtherUser:
    name: str
    uid: int
    gid: int

    def owns(self, *paths: Path) -> None:
        for path in paths:
            os.chown(path, self.uid, self.gid, follow_symlinks=False)


@pytest.fixture(scope="session")
def alice() -> Iterator[OtherUser]:
    if os.getuid() != 0 or shutil.which("useradd") is None:
        pytest.skip("the security suite runs as root, with useradd")
    # One per test process: xdist workers must not add or remove each other's user.
    name = f"ctsec{os.getpid()}"
    subprocess.run(
        ["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        check=True,
        capture_output=True,
    )
    entry = pwd.getpwnam(name)
    try:
        yield OtherUser(name, entry.pw_uid, entry.pw_gid)
    finally:
        subprocess.run(["userdel", name], check=False, capture_output=True)


@pytest.fixture
def top() -> Iterator[Path]:
    """A directory of ours (root's, 0755): what is below it is what each test makes."""
    with short_dir("cts", mode=0o755) as path:
        yield path
