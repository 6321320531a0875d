"""docs/architecture.md names every module of daemon/ and tui/ with its job, and no module that
is gone."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def modules() -> set[str]:
    found = set()
    for package in ("daemon", "tui"):
        for path in (ROOT / package).rglob("*.py"):
            if path.name != "__init__.py" or path.parent.name not in ("daemon", "tui"):
                found.add(str(path.relative_to(ROOT)))
    return {m for m in found if "__pycache__" not in m}


def documented() -> set[str]:
    text = (ROOT / "docs" / "architecture.md").read_text()
    table = text.split("\n## Modules\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `((?:daemon|tui)/[\w/]+\.py)` \| \S", table, re.M))


def test_every_module_is_in_the_architecture_page() -> None:
    assert not modules() - documented(), sorted(modules() - documented())


def test_the_architecture_page_names_no_module_that_is_gone() -> None:
    assert not documented() - modules(), sorted(documented() - modules())
