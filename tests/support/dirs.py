"""Short scratch directories under /tmp: unix socket paths are limited to about 107 bytes, and
pytest's tmp_path can be longer than that."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def short_dir(prefix: str, mode: int = 0o700) -> Iterator[Path]:
    path = Path(f"/tmp/{prefix}-{os.getpid()}-{os.urandom(3).hex()}")
    path.mkdir(mode=mode)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
