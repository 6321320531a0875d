"""Where the console's stylesheets are: inside the installed package, wherever it was installed."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def stylesheet(name: str) -> Path:
    """The path of one of the `.tcss` files shipped as `tui.styles`."""
    # Wheels install as plain files, so the resource is a real path Textual can read and watch.
    return Path(str(files("tui.styles") / name))
