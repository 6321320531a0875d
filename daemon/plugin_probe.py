"""Whether a plugin can run where it is declared: Circus's plugin runner importable by its
Python, and its class found. For the daemon's own interpreter nothing is imported (a module is
looked up, its source read); another interpreter is asked in a short-lived process."""

from __future__ import annotations

import ast
import importlib.machinery
import importlib.util
import os
import subprocess
from importlib.machinery import ModuleSpec
from pathlib import Path

from daemon.checks import did_you_mean
from daemon.plugin_spec import PluginConfig
from daemon.trusted import distrust

RUNNER = "circus.plugins"
PROBE_TIMEOUT = 10.0

# Run by the other interpreter: the runner's import, then the class as the runner resolves it.
_PROBE = """\
import sys
try:
    import circus.plugins
except ImportError as exc:
    print(exc)
    sys.exit(3)
from circus.util import resolve_name
try:
    resolve_name(sys.argv[1])
except Exception as exc:
    print(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    sys.exit(4)
"""
_NO_RUNNER, _NO_CLASS = 3, 4


class PluginProblem(ValueError):
    """What stops a plugin from running; `key` is the key to fix (`python` or `use`)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


def check_plugin(plugin: PluginConfig, base_dir: Path) -> None:
    """Raises PluginProblem. `base_dir` is where the plugin runs (the configuration file's
    directory), where a plugin module of the user's is found first."""
    why = distrust(base_dir)
    if why is not None:
        # Its runner imports from there first, as the daemon's user.
        raise PluginProblem(
            "use", f"runs in {base_dir}, where another user could put a module it imports: {why}"
        )
    if plugin.own_interpreter:
        _check_here(plugin, base_dir)
    else:
        _check_there(plugin, base_dir)


def _missing_runner(plugin: PluginConfig) -> PluginProblem:
    python = plugin.interpreter
    return PluginProblem(
        "python" if plugin.python else "use",
        f"needs Circus's plugin runner, which {python} cannot import: "
        f"`pip install circus==0.19` into {python}'s environment, or set python = "
        "an interpreter that has it",
    )


def _check_here(plugin: PluginConfig, base_dir: Path) -> None:
    if _find_module(RUNNER, base_dir) is None:
        raise _missing_runner(plugin)
    module, _, name = _split(plugin.use)
    spec = _find_module(module, base_dir)
    if spec is None:
        raise PluginProblem("use", f"no module {module} (from {plugin.use!r})")
    if _find_module(f"{module}.{name}", base_dir) is not None:
        return  # a submodule: Circus's resolver imports it in the end
    names = _top_level_names(spec)
    if names is not None and name not in names:
        classes = [n for n in names if n[:1].isupper()]
        raise PluginProblem("use", f"module {module} has no {name}" + did_you_mean(name, classes))


def _split(use: str) -> tuple[str, str, str]:
    return use.partition(":") if ":" in use else use.rpartition(".")


def _find_module(dotted: str, base_dir: Path) -> ModuleSpec | None:
    """The module's spec without running it or its packages, from the plugin's module path:
    its working directory first (`-c` puts it there), then the daemon's."""
    top, *rest = dotted.split(".")
    try:
        spec = importlib.machinery.PathFinder.find_spec(top, [str(base_dir)])
        if spec is None:
            spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    name = top
    for part in rest:
        if spec is None or spec.submodule_search_locations is None:
            return None
        name = f"{name}.{part}"
        spec = importlib.machinery.PathFinder.find_spec(name, list(spec.submodule_search_locations))
    return spec


def _top_level_names(spec: ModuleSpec) -> set[str] | None:
    """The names a module's source binds at its top level; None when that cannot be told
    without running it (no source, a star import, a module __getattr__)."""
    origin = spec.origin
    if origin is None or not origin.endswith(".py"):
        return None
    try:
        tree = ast.parse(Path(origin).read_bytes(), origin)
    except (OSError, SyntaxError, ValueError):
        return None
    names: set[str] = set()
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":
                    return None
                names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        if not isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            # Names bound under `if`, `try` and `with` at the top level are the module's too.
            for attr in ("body", "orelse", "finalbody", "handlers"):
                pending.extend(getattr(node, attr, []))
    return None if "__getattr__" in names else names


def _check_there(plugin: PluginConfig, base_dir: Path) -> None:
    python = plugin.interpreter
    try:
        done = subprocess.run(
            [python, "-c", _PROBE, plugin.use],
            cwd=base_dir,
            env=dict(os.environ),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=PROBE_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        raise PluginProblem(
            "python", f"{python} did not answer within {PROBE_TIMEOUT:g} s (import circus.plugins)"
        ) from None
    except OSError as exc:
        raise PluginProblem("python", f"cannot run {python}: {exc.strerror or exc}") from None
    said = (done.stdout.strip().splitlines() or [""])[-1][:300]
    if done.returncode == _NO_RUNNER:
        raise _missing_runner(plugin)
    if done.returncode == _NO_CLASS:
        raise PluginProblem("use", f"{python} cannot load {plugin.use}: {said}")
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or [""])[-1][:300]
        raise PluginProblem(
            "python",
            f"{python} is not a Python that can run plugins (exit {done.returncode}"
            + (f": {detail})" if detail else ")"),
        )
