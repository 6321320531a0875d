"""The trusted path walk: what it follows, what it refuses, what it makes."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon import trusted
from daemon.trusted import FILES, PRIVATE, UNSHARED, UnsafeDirectoryError, open_dir, open_file

STRANGER = 54321  # a uid nobody on the test machine has


@pytest.fixture
def top() -> Iterator[Path]:
    path = Path(f"/tmp/ctt-{os.getpid()}-{os.urandom(3).hex()}")
    path.mkdir(mode=0o755)
    yield path
    for sub in sorted(path.rglob("*"), key=lambda p: -len(p.parts)):
        if sub.is_dir() and not sub.is_symlink():
            sub.rmdir()
        else:
            sub.unlink()
    path.rmdir()


def real(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    finally:
        os.close(fd)


def test_links_of_ours_are_followed_relative_absolute_and_through_dotdot(top: Path) -> None:
    (top / "a" / "b").mkdir(parents=True)
    (top / "rel").symlink_to("a/b")
    (top / "abs").symlink_to(top / "a")
    (top / "up").symlink_to("a/b/..")
    assert real(open_dir(top / "rel", UNSHARED)) == str(top / "a" / "b")
    assert real(open_dir(top / "abs" / "b", UNSHARED)) == str(top / "a" / "b")
    assert real(open_dir(top / "up", UNSHARED)) == str(top / "a")
    assert real(open_dir(top / "a" / "b" / ".." / ".", UNSHARED)) == str(top / "a")


def test_a_loop_of_links_is_an_error_not_a_hang(top: Path) -> None:
    (top / "x").symlink_to("y")
    (top / "y").symlink_to("x")
    with pytest.raises(UnsafeDirectoryError, match="too many symbolic links"):
        open_dir(top / "x", UNSHARED)


def test_missing_directories_are_made_and_a_private_one_is_0700(top: Path) -> None:
    old = os.umask(0)  # an odd umask: mkdir's mode alone would leave it open
    try:
        fd = open_dir(top / "new" / "state", PRIVATE, create=0o700)
    finally:
        os.umask(old)
    os.close(fd)
    assert stat.S_IMODE(os.stat(top / "new" / "state").st_mode) == 0o700
    with pytest.raises(FileNotFoundError):
        open_dir(top / "absent", UNSHARED)


def test_a_file_where_a_directory_should_be_is_refused(top: Path) -> None:
    (top / "plain").write_text("")
    with pytest.raises(UnsafeDirectoryError, match="is not a directory"):
        open_dir(top / "plain" / "logs", FILES, create=0o777)


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to give files away")
def test_links_and_directories_of_someone_else(top: Path) -> None:
    tmp = top / "tmp"
    tmp.mkdir()
    tmp.chmod(0o1777)
    (top / "target").mkdir()
    link = tmp / "link"
    link.symlink_to(top / "target")
    os.chown(link, STRANGER, STRANGER, follow_symlinks=False)
    with pytest.raises(UnsafeDirectoryError, match=f"symbolic link of uid {STRANGER}"):
        open_dir(link, FILES)
    # Root's sticky directory: fine on the way and for files, not for a socket.
    (tmp / "ours").mkdir()
    os.close(open_dir(tmp / "ours", UNSHARED))
    os.close(open_dir(tmp, FILES))
    with pytest.raises(UnsafeDirectoryError, match="writable by other users"):
        open_dir(tmp, UNSHARED)
    os.chown(tmp, STRANGER, STRANGER)
    with pytest.raises(UnsafeDirectoryError, match=f"owned by uid {STRANGER}"):
        open_dir(tmp / "ours", UNSHARED)


def test_open_file_refuses_links_hard_links_and_others_files(top: Path) -> None:
    fd = open_dir(top, FILES)
    try:
        (top / "target").write_text("precious")
        (top / "soft").symlink_to(top / "target")
        with pytest.raises(OSError):
            open_file(fd, "soft", os.O_WRONLY | os.O_APPEND)
        os.link(top / "target", top / "hard")
        with pytest.raises(UnsafeDirectoryError, match="other hard links"):
            open_file(fd, "hard", os.O_WRONLY | os.O_APPEND)
        assert (top / "target").read_text() == "precious"
        trusted.write_atomic(fd, "record", b"new")
        assert trusted.read_file(fd, "record") == b"new"
        assert [p.name for p in top.iterdir() if p.name.startswith(".")] == []
    finally:
        os.close(fd)


def test_nothing_is_made_through_a_dangling_link(top: Path) -> None:
    (top / "state").symlink_to(top / "gone")
    with pytest.raises(UnsafeDirectoryError, match="which does not exist"):
        open_dir(top / "state", PRIVATE, create=0o700)
    assert not (top / "gone").exists()
