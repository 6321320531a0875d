"""Circus's Python options for a process's environment: `copy_path` (PYTHONPATH from the
daemon's own module path) and `virtualenv` (its bin first in PATH, its site-packages and what
its .pth files name in PYTHONPATH), with the same results as circusd's."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def daemon_path() -> str:
    """copy_path's PYTHONPATH: the daemon's module path."""
    return os.pathsep.join(p for p in sys.path if p)


def site_packages(root: str, py_ver: str | None) -> Path:
    """The virtualenv's site-packages (CPython's or PyPy's layout); ValueError when neither
    exists."""
    version = py_ver or "{}.{}".format(*sys.version_info[:2])
    tried = [Path(root, "lib", f"{kind}{version}", "site-packages") for kind in ("python", "pypy")]
    for candidate in tried:
        if candidate.is_dir():
            return candidate
    raise ValueError(f"virtualenv {root}: no {' nor '.join(str(t) for t in tried)}")


def _pth_dirs(sitedir: Path) -> list[str]:
    found: list[str] = []
    for pth in sorted(sitedir.glob("*.pth")):
        try:
            lines = pth.read_text(errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            if not line or line.startswith(("#", "import")):
                continue
            path = os.path.abspath(os.path.join(sitedir, line.rstrip()))
            if os.path.exists(path) and path not in found:
                found.append(path)
    return found


def apply_virtualenv(env: dict[str, str], root: str, py_ver: str | None) -> None:
    root = os.path.expanduser(root)
    sitedir = site_packages(root, py_ver)
    bindir = os.path.join(root, "bin")
    if os.path.isdir(bindir):
        env["PATH"] = ":".join([bindir, env.get("PATH", "")])
    parts = _pth_dirs(sitedir)
    current = env.get("PYTHONPATH")
    if current:
        parts.append(current)
    if str(sitedir) not in os.pathsep.join(parts).split(os.pathsep):
        parts.append(str(sitedir))
    env["PYTHONPATH"] = os.pathsep.join(parts)
