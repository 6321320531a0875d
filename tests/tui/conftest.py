"""Console test fixtures: snapshot SVGs live in the repository's top-level `snapshots/` folder.

pytest-textual-snapshot's `snap_compare` switches syrupy to its own `SVGImageExtension`, which
stores files next to the test (`__snapshots__/<module>/`), and syrupy 4.8 has no option for the
folder. So the `snapshot` fixture is replaced by one whose `use_extension` hands out a subclass
of that extension with another `dirname`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pytest_textual_snapshot import SVGImageExtension
from syrupy.assertion import SnapshotAssertion

SNAPSHOTS = Path(__file__).resolve().parents[2] / "snapshots"


class TopLevelSVGExtension(SVGImageExtension):
    """pytest-textual-snapshot's SVG files, one per snapshot, in `<repo>/snapshots/<module>/`.

    The folder named after the test module is how syrupy relates a file to its tests: with it,
    `--snapshot-update` also deletes the SVGs of tests that no longer exist.
    """

    @classmethod
    def dirname(cls, *, test_location: Any) -> str:
        return str(SNAPSHOTS / test_location.basename)


class TopLevelSnapshotAssertion(SnapshotAssertion):
    def use_extension(self, extension_class: Any = None) -> SnapshotAssertion:
        if extension_class is SVGImageExtension:
            extension_class = TopLevelSVGExtension
        return super().use_extension(extension_class)


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """syrupy's fixture, with SVG snapshots kept in the top-level `snapshots/` folder."""
    return TopLevelSnapshotAssertion(
        session=snapshot.session,
        extension_class=TopLevelSVGExtension,
        test_location=snapshot.test_location,
        update_snapshots=snapshot.update_snapshots,
    )
