"""The rendered text of each fixture portfolio; `pytest --snapshot-update` accepts an intended change."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from conftest import ROOT, VALID, render_named
from generator.output.serialize import serialize


@pytest.mark.parametrize("name", ["default", *VALID])
def test_render_snapshot(name: str, snapshot: SnapshotAssertion) -> None:
    assert serialize(render_named(name)) == snapshot


def test_a_failed_snapshot_prints_the_one_command_that_accepts_it(tmp_path: Path) -> None:
    """Run in a scratch project whose conftest loads this suite's hooks: a snapshot that differs names its command."""
    (tmp_path / "conftest.py").write_text(
        "import importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('suite_conftest', {str(ROOT / 'tests' / 'conftest.py')!r})\n"
        "suite = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(suite)\n"
        "pytest_runtest_makereport = suite.pytest_runtest_makereport\n"
        "pytest_terminal_summary = suite.pytest_terminal_summary\n", encoding="utf-8")
    (tmp_path / "test_tree.py").write_text("def test_tree(snapshot):\n    assert 'new' == snapshot\n", encoding="utf-8")
    (tmp_path / "__snapshots__").mkdir()
    (tmp_path / "__snapshots__" / "test_tree.ambr").write_text("# serializer version: 1\n# name: test_tree\n  'old'\n# ---\n",
                                                               encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", str(tmp_path)],
                            capture_output=True, text=True, cwd=tmp_path, check=False, timeout=120)
    assert result.returncode == 1, result.stdout
    command = f".venv/bin/python -m pytest {tmp_path / 'test_tree.py'} --snapshot-update"
    assert f"If the change is intended (read the diff above), accept it with:\n  {command}" in result.stdout
