"""The guard of YOUR portfolio: the only tests that read the repository's portfolio.yaml and gitops/.

Everything else in tests/ checks the generator on fixtures. After any valid edit of portfolio.yaml,
`python -m generator build` (and `python -m generator scenarios --accept` when the stories change) and
`python -m pytest --snapshot-update` make the suite green again; the snapshot below is what a reviewer
reads in the pull request.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from conftest import ROOT, kustomize
from generator.admission.scenarios import run_all
from generator.checks.validate import validate_tree
from generator.output.serialize import serialize
from generator.output.tree import diff_tree
from generator.pipeline import Prepared, prepare

PORTFOLIO = ROOT / "portfolio.yaml"


@pytest.fixture(scope="module")
def mine() -> Prepared:
    return prepare(PORTFOLIO, display_name="portfolio.yaml")


def test_the_committed_tree_is_what_the_portfolio_renders(mine: Prepared) -> None:
    assert diff_tree(mine.tree, ROOT) == "", "run `python -m generator build` and commit gitops/"


def test_the_rendered_tree_validates(mine: Prepared) -> None:
    report = validate_tree(mine.tree, portfolio=mine.portfolio, source=mine.source)
    assert [d.text() for d in report.diagnostics if d.severity == "error"] == []


def test_the_scenarios_hold(mine: Prepared) -> None:
    failed = [r.scenario.name for r in run_all(mine.portfolio, mine.tree) if not r.passed]
    assert failed == [], "run `python -m generator scenarios`, then fix the portfolio or `scenarios --accept`"


def test_every_root_of_the_committed_tree_builds(kubectl: str, mine: Prepared) -> None:
    roots = sorted(ROOT / Path(p).parent for p in mine.tree if p.endswith("/kustomization.yaml"))
    assert roots
    for folder in roots:
        result = kustomize(kubectl, folder)
        assert result.returncode == 0, f"{folder}: {result.stderr}"


def test_the_rendered_tree_snapshot(mine: Prepared, snapshot: SnapshotAssertion) -> None:
    """The review artefact: `pytest --snapshot-update` accepts an intended change."""
    assert serialize(mine.tree) == snapshot
