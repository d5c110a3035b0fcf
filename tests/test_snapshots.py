"""The rendered text of each fixture portfolio; `pytest --snapshot-update` accepts an intended change."""

from __future__ import annotations

import pytest
from syrupy.assertion import SnapshotAssertion

from conftest import VALID, render_named
from generator.output.serialize import serialize


@pytest.mark.parametrize("name", ["default", *VALID])
def test_render_snapshot(name: str, snapshot: SnapshotAssertion) -> None:
    assert serialize(render_named(name)) == snapshot
